#include <chrono>
#include "tools/ezctl/admin_client.hpp"

#include <cstdio>
#include <ctime>

#include "core/address.hpp"
#include "core/json.hpp"
#include "storage/net/http_client.hpp"

namespace ezctl {

ezone::Result<AdminReply> admin_call(const Options& options, const std::string& method,
                                     const std::string& target, const std::string& body) {
  auto addr = ezone::parse_host_port(options.node);
  if (!addr)
    return ezone::Status(ezone::Errc::invalid_argument,
                         "--node " + options.node + ": " + addr.status().message());
  ezone::net::HttpRequest request{method, target, body, body.empty() ? "" : "application/json", {}};
  ezone::net::add_bearer_token(request, options.admin_token);
  auto res = ezone::net::HttpConnection(*addr, options.tls).request(request, options.timeout_ms);
  if (!res) {
    // A TLS node.admin closes a plain connection at once, which looks like
    // any server that closed it: say what to try.
    const bool closed = res.status().message().find("closed the connection") != std::string::npos;
    return ezone::Status(res.status().code(),
                         "cannot reach node " + options.node + ": " + res.status().message() +
                             (closed && !options.tls ? " (if the node has [tls], give ezctl --ca-file)" : ""));
  }
  AdminReply reply;
  reply.status = res->status;
  reply.body = ezone::parse_json_or_discarded(res->body);
  if (reply.body.is_discarded())
    return ezone::Status(ezone::Errc::parse_error, "node " + options.node + " answered " +
                                                       std::to_string(res->status) +
                                                       " with something that is not JSON: " +
                                                       res->body.substr(0, 200));
  return reply;
}

int fail(const std::string& what, const std::string& error) {
  std::fprintf(stderr, "ezctl: %s: %s\n", what.c_str(), error.c_str());
  return 1;
}

std::string reply_error(const AdminReply& reply) {
  std::string error = reply.body.is_object() ? reply.body.value("error", "") : "";
  return "node answered " + std::to_string(reply.status) + (error.empty() ? "" : ": " + error);
}

ezone::Result<std::vector<std::pair<std::string, std::string>>> cluster_admins(const Options& options) {
  auto cluster = admin_call(options, "GET", "/admin/v1/cluster");
  if (!cluster) return cluster.status();
  if (cluster->status != 200) return ezone::Status(ezone::Errc::unavailable, reply_error(*cluster));
  std::vector<std::pair<std::string, std::string>> out{{cluster->body["node"].value("ezone", ""), options.node}};
  for (const nlohmann::json& peer : cluster->body.value("peers", nlohmann::json::array())) {
    const std::string admin = peer.value("admin", "");
    if (admin.empty())
      return ezone::Status(ezone::Errc::invalid_argument,
                           "peer " + peer.value("ezone", "?") + " has no admin address in " + options.node +
                               "'s config ([[peers]] admin): use --node for it");
    out.emplace_back(peer.value("ezone", "?"), admin);
  }
  return out;
}

int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string ago(int64_t since_ms, int64_t now) {
  if (since_ms <= 0) return "-";
  int64_t d = (now - since_ms) / 1000;
  if (d < 0) d = 0;
  char buf[32];
  if (d < 120) std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(d));
  else if (d < 7200) std::snprintf(buf, sizeof(buf), "%lldm", static_cast<long long>(d / 60));
  else std::snprintf(buf, sizeof(buf), "%lldh", static_cast<long long>(d / 3600));
  return buf;
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

}  // namespace ezctl
