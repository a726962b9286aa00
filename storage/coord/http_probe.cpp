#include "storage/coord/http_probe.hpp"

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace ezone::coord {

using nlohmann::json;

std::string encode_site_report_json(const SiteReport& r) {
  json applied = json::object(), applied_lineage = json::object();
  for (const auto& [origin, seq] : r.applied) applied[origin] = seq;
  for (const auto& [origin, lineage] : r.applied_lineage) applied_lineage[origin] = lineage;
  return json{{"ezone", r.ezone},     {"acknowledged_epoch", r.acknowledged_epoch},
              {"outbox_head", r.outbox_head}, {"lineage", r.lineage},
              {"applied", applied},  {"applied_lineage", applied_lineage}}
      .dump();
}

Result<SiteReport> decode_site_report_json(const std::string& text) {
  json doc = parse_json_or_discarded(text);
  auto bad = [](const std::string& what) { return Status(Errc::parse_error, "site report: " + what); };
  if (!doc.is_object()) return bad("not a JSON object");
  SiteReport r;
  if (!doc.contains("ezone") || !doc["ezone"].is_string()) return bad("ezone: missing or not a string");
  if (!doc.contains("acknowledged_epoch") || !doc["acknowledged_epoch"].is_number_integer())
    return bad("acknowledged_epoch: missing or not an integer");
  if (!doc.contains("outbox_head") || !doc["outbox_head"].is_number_unsigned())
    return bad("outbox_head: missing or not a sequence number");
  if (!doc.contains("applied") || !doc["applied"].is_object()) return bad("applied: missing or not an object");
  r.ezone = doc["ezone"].get<std::string>();
  r.acknowledged_epoch = doc["acknowledged_epoch"].get<Epoch>();
  r.outbox_head = doc["outbox_head"].get<uint64_t>();
  for (auto it = doc["applied"].begin(); it != doc["applied"].end(); ++it) {
    if (!it.value().is_number_unsigned()) return bad("applied." + it.key() + ": not a sequence number");
    r.applied[it.key()] = it.value().get<uint64_t>();
  }
  // The lineages are optional: a node from before them reports none.
  if (doc.contains("lineage")) {
    if (!doc["lineage"].is_number_unsigned()) return bad("lineage: not a lineage id");
    r.lineage = doc["lineage"].get<uint64_t>();
  }
  if (doc.contains("applied_lineage")) {
    if (!doc["applied_lineage"].is_object()) return bad("applied_lineage: not an object");
    for (auto it = doc["applied_lineage"].begin(); it != doc["applied_lineage"].end(); ++it) {
      if (!it.value().is_number_unsigned()) return bad("applied_lineage." + it.key() + ": not a lineage id");
      r.applied_lineage[it.key()] = it.value().get<uint64_t>();
    }
  }
  return r;
}

HttpSiteProbe::HttpSiteProbe(WorkflowJournal& journal, int64_t timeout_ms, LiveToken admin_token,
                             net::TlsContextPtr tls)
    : journal_(journal), timeout_ms_(timeout_ms), admin_token_(std::move(admin_token)), tls_(std::move(tls)) {}

HttpSiteProbe::~HttpSiteProbe() = default;

Result<HostPort> HttpSiteProbe::admin_of(const std::string& ezone) {
  auto nodes = journal_.live_nodes();
  if (!nodes) return nodes.status();
  for (const LiveNode& n : *nodes) {
    if (n.ezone != ezone) continue;
    auto hp = parse_host_port(n.admin);
    if (!hp) return Status(Errc::unavailable, ezone + "'s registration has no usable admin address '" + n.admin + "'");
    return *hp;
  }
  return Status(Errc::unavailable, ezone + " has no live node");
}

Result<SiteReport> HttpSiteProbe::report(const std::string& ezone) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& conn = connections_[ezone];
  if (!conn) {
    auto admin = admin_of(ezone);
    if (!admin) return admin.status();
    conn = std::make_unique<net::HttpConnection>(*admin, tls_);
  }
  net::HttpRequest req;
  req.target = "/admin/v1/coord/site";
  net::add_bearer_token(req, admin_token_.sent());
  auto got = conn->request(req, timeout_ms_);
  if (!got) {
    conn.reset();  // the node may have restarted elsewhere: look it up again next time
    return Status(got.status().code(), ezone + ": " + got.status().message());
  }
  if (got->status == 404) return Status(Errc::not_found, ezone + " has no DAL: it cannot write");
  if (got->status == 401)
    return Status(Errc::unavailable, ezone + " refused this node's admin token (401): give every node the same "
                                             "[admin] token");
  if (got->status != 200)
    return Status(Errc::unavailable,
                  ezone + " answered " + std::to_string(got->status) + ": " + got->body.substr(0, 200));
  auto r = decode_site_report_json(got->body);
  if (r && r->ezone != ezone) {
    conn.reset();
    return Status(Errc::unavailable, "the admin address registered for " + ezone + " is served by " + r->ezone);
  }
  if (r) lineages_[ezone] = r->lineage;
  return r;
}

Result<uint64_t> HttpSiteProbe::lineage_of(const std::string& ezone) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = lineages_.find(ezone);
    if (it != lineages_.end()) return it->second;
  }
  auto r = report(ezone);
  if (!r) return r.status();
  return r->lineage;
}

Result<Epoch> HttpSiteProbe::acknowledged_epoch(const std::string& ezone) {
  auto r = report(ezone);
  if (!r) return r.status();
  return r->acknowledged_epoch;
}

Result<uint64_t> HttpSiteProbe::outbox_head(const std::string& ezone) {
  auto r = report(ezone);
  if (!r) return r.status();
  return r->outbox_head;
}

Result<uint64_t> HttpSiteProbe::applied(const std::string& ezone, const std::string& origin) {
  auto r = report(ezone);
  if (!r) return r.status();
  auto it = r->applied.find(origin);
  if (it == r->applied.end()) return 0;
  auto cursor_lineage = r->applied_lineage.find(origin);
  if (cursor_lineage == r->applied_lineage.end() || cursor_lineage->second == 0) return it->second;  // unknown
  auto current = lineage_of(origin);
  if (!current) return current.status();
  // A cursor of an outbox that a re-seed replaced has applied nothing of the current one.
  return *current != 0 && *current != cursor_lineage->second ? 0 : it->second;
}

}  // namespace ezone::coord
