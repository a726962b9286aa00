#include "actors/drc/admin_drc.hpp"

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/json.hpp"

namespace ezone {
namespace {

using nlohmann::json;

json peer_json(const DrcPeerStatus& s) {
  return json{{"origin", s.origin},
              {"connected", s.connected},
              {"cursor", s.cursor},
              {"head", s.head},
              {"lag_rows", s.lag_rows},
              {"lag_ms", s.lag_ms},
              {"watermark_hlc", s.watermark_hlc},
              {"last_apply_ms", s.last_apply_wall_ms},
              {"batches", s.batches},
              {"entries", s.entries},
              {"rows", s.rows},
              {"conflicts", s.conflicts},
              {"parked", s.parked},
              {"last_error", s.last_error},
              {"refused", s.refused}};
}

HttpResponse conflicts_json(dal::Dal& dal, const HttpRequest& req) {
  auto limit = int_query_param(req, "limit", 100, 100000);
  if (!limit) return HttpResponse::error(400, limit.status().message());
  auto conflicts = dal.conflicts(static_cast<size_t>(limit.value()));
  if (!conflicts) return HttpResponse::error(500, conflicts.status().message());
  json out = json::array();
  for (const dal::ConflictRecord& c : conflicts.value()) {
    out.push_back(json{{"table", c.table},
                       {"pk", c.pk},
                       {"winner", {{"origin", c.winner.origin}, {"hlc", c.winner.hlc}, {"op", dal::change_op_name(c.winner_op)}, {"row", c.winner_row}}},
                       {"loser", {{"origin", c.loser.origin}, {"hlc", c.loser.hlc}, {"op", dal::change_op_name(c.loser_op)}, {"row", c.loser_row}}}});
  }
  return HttpResponse::json(200, json{{"conflicts", out}}.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

HttpResponse checksum_json(dal::Dal& dal, const HttpRequest& req) {
  const std::string table = req.query_param("table");
  if (table.empty()) return HttpResponse::error(400, "give ?table=NAME (a replicated table)");
  std::optional<ShardId> shard;
  if (!req.query_param("shard").empty()) {
    auto s = int_query_param(req, "shard", 0, kShardIdMax);
    if (!s) return HttpResponse::error(400, s.status().message());
    shard = static_cast<ShardId>(s.value());
  }
  auto sum = dal.checksum(table, shard);
  if (!sum) return HttpResponse::error(sum.status().code() == Errc::not_found ? 404 : 400, sum.status().message());
  json out{{"table", table}, {"checksum", std::to_string(sum.value())}};
  if (shard) out["shard"] = *shard;
  return HttpResponse::json(200, dump_json(out) + "\n");
}

json quarantine_entry_json(const dal::QuarantineEntry& e) {
  json out{{"table", e.table},         {"pk", e.pk},           {"shard", e.shard},
           {"origins", e.origins},     {"hlc_max", e.hlc_max}, {"since_wall_ms", e.since_wall_ms},
           {"conflicts", e.conflicts}, {"released", e.released}};
  if (e.released) {
    out["released_wall_ms"] = e.released_wall_ms;
    out["released_by"] = e.released_by;
  }
  return out;
}

HttpResponse quarantine_json(dal::Dal& dal, const HttpRequest& req) {
  auto limit = int_query_param(req, "limit", 1000, 100000);
  if (!limit) return HttpResponse::error(400, limit.status().message());
  auto released = int_query_param(req, "released", 0, 1);
  if (!released) return HttpResponse::error(400, released.status().message());
  auto entries = dal.quarantine(static_cast<size_t>(limit.value()), released.value() == 1);
  if (!entries) return HttpResponse::error(500, entries.status().message());
  json out = json::array();
  for (const dal::QuarantineEntry& e : entries.value()) out.push_back(quarantine_entry_json(e));
  return HttpResponse::json(200, json{{"ezone", dal.ezone()}, {"quarantined", out}}.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

// POST {"table": "orders", "pk": "[42]"}: releases the row here; the
// release replicates to every other site.
// "ORIGIN" or "ORIGIN@HLC": the version to keep on a release.
bool parse_keep(const std::string& text, std::string* origin, HlcTime* hlc) {
  const size_t at = text.find('@');
  *origin = text.substr(0, at);
  *hlc = 0;
  if (origin->empty()) return false;
  if (at == std::string::npos) return true;
  const std::string digits = text.substr(at + 1);
  if (digits.empty() || digits.size() > 19 || digits.find_first_not_of("0123456789") != std::string::npos) return false;
  *hlc = std::stoull(digits);
  return *hlc != 0;
}

HttpResponse resolve_json(dal::Dal& dal, const HttpRequest& req) {
  const json body = parse_json_or_discarded(req.body);
  if (!body.is_object() || !body.contains("table") || !body["table"].is_string() || !body.contains("pk") ||
      !(body["pk"].is_string() || body["pk"].is_number_integer()) ||
      (body.contains("keep") && !body["keep"].is_string())) {
    return HttpResponse::error(400, "give a JSON body {\"table\": NAME, \"pk\": KEY} (KEY as listed, e.g. \"[42]\"), "
                                    "and \"keep\": \"ORIGIN[@HLC]\" to write that version again");
  }
  const std::string table = body["table"].get<std::string>();
  const std::string pk = body["pk"].is_string() ? body["pk"].get<std::string>() : std::to_string(body["pk"].get<int64_t>());
  json answer{{"ezone", dal.ezone()}, {"table", table}, {"released", true}};
  if (body.contains("keep")) {
    std::string origin;
    HlcTime hlc = 0;
    const std::string keep = body["keep"].get<std::string>();
    if (!parse_keep(keep, &origin, &hlc))
      return HttpResponse::error(400, "keep '" + keep + "' is not ORIGIN or ORIGIN@HLC (ezctl drc conflicts lists them)");
    const dal::TxOutcome out = dal.release_quarantine_keeping(table, pk, origin, hlc);
    if (!out.ok()) {
      json error{{"error", out.status.message()}};
      if (out.refusal != dal::Refusal::none) error["refusal"] = dal::refusal_name(out.refusal);
      return HttpResponse::json(http_status_of(out.status), dump_json(error) + "\n");
    }
    answer["kept"] = keep;
    answer["hlc"] = out.hlc;
    answer["outbox_seq"] = out.rows > 0 ? out.outbox_seq + 1 : out.outbox_seq;  // the release record
    answer["rows"] = out.rows;
    return HttpResponse::json(200, dump_json(answer) + "\n");
  }
  auto seq = dal.release_quarantine(table, pk);
  if (!seq) return error_response(seq.status());
  answer["outbox_seq"] = seq.value();
  return HttpResponse::json(200, dump_json(answer) + "\n");
}

HttpResponse discard_json(dal::Dal& dal, const HttpRequest& req, Metrics* metrics) {
  const json body = parse_json_or_discarded(req.body);
  const bool ok = body.is_object() && body.contains("origin") && body["origin"].is_string() && body.contains("table") &&
                  body["table"].is_string() && (!body.contains("force") || body["force"].is_boolean()) &&
                  body.size() == 2u + (body.contains("force") ? 1u : 0u);
  if (!ok) {
    if (metrics) {
      metrics->counter("ezone_admin_bad_requests_total", "Malformed admin requests, by endpoint",
                       {{"endpoint", "drc_parked_discard"}}).inc();
    }
    return HttpResponse::error(400, "give a JSON body {\"origin\": EZONE, \"table\": NAME} and, to discard rows "
                                    "of a table this site replicates, \"force\": true");
  }
  const std::string origin = body["origin"].get<std::string>(), table = body["table"].get<std::string>();
  auto n = dal.discard_parked(origin, table, body.value("force", false));
  if (!n) return error_response(n.status());
  return HttpResponse::json(200, dump_json(json{{"ezone", dal.ezone()}, {"origin", origin}, {"table", table},
                                                {"discarded", *n}}) + "\n");
}

}  // namespace

std::string render_drc_json(dal::Dal& dal, const DrcService* drc) {
  json peers = json::array();
  if (drc) {
    for (const DrcPeerStatus& s : drc->status()) {
      json p = peer_json(s);
      // The origin database the cursor counts in: a re-seed compares it
      // with its source's (actors/node/reseed.hpp).
      auto cursor = dal.origin_cursor(s.origin);
      if (cursor) p["lineage"] = cursor->lineage;
      peers.push_back(std::move(p));
    }
  }
  json halted = json::array();
  for (const dal::HaltedTable& h : dal.halted()) {
    halted.push_back(json{{"origin", h.origin}, {"table", h.table}, {"reason", h.reason}, {"parked_rows", h.parked_rows}});
  }
  json tables = json::array();
  for (const data::TableSpec& t : dal.schema().tables()) {
    if (t.kind == data::TableKind::local) continue;
    json entry{{"name", t.name}, {"kind", data::table_kind_name(t.kind)}};
    // For `ezctl schema`: a rolling migration shows as columns that differ.
    if (auto layout = dal.layout(t.name)) {
      entry["columns"] = layout->fingerprint;
      entry["migrations"] = layout->migrations;
    }
    tables.push_back(std::move(entry));
  }
  json doc{{"ezone", dal.ezone()},
           {"tables", tables},
           {"outbox_head", dal.outbox_head()},
           {"lineage", dal.lineage()},
           {"acknowledged_epoch", dal.acknowledged_epoch()},
           {"now_ms", SystemClock::instance().wall_ms()},
           {"peers", peers},
           {"halted", halted}};
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::optional<HttpResponse> handle_drc_admin(dal::Dal& dal, const DrcService* drc, const HttpRequest& req,
                                             Metrics* metrics) {
  const std::string path = req.path();
  if (path == kChecksPath || path.rfind(std::string(kChecksPath) + "/", 0) == 0) return handle_check_admin(dal, req, metrics);
  if (path == "/admin/v1/quarantine/resolve") {
    if (req.method != "POST") return HttpResponse::error(405, req.method + " not allowed on " + path + "; use POST");
    return resolve_json(dal, req);
  }
  if (path == "/admin/v1/drc/parked/discard") {
    if (req.method != "POST") return HttpResponse::error(405, req.method + " not allowed on " + path + "; use POST");
    return discard_json(dal, req, metrics);
  }
  const bool known = path == "/admin/v1/drc" || path == "/admin/v1/drc/conflicts" || path == "/admin/v1/dal/checksum" ||
                     path == "/admin/v1/quarantine";
  if (!known) return std::nullopt;
  if (req.method != "GET") return HttpResponse::error(405, req.method + " not allowed on " + path + "; use GET");
  if (path == "/admin/v1/drc/conflicts") return conflicts_json(dal, req);
  if (path == "/admin/v1/dal/checksum") return checksum_json(dal, req);
  if (path == "/admin/v1/quarantine") return quarantine_json(dal, req);
  return HttpResponse::json(200, render_drc_json(dal, drc));
}

}  // namespace ezone
