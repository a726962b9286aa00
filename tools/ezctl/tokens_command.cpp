#include "tools/ezctl/tokens_command.hpp"

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "tools/ezctl/admin_client.hpp"

namespace ezctl {

using nlohmann::json;

int run_tokens(const Options& options) {
  if (options.args.size() != 2 || options.args[1] != "reload")
    return fail("tokens", "the command is `tokens reload [--all]`");
  auto nodes = options.all ? cluster_admins(options)
                           : ezone::Result<std::vector<std::pair<std::string, std::string>>>(
                                 std::vector<std::pair<std::string, std::string>>{{"", options.node}});
  if (!nodes) return fail("tokens reload", nodes.status().message());
  bool all_ok = true;
  json answers = json::array();
  for (const auto& [ezone, admin] : *nodes) {
    Options at = options;
    at.node = admin;
    auto reply = admin_call(at, "POST", "/admin/v1/tokens/reload");
    const std::string name = ezone.empty() ? admin : ezone + " (" + admin + ")";
    if (!reply || (reply->status != 200 && !reply->body.contains("tokens"))) {
      all_ok = false;
      const std::string why = reply ? reply_error(*reply) : reply.status().message();
      answers.push_back(json{{"node", admin}, {"ok", false}, {"error", why}});
      if (!options.json) std::printf("%s: not reloaded: %s\n", name.c_str(), why.c_str());
      continue;
    }
    json answer = reply->body;
    answer["node"] = admin;
    all_ok = all_ok && answer.value("ok", false);
    if (!options.json) {
      std::printf("%s:", name.c_str());
      for (const json& t : answer.value("tokens", json::array())) {
        std::printf(" %s %s", t.value("token", "?").c_str(), t.value("outcome", "?").c_str());
      }
      std::printf("\n");
      for (const json& t : answer.value("tokens", json::array()))
        if (t.contains("error")) std::printf("  %s: %s\n", t.value("token", "?").c_str(), t.value("error", "").c_str());
    }
    answers.push_back(std::move(answer));
  }
  if (options.json) std::printf("%s\n", answers.dump(2).c_str());
  if (!all_ok) std::fprintf(stderr, "ezctl: tokens reload: not every node reloaded every token; see above\n");
  return all_ok ? 0 : 1;
}

}  // namespace ezctl
