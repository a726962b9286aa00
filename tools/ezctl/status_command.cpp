#include "tools/ezctl/status_command.hpp"

#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "tools/ezctl/admin_client.hpp"

namespace ezctl {
namespace {

using nlohmann::json;

std::string row(const std::string& a, const std::string& b, const std::string& c,
                const std::string& d, const std::string& e, const std::string& f) {
  char buf[512];
  std::snprintf(buf, sizeof(buf), "%-8s %-22s %-11s %-7s %-6s %s\n", a.c_str(), b.c_str(),
                c.c_str(), d.c_str(), e.c_str(), f.c_str());
  return buf;
}

// The line naming what this node leaves open to whoever reaches it (its
// "tokens"); empty when it asks for every token, or for an older node.
std::string format_open_tokens(const json& tokens) {
  if (!tokens.is_object()) return "";  // an older node
  std::string open;
  auto note = [&](const char* key, const char* what) {
    if (!tokens.value(key, true)) open += std::string(open.empty() ? "" : "; ") + what;
  };
  note("admin", "admin API (no [admin] token)");
  note("service", "internal endpoints of node.http (no router.service_token)");
  note("peer", "route trails trusted from clients (no router.peer_token)");
  return open.empty() ? "" : "OPEN   " + open + "\n";
}

// Which of the node's links speak TLS ("tls"); empty for an older node.
std::string format_tls(const json& tls) {
  if (!tls.is_object()) return "";
  const bool admin = tls.value("admin", false);
  const bool http = admin && tls.value("http", false);
  const bool etcd = tls.value("etcd", false);
  if (!admin && !etcd) return "tls    none: tokens and data cross the network in clear\n";
  std::vector<std::string> secured;
  std::vector<std::string> clear;
  if (admin)
    secured.push_back(std::string("node.admin") +
                      (tls.value("client_certs", false) ? " (client certificates required)" : ""));
  else
    clear.push_back("node.admin");
  (http ? secured : clear).push_back("node.http");
  if (etcd) secured.push_back("etcd");
  (admin && tls.value("cluster", false) ? secured : clear).push_back("the cluster port");
  auto join = [](const std::vector<std::string>& items, const char* last) {
    std::string out;
    for (size_t i = 0; i < items.size(); ++i)
      out += (i == 0 ? "" : i + 1 == items.size() ? last : ", ") + items[i];
    return out;
  };
  if (clear.empty()) return "tls    " + join(secured, ", ") + "\n";
  return "tls    " + join(secured, ", ") + "; " + join(clear, " and ") + " in clear\n";
}

}  // namespace

std::string format_status_table(const std::string& cluster_json) {
  json doc = ezone::parse_json_or_discarded(cluster_json);
  if (doc.is_discarded() || !doc.contains("node") || !doc.contains("peers")) return "";
  const json& node = doc["node"];
  const json& etcd = doc.value("etcd", json::object());
  int64_t now = now_ms();
  std::string out = "node   " + node.value("ezone", "?") + "  admin " + node.value("admin", "?") +
                    "  http " + node.value("http", "?") + "  cluster " + node.value("cluster", "?") +
                    "\n";
  out += "epoch  " + std::to_string(node.value("epoch", int64_t{0})) + "   version " +
         doc.value("version", "?") + "   up " + ago(node.value("started_ms", int64_t{0}), now) + "\n";
  out += "etcd   " + std::string(etcd.value("reachable", false) ? "reachable" : "UNREACHABLE") +
         "  lease " + std::to_string(etcd.value("lease_id", int64_t{0})) +
         (etcd.value("registered", false) ? "  registered" : "  not registered");
  std::string err = etcd.value("last_error", "");
  out += err.empty() ? "\n" : "  (" + err + ")\n";
  const json& writes = doc.value("writes", json::object());
  if (!writes.value("allowed", true)) out += "writes FENCED: " + writes.value("fenced", std::string("?")) + "\n";
  out += format_open_tokens(doc.value("tokens", json()));
  out += format_tls(doc.value("tls", json()));
  out += "\n" + row("PEER", "CLUSTER", "STATE", "SINCE", "EPOCH", "REASON");
  for (const json& p : doc["peers"]) {
    out += row(p.value("ezone", "?"), p.value("cluster", "?"), p.value("state", "?"),
               ago(p.value("since_ms", int64_t{0}), now),
               std::to_string(p.value("last_epoch", int64_t{0})), p.value("reason", ""));
  }
  return out;
}

std::string format_incident_line(const std::string& incident_json) {
  json doc = ezone::parse_json_or_discarded(incident_json);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("grade")) return "";
  char buf[512];
  std::snprintf(buf, sizeof(buf), "\nincident %s over the last %llds: %lld of %lld client requests failed (%s)\n",
                doc.value("grade", "?").c_str(), static_cast<long long>(doc.value("window_s", int64_t{0})),
                static_cast<long long>(doc.value("failed_requests", int64_t{0})),
                static_cast<long long>(doc.value("requests", int64_t{0})), doc.value("reason", "").c_str());
  return buf;
}

