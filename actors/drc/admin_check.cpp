// The consistency-check endpoints of node.admin (admin_drc.hpp): start a
// check of what this ezone owns, and read this site's results of one.
#include <nlohmann/json.hpp>

#include "actors/drc/admin_drc.hpp"
#include "core/json.hpp"

namespace ezone {
namespace {

using nlohmann::json;

constexpr const char* kStartUsage =
    "give a JSON object with any of \"id\" (1-64 of A-Z a-z 0-9 . _ -), \"tables\" (names), \"shards\" (ids), "
    "\"chunk_rows\" and \"pause_ms\"";

Result<dal::CheckSpec> parse_spec(const std::string& text) {
  auto bad = [](const std::string& why) { return Status(Errc::invalid_argument, why + "; " + kStartUsage); };
  json body = text.empty() ? json::object() : parse_json_or_discarded(text);
  if (!body.is_object()) return bad("the body is not a JSON object");
  dal::CheckSpec spec;
  for (const auto& [key, value] : body.items()) {
    if (key == "id") {
      if (!value.is_string()) return bad("\"id\" is not a string");
      spec.id = value.get<std::string>();
    } else if (key == "tables" || key == "shards") {
      if (!value.is_array()) return bad("\"" + key + "\" is not an array");
      for (const json& v : value) {
        if (key == "tables" && v.is_string()) {
          spec.tables.push_back(v.get<std::string>());
        } else if (key == "shards" && v.is_number_integer() && v.get<int64_t>() >= 0 &&
                   v.get<int64_t>() <= static_cast<int64_t>(kShardIdMax)) {
          spec.shards.push_back(static_cast<ShardId>(v.get<int64_t>()));
        } else {
          return bad("\"" + key + "\" holds " + v.dump() + (key == "tables" ? ", not a name" : ", not a shard id"));
        }
      }
    } else if (key == "chunk_rows" || key == "pause_ms") {
      if (!value.is_number_integer() || value.get<int64_t>() < 0) return bad("\"" + key + "\" is not a count");
      if (key == "chunk_rows") spec.chunk_rows = static_cast<size_t>(value.get<int64_t>());
      if (key == "pause_ms") spec.pause_ms = value.get<int64_t>();
    } else {
      return bad("unknown field \"" + key + "\"");
    }
  }
  return spec;
}

json report_json(const std::string& ezone, const dal::CheckReport& r) {
  json issued = json::array();
  for (const dal::CheckedPart& p : r.issued) {
    json part{{"table", p.table}, {"shard", p.shard}, {"chunks", p.chunks}, {"rows", p.rows}, {"done", p.done}};
    if (!p.error.empty()) part["error"] = p.error;
    issued.push_back(std::move(part));
  }
  json received = json::array();
  for (const dal::CheckReceived& c : r.received) {
    received.push_back(json{{"origin", c.origin},
                            {"chunks", c.chunks},
                            {"matched", c.matched},
                            {"differing", c.differing},
                            {"skipped", c.skipped},
                            {"rows", c.rows}});
  }
  json differences = json::array();
  for (const dal::CheckDifference& d : r.differences) {
    differences.push_back(json{{"origin", d.origin},
                               {"table", d.table},
                               {"shard", d.shard},
                               {"chunk", d.chunk},
                               {"after", d.after},
                               {"upto", d.upto},
                               {"origin_rows", d.origin_rows},
                               {"local_rows", d.local_rows},
                               {"result", d.result},
                               {"detail", d.detail}});
  }
  return json{{"ezone", ezone},          {"id", r.id},
              {"known", r.known},        {"running", r.running},
              {"interrupted", r.interrupted}, {"issued_chunks", r.issued_chunks},
              {"issued", issued},        {"received", received},
              {"differences", differences}};
}

// {"chunks": [{"table": T, "shard": S, "chunk": N}, ...]}
Result<std::vector<dal::RepairChunk>> parse_repair(const std::string& text) {
  const Status bad(Errc::invalid_argument,
                   "give a JSON object {\"chunks\": [{\"table\": T, \"shard\": S, \"chunk\": N}, ...]} (S -1: a "
                   "global table), as the check's differences list them");
  json body = parse_json_or_discarded(text);
  if (!body.is_object() || body.size() != 1 || !body.contains("chunks") || !body["chunks"].is_array()) return bad;
  std::vector<dal::RepairChunk> out;
  for (const json& c : body["chunks"]) {
    if (!c.is_object() || c.size() != 3 || !c.contains("table") || !c["table"].is_string() || !c.contains("shard") ||
        !c["shard"].is_number_integer() || !c.contains("chunk") || !c["chunk"].is_number_integer() ||
        c["chunk"].get<int64_t>() < 0) {
      return bad;
    }
    out.push_back({c["table"].get<std::string>(), c["shard"].get<int64_t>(), c["chunk"].get<int64_t>()});
  }
  return out;
}

HttpResponse bad_request(Metrics* metrics, const Status& why) {
  if (metrics) {
    metrics->counter("ezone_admin_bad_requests_total", "Malformed admin requests, by endpoint",
                     {{"endpoint", "dal_checks"}})
        .inc();
  }
  return error_response(why);
}

}  // namespace

HttpResponse handle_check_admin(dal::Dal& dal, const HttpRequest& req, Metrics* metrics) {
  const std::string path = req.path();
  if (path == kChecksPath) {
    if (req.method != "POST") return HttpResponse::error(405, req.method + " not allowed on " + path + "; use POST");
    auto spec = parse_spec(req.body);
    if (!spec) return bad_request(metrics, spec.status());
    auto id = dal.start_check(std::move(spec).value());
    if (!id) {
      const Errc code = id.status().code();
      return code == Errc::invalid_argument || code == Errc::not_found ? bad_request(metrics, id.status())
                                                                       : error_response(id.status());
    }
    return HttpResponse::json(202, dump_json(json{{"ezone", dal.ezone()}, {"id", id.value()}}) + "\n");
  }
  std::string id = path.substr(std::string(kChecksPath).size() + 1);
  const std::string repair_suffix = "/repair";
  if (id.size() > repair_suffix.size() && id.compare(id.size() - repair_suffix.size(), std::string::npos, repair_suffix) == 0) {
    id.resize(id.size() - repair_suffix.size());
    if (req.method != "POST") return HttpResponse::error(405, req.method + " not allowed on " + path + "; use POST");
    auto chunks = parse_repair(req.body);
    if (!chunks) return bad_request(metrics, chunks.status());
    auto sent = dal.repair_check(id, chunks.value());
    if (!sent) {
      return sent.status().code() == Errc::invalid_argument ? bad_request(metrics, sent.status())
                                                            : error_response(sent.status());
    }
    return HttpResponse::json(200, dump_json(json{{"ezone", dal.ezone()},
                                                  {"id", id},
                                                  {"chunks", sent.value().chunks},
                                                  {"images", sent.value().images},
                                                  {"rows", sent.value().rows}}) +
                                       "\n");
  }
  if (id.empty() || id.find('/') != std::string::npos) {
    return HttpResponse::error(404, "no such resource: " + path + " (GET " + kChecksPath + "/ID)");
  }
  if (req.method != "GET") return HttpResponse::error(405, req.method + " not allowed on " + path + "; use GET");
  auto limit = int_query_param(req, "limit", 100, static_cast<int64_t>(dal::kCheckDifferencesMax));
  if (!limit) return bad_request(metrics, limit.status());
  auto report = dal.check_report(id, static_cast<size_t>(limit.value()));
  if (!report) return error_response(report.status());
  return HttpResponse::json(200, dump_json(report_json(dal.ezone(), report.value())) + "\n");
}

}  // namespace ezone
