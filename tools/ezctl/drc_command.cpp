#include "tools/ezctl/drc_command.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "tools/ezctl/admin_client.hpp"

namespace ezctl {
namespace {

using nlohmann::json;

std::string peer_row(const std::string& origin, const std::string& state, const std::string& cursor,
                     const std::string& head, const std::string& lag_rows, const std::string& lag_ms,
                     const std::string& applied, const std::string& error) {
  char buf[768];
  std::snprintf(buf, sizeof(buf), "%-8s %-6s %-10s %-10s %-9s %-8s %-8s %s\n", origin.c_str(), state.c_str(),
                cursor.c_str(), head.c_str(), lag_rows.c_str(), lag_ms.c_str(), applied.c_str(), error.c_str());
  return buf;
}

std::string num(const json& j, const char* key) { return std::to_string(j.value(key, int64_t{0})); }

int run_conflicts(const Options& options) {
  auto reply = admin_call(options, "GET", "/admin/v1/drc/conflicts?limit=" + std::to_string(options.limit));
  if (!reply) return fail("drc conflicts", reply.status().message());
  if (reply->status != 200) return fail("drc conflicts", reply_error(*reply));
  const json& list = reply->body.value("conflicts", json::array());
  if (options.json) {
    std::printf("%s\n", reply->body.dump(2).c_str());
    return 0;
  }
  if (list.empty()) std::printf("no conflicts\n");
  for (const json& c : list) {
    const json& w = c.value("winner", json::object());
    const json& l = c.value("loser", json::object());
    std::printf("%s %s\n  winner %-6s hlc %-20s %s %s\n  loser  %-6s hlc %-20s %s %s\n", c.value("table", "?").c_str(),
                c.value("pk", "?").c_str(), w.value("origin", "?").c_str(), num(w, "hlc").c_str(),
                w.value("op", "?").c_str(), w.value("row", "").c_str(), l.value("origin", "?").c_str(),
                num(l, "hlc").c_str(), l.value("op", "?").c_str(), l.value("row", "").c_str());
  }
  return 0;
}

}  // namespace

std::string format_drc_table(const std::string& drc_json) {
  json doc = ezone::parse_json_or_discarded(drc_json);
  if (doc.is_discarded() || !doc.contains("peers") || !doc.contains("ezone")) return "";
  const int64_t now = doc.value("now_ms", now_ms());
  std::string out = "ezone  " + doc.value("ezone", "?") + "   outbox head " + num(doc, "outbox_head") +
                    "   acknowledged epoch " + num(doc, "acknowledged_epoch") + "\n\n";
  out += peer_row("ORIGIN", "STATE", "APPLIED", "HEAD", "LAG_ROWS", "LAG_MS", "LAST", "ERROR");
  for (const json& p : doc["peers"]) {
    // HALTED: the peer answers, but from an outbox this site must not apply
    // (a replaced or restored database): it needs a re-seed, not a network fix.
    const char* state = p.value("refused", false) ? "HALTED" : p.value("connected", false) ? "up" : "DOWN";
    out += peer_row(p.value("origin", "?"), state, num(p, "cursor"),
                    num(p, "head"), num(p, "lag_rows"), num(p, "lag_ms"), ago(p.value("last_apply_ms", int64_t{0}), now),
                    p.value("last_error", ""));
  }
  const json& halted = doc.value("halted", json::array());
  if (!halted.empty()) {
    out += "\nHALTED TABLES (their rows are parked until they fit this site's columns; see ezctl schema)\n";
    for (const json& h : halted) {
      out += "  " + h.value("table", "?") + " from " + h.value("origin", "?") + ": " + num(h, "parked_rows") +
             " rows parked; " + h.value("reason", "") + "\n";
    }
  }
  return out;
}

int run_discard(const Options& options) {
  if (options.origin.empty() || options.table.empty())
    return fail("drc discard", "give the rows' origin and table: drc discard --origin EZONE --table T [--force]");
  const json body{{"origin", options.origin}, {"table", options.table}, {"force", options.force}};
  auto reply = admin_call(options, "POST", "/admin/v1/drc/parked/discard", body.dump());
  if (!reply) return fail("drc discard", reply.status().message());
  if (reply->status != 200) return fail("drc discard", reply_error(*reply));
  if (options.json) return std::printf("%s\n", reply->body.dump(2).c_str()), 0;
  std::printf("discarded %lld parked rows of %s from %s at %s\n",
              static_cast<long long>(reply->body.value("discarded", int64_t{0})), options.table.c_str(),
              options.origin.c_str(), reply->body.value("ezone", "?").c_str());
  return 0;
}

int run_drc(const Options& options) {
  if (options.args.size() == 2 && options.args[1] == "conflicts") return run_conflicts(options);
  if (options.args.size() == 2 && options.args[1] == "discard") return run_discard(options);
  if (options.args.size() != 1) return fail("drc", "usage: drc [conflicts [--limit N] | discard --origin EZONE --table T]");
  auto reply = admin_call(options, "GET", "/admin/v1/drc");
  if (!reply) return fail("drc", reply.status().message());
  if (reply->status != 200) return fail("drc", reply_error(*reply));
  if (options.json) {
    std::printf("%s\n", reply->body.dump(2).c_str());
    return 0;
  }
  std::string table = format_drc_table(reply->body.dump());
  if (table.empty()) return fail("drc", "the node sent a document that is not DRC status");
  std::fputs(table.c_str(), stdout);
  return 0;
}

}  // namespace ezctl
