#include "tools/ezctl/locate_command.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "tools/ezctl/admin_client.hpp"
#include "zones/sharding_key.hpp"

namespace ezctl {
namespace {

using nlohmann::json;

// Keys travel in a JSON body, so no URL encoding is needed for ',' or '='.
// The admin API answers at most kLocateKeysMax keys a request: a longer list
// goes in several, and the answers come back in the keys' order.
int locate_many(const Options& options, const std::vector<std::string>& keys) {
  json results = json::array();
  for (size_t at = 0; at < keys.size(); at += ezone::kLocateKeysMax) {
    const auto end = keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), at + ezone::kLocateKeysMax));
    const std::vector<std::string> chunk(keys.begin() + static_cast<std::ptrdiff_t>(at), end);
    auto reply = admin_call(options, "POST", "/admin/v1/locate", json{{"keys", chunk}}.dump());
    if (!reply) return fail("locate", reply.status().message());
    if (reply->status != 200) return fail("locate", reply_error(*reply));
    json* answers = reply->body.is_object() ? &reply->body["results"] : nullptr;
    if (!answers || !answers->is_array() || answers->size() != chunk.size())
      return fail("locate", "the node's answer does not hold one result per key");
    for (json& answer : *answers) results.push_back(std::move(answer));
  }
  if (options.json) return std::printf("%s\n", json{{"results", results}}.dump(2).c_str()), 0;
  int failed = 0;
  for (const json& answer : results) {
    std::printf("%s\n", format_location(answer).c_str());
    failed += !answer.is_object() || answer.contains("error");
  }
  return failed == 0 ? 0 : 1;
}

bool read_keys(const std::string& path, std::vector<std::string>* keys) {
  std::ifstream in(path);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty() && line[0] != '#') keys->push_back(line);
  }
  return true;
}

}  // namespace

std::string format_location(const json& a) {
  if (!a.is_object()) return "?  ERROR the node's answer is not an object: " + a.dump();
  std::string key = a.value("key", "?");
  if (a.contains("error")) return key + "  ERROR " + a.value("error", "");
  std::ostringstream out;
  out << key << "  fence " << (a.value("fence", "").empty() ? "-" : a.value("fence", ""))
      << "  shard " << a.value("shard", int64_t{-1}) << " (" << a.value("shard_name", "") << ")"
      << "  owner " << a.value("owner", "?") << "  " << a.value("state", "?") << "  epoch "
      << a.value("epoch", int64_t{0});
  return out.str();
}

int run_locate(const Options& options) {
  std::vector<std::string> keys(options.args.begin() + 1, options.args.end());
  if (!options.file.empty() && !read_keys(options.file, &keys))
    return fail("locate", "cannot read key file " + options.file);
  if (keys.empty()) return fail("locate", "give a key (geo=LAT,LON, merchant=ID, order=ID) or --file F");
  return locate_many(options, keys);
}

}  // namespace ezctl
