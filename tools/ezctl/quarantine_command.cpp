#include "tools/ezctl/quarantine_command.hpp"

#include <cstdio>

#include "tools/ezctl/admin_client.hpp"

namespace ezctl {
namespace {

using nlohmann::json;

int run_list(const Options& options) {
  const std::string target = "/admin/v1/quarantine?limit=" + std::to_string(options.limit) +
                             (options.released ? "&released=1" : "");
  auto reply = admin_call(options, "GET", target);
  if (!reply) return fail("quarantine list", reply.status().message());
  if (reply->status != 200) return fail("quarantine list", reply_error(*reply));
  if (options.json) {
    std::printf("%s\n", reply->body.dump(2).c_str());
    return 0;
  }
  const json& list = reply->body.value("quarantined", json::array());
  if (list.empty()) {
    std::printf("no quarantined rows at %s\n", reply->body.value("ezone", "?").c_str());
    return 0;
  }
  const int64_t now = now_ms();
  std::printf("%-16s %-24s %-6s %-8s %-9s %-6s %s\n", "TABLE", "PK", "SHARD", "WRITERS", "CONFLICTS", "SINCE",
              "STATE");
  for (const json& e : list) {
    std::string state = "quarantined";
    if (e.value("released", false))
      state = "released by " + e.value("released_by", "?") + " " + ago(e.value("released_wall_ms", int64_t{0}), now) +
              " ago";
    std::printf("%-16s %-24s %-6lld %-8s %-9lld %-6s %s\n", e.value("table", "?").c_str(), e.value("pk", "?").c_str(),
                static_cast<long long>(e.value("shard", int64_t{-1})), e.value("origins", "").c_str(),
                static_cast<long long>(e.value("conflicts", int64_t{0})),
                ago(e.value("since_wall_ms", int64_t{0}), now).c_str(), state.c_str());
  }
  std::printf("\nBoth versions of each row: ezctl drc conflicts. Release one, keeping the version standing now: ezctl\n"
              "quarantine resolve --table T --pk KEY; or keeping a site's version (at the row's owner): add --keep ORIGIN\n");
  return 0;
}

int run_resolve(const Options& options) {
  if (options.table.empty() || options.pk.empty())
    return fail("quarantine resolve", "give --table NAME and --pk KEY (as `quarantine list` shows it)");
  json request{{"table", options.table}, {"pk", options.pk}};
  if (!options.keep.empty()) request["keep"] = options.keep;
  auto reply = admin_call(options, "POST", "/admin/v1/quarantine/resolve", request.dump());
  if (!reply) return fail("quarantine resolve", reply.status().message());
  if (reply->status != 200) {
    std::string why = reply_error(*reply);
    const std::string refusal = reply->body.is_object() ? reply->body.value("refusal", "") : "";
    if (!refusal.empty()) why += " (refused: " + refusal + ")";
    if (refusal == "wrong_zone")
      why += "; keeping a version writes the row, so run it at the node of the ezone that owns the row's shard";
    return fail("quarantine resolve", why);
  }
  if (options.json) {
    std::printf("%s\n", reply->body.dump(2).c_str());
    return 0;
  }
  std::printf("released %s %s at %s; the release replicates to every site (outbox seq %lld)\n", options.table.c_str(),
              options.pk.c_str(), reply->body.value("ezone", "?").c_str(),
              static_cast<long long>(reply->body.value("outbox_seq", int64_t{0})));
  if (!options.keep.empty())
    std::printf("kept the version %s wrote: written again as a new version (hlc %lld), so every site ends with it\n",
                options.keep.c_str(), static_cast<long long>(reply->body.value("hlc", int64_t{0})));
  return 0;
}

}  // namespace

int run_quarantine(const Options& options) {
  if (options.args.size() == 2 && options.args[1] == "list") return run_list(options);
  if (options.args.size() == 2 && options.args[1] == "resolve") return run_resolve(options);
  return fail("quarantine", "usage: quarantine list [--released] | quarantine resolve --table T --pk KEY [--keep ORIGIN[@HLC]]");
}

}  // namespace ezctl