std::string format_cache_line(const std::string& cache_json) {
  json doc = ezone::parse_json_or_discarded(cache_json);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("entries") || !doc["lookups"].is_object()) return "";
  std::string tables;
  const json table_list = doc.value("tables", json::array());
  for (const json& t : table_list) tables += (tables.empty() ? "" : ",") + t.get<std::string>();
  const json& lookups = doc["lookups"];
  const uint64_t hits = lookups.value("hit", uint64_t{0}), misses = lookups.value("miss", uint64_t{0});
  std::string clears;
  const json clear_counts = doc.value("clears", json::object());
  for (auto it = clear_counts.begin(); it != clear_counts.end(); ++it)
    clears += (clears.empty() ? "" : ", ") + it.key() + " " + it.value().dump();
  char buf[512];
  std::snprintf(buf, sizeof(buf), "cache    %s: %llu entries (%.1f MiB), %.1f%% of %llu lookups hit, %llu invalidations",
                tables.c_str(), static_cast<unsigned long long>(doc.value("entries", uint64_t{0})),
                static_cast<double>(doc.value("bytes", uint64_t{0})) / (1 << 20),
                hits + misses ? 100.0 * static_cast<double>(hits) / static_cast<double>(hits + misses) : 0.0,
                static_cast<unsigned long long>(hits + misses),
                static_cast<unsigned long long>(doc.value("invalidations", uint64_t{0})));
  std::string out = buf;
  if (!clears.empty()) out += "; cleared: " + clears;
  if (doc.value("errors", uint64_t{0})) out += "; " + doc["errors"].dump() + " errors";
  if (doc.value("off", false)) out += "; OFF (see the node's log)";
  return out + "\n";
}

int run_status(const Options& options) {
  auto reply = admin_call(options, "GET", "/admin/v1/cluster");
  if (!reply) return fail("status", reply.status().message());
  if (reply->status != 200) return fail("status", reply_error(*reply));
  if (options.json) {
    std::printf("%s\n", reply->body.dump(2).c_str());
    return 0;
  }
  std::string table = format_status_table(reply->body.dump());
  if (table.empty()) return fail("status", "the node sent a document that is not cluster status");
  std::fputs(table.c_str(), stdout);
  // The live grade (GET /admin/v1/incident); a node without it (an older
  // build) leaves the line out.
  auto incident = admin_call(options, "GET", "/admin/v1/incident");
  if (incident && incident->status == 200) std::fputs(format_incident_line(incident->body.dump()).c_str(), stdout);
  // The row cache, when the node has one (404 without [cache]).
  auto cache = admin_call(options, "GET", "/admin/v1/cache");
  if (cache && cache->status == 200) std::fputs(format_cache_line(cache->body.dump()).c_str(), stdout);
  return 0;
}

}  // namespace ezctl
