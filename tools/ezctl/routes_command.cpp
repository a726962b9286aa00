#include "tools/ezctl/routes_command.hpp"

#include <cstdio>

#include "tools/ezctl/admin_client.hpp"

namespace ezctl {
namespace {

using nlohmann::json;


}  // namespace

std::string format_routes_table(const json& t) {
  if (!t.is_object() || !t.contains("shards") || !t.contains("ezones")) return "";
  std::string out = "epoch " + std::to_string(t.value("epoch", int64_t{0})) + "\n\nEZONE    SITE\n";
  char line[256];
  for (const json& z : t["ezones"]) {
    std::snprintf(line, sizeof(line), "%-8s %s\n", z.value("name", "?").c_str(), z.value("site", "?").c_str());
    out += line;
  }
  out += "\nSHARD  NAME                     OWNER    STATE\n";
  for (const json& s : t["shards"]) {
    std::snprintf(line, sizeof(line), "%-6lld %-24s %-8s %s\n",
                  static_cast<long long>(s.value("id", int64_t{-1})), s.value("name", "?").c_str(),
                  s.value("owner", "?").c_str(), s.value("state", "?").c_str());
    out += line;
  }
  return out;
}

int run_routes(const Options& options) {
  auto reply = admin_call(options, "GET", "/admin/v1/routes");
  if (!reply) return fail("routes", reply.status().message());
  if (reply->status != 200) return fail("routes", reply_error(*reply));
  if (options.json) return std::printf("%s\n", reply->body.dump(2).c_str()), 0;
  std::string table = format_routes_table(reply->body);
  if (table.empty()) return fail("routes", "the node sent something that is not a route table");
  std::fputs(table.c_str(), stdout);
  return 0;
}

int run_move(const Options& options) {
  std::vector<std::string> shards = split_commas(options.shards);
  if (shards.empty() || options.to.empty())
    return fail("move", "give --shards S1,S2 (names or ids) and --to EZONE");
  std::fprintf(stderr,
               "ezctl move is a RAW route change: it does not make the shards write-forbidden or wait\n"
               "for replication, so writes in flight at the old owner may reach the new one late.\n"
               "The safe workflow is `ezctl switchover --shards ... --to ...`.\n");
  json body{{"shards", shards}, {"to", options.to}};
  if (options.expected_epoch > 0) body["expected_epoch"] = options.expected_epoch;
  auto reply = admin_call(options, "POST", "/admin/v1/routes/move", body.dump());
  if (!reply) return fail("move", reply.status().message());
  if (reply->status != 200) return fail("move", reply_error(*reply));
  if (options.json) return std::printf("%s\n", reply->body.dump(2).c_str()), 0;
  std::printf("moved %s to %s: epoch %lld -> %lld\n", options.shards.c_str(), options.to.c_str(),
              static_cast<long long>(reply->body.value("from_epoch", int64_t{0})),
              static_cast<long long>(reply->body.value("epoch", int64_t{0})));
  return 0;
}

}  // namespace ezctl
