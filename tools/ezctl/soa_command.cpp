#include "tools/ezctl/soa_command.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include <nlohmann/json.hpp>

#include "actors/soa/soa_registrant.hpp"
#include "core/json.hpp"
#include "tools/ezctl/admin_client.hpp"

namespace ezctl {
namespace {

using nlohmann::json;

std::string instance_row(const std::string& zone, const std::string& address, const std::string& source,
                         const std::string& state, const std::string& since, const std::string& failures,
                         const std::string& calls, const std::string& errors, const std::string& error) {
  char buf[768];
  std::snprintf(buf, sizeof(buf), "  %-8s %-22s %-10s %-5s %-6s %-8s %-9s %-7s %s\n", zone.c_str(), address.c_str(),
                source.c_str(), state.c_str(), since.c_str(), failures.c_str(), calls.c_str(), errors.c_str(),
                error.c_str());
  return buf;
}

std::string num(const json& j, const char* key) { return std::to_string(j.value(key, int64_t{0})); }

}  // namespace

std::string format_soa_table(const std::string& soa_json, int64_t now) {
  json doc = ezone::parse_json_or_discarded(soa_json);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("services") || !doc["services"].is_array()) return "";
  std::string out = "ezone  " + doc.value("ezone", "?") + "\n";
  for (const json& s : doc["services"]) {
    std::string master = s.value("master", "");
    out += "\n" + s.value("name", "?") + "   mode " + s.value("mode", "?") + (master.empty() ? "" : " (master " + master + ")") +
           "   fallback " + s.value("fallback", "?") + "   health " + s.value("health_path", "?") +
           (s.value("tls", false) ? "   tls" : "") + "\n";
    out += instance_row("EZONE", "INSTANCE", "SOURCE", "STATE", "SINCE", "FAILURES", "CALLS", "ERRORS",
                        "LAST_ERROR");
    for (const json& in : s.value("instances", json::array())) {
      bool up = in.value("up", false);
      out += instance_row(in.value("ezone", "?"), in.value("address", "?"), in.value("source", "?"), up ? "up" : "DOWN",
                          ago(in.value("since_wall_ms", int64_t{0}), now), num(in, "failures"), num(in, "calls"),
                          num(in, "errors"), in.value("last_error", "").substr(0, 120));
    }
  }
  return out;
}

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

// `soa register`: a sidecar that keeps an instance registered until SIGINT
// or SIGTERM, then deregisters it.
int run_register(const Options& options) {
  if (options.args.size() != 2 || options.service.empty() || options.address.empty())
    return fail("soa register", "usage: soa register --service S --address HOST:PORT [--ttl S]");
  auto node = ezone::parse_host_port(options.node);
  if (!node) return fail("soa register", "--node: " + node.status().message());
  ezone::SoaRegistrantOptions o;
  o.node = *node;
  o.service = options.service;
  o.address = options.address;
  o.ttl_s = options.ttl_s;
  o.request_timeout_ms = options.timeout_ms;
  o.admin_token = options.admin_token;
  o.admin_token_file = options.admin_token_file;  // re-read before every call: rotations need no restart
  o.tls = options.tls;
  o.on_change = [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  };
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  ezone::SoaRegistrant registrant(std::move(o));
  while (!g_stop && !registrant.state().refused) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  registrant.stop();
  if (registrant.state().refused) return fail("soa register", registrant.state().last_error);
  return 0;
}

int run_deregister(const Options& options) {
  if (options.args.size() != 3 || options.args[2].empty() ||
      options.args[2].find_first_not_of("0123456789") != std::string::npos)
    return fail("soa deregister", "usage: soa deregister LEASE (the lease's number)");
  auto reply = admin_call(options, "DELETE", "/admin/v1/soa/instances/" + options.args[2]);
  if (!reply) return fail("soa deregister", reply.status().message());
  if (reply->status != 200) return fail("soa deregister", reply_error(*reply));
  const auto& body = reply->body;
  std::printf("deregistered %s\n",
              body.is_object() && body.contains("deregistered") && body["deregistered"].is_string()
                  ? body["deregistered"].get<std::string>().c_str()
                  : "?");
  return 0;
}

}  // namespace

int run_soa(const Options& options) {
  if (options.args.size() >= 2 && options.args[1] == "register") return run_register(options);
  if (options.args.size() >= 2 && options.args[1] == "deregister") return run_deregister(options);
  if (options.args.size() != 1) return fail("soa", "usage: soa | soa register ... | soa deregister LEASE");
  auto reply = admin_call(options, "GET", "/admin/v1/soa");
  if (!reply) return fail("soa", reply.status().message());
  if (reply->status != 200) return fail("soa", reply_error(*reply));
  if (options.json) {
    std::printf("%s\n", reply->body.dump(2).c_str());
    return 0;
  }
  std::string table = format_soa_table(reply->body.dump(), now_ms());
  if (table.empty()) return fail("soa", "the node sent a document that is not SOA status");
  std::fputs(table.c_str(), stdout);
  return 0;
}

}  // namespace ezctl
