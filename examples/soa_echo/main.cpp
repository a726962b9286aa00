// soa_echo: a tiny zone-aware service for trying the SOA proxy (actors/soa)
// on a laptop cluster. It answers GET /health with 200 (or 503 while a file
// named by --sick-file exists, to play an instance falling ill), and every
// other request with JSON saying which service, zone and instance served
// it, and what it received: the method, the path, the body, and the shard
// that the proxy's router resolved (X-Ezone-Shard).
//
//   soa_echo --listen 127.0.0.1:7105 --service pricing --zone bj [--sick-file F]
//            [--register NODE_ADMIN [--ttl S]]
//
// With --register it registers itself with its zone's node (the node's
// admin address; actors/soa/soa_registry.hpp) under a lease of S seconds
// (default 10), renews the lease every third of it, registers again when
// the lease was lost (its node restarted, or etcd expired it), and
// deregisters when it stops. Without it, [soa] must list it.
//
// tools/dev up starts one per zone that config/examples/laptop/*.toml
// lists, and one more in bj that registers. Stops on SIGINT or SIGTERM.
// Exit codes: 0 clean stop, 1 cannot listen, 2 bad command line.
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "actors/http/http_server.hpp"
#include "storage/net/http_client.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int usage(const std::string& why) {
  std::fprintf(stderr,
               "soa_echo: %s\nusage: soa_echo --listen HOST:PORT --service NAME --zone EZONE [--sick-file F] "
               "[--register NODE_ADMIN_HOST:PORT [--ttl SECONDS]]\n",
               why.c_str());
  return 2;
}

// Sleeps ms in short steps; false once asked to stop.
bool nap(int64_t ms) {
  for (int64_t slept = 0; slept < ms && !g_stop; slept += 100) ::usleep(100 * 1000);
  return !g_stop;
}

void say(const std::string& what) { std::fprintf(stderr, "soa_echo: %s\n", what.c_str()); }

// Keeps this instance registered with its node until asked to stop, then
// deregisters. Says each change of state once.
void keep_registered(const ezone::HostPort& node, const std::string& service, const std::string& address,
                     int64_t ttl_s) {
  const std::string base = "/admin/v1/soa/instances";
  int64_t lease = 0, keepalive_ms = 1000;
  std::string last;
  auto note = [&](const std::string& what) {
    if (what != last) say(what);
    last = what;
  };
  while (!g_stop) {
    if (lease == 0) {
      nlohmann::json body{{"service", service}, {"address", address}, {"ttl_s", ttl_s}};
      auto r = ezone::net::http_request(node, "POST", base, body.dump(), "application/json", 3000);
      auto doc = r.ok() ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json();
      if (r.ok() && r->status == 201 && doc.is_object() && doc["lease"].is_number_integer()) {
        lease = doc["lease"].get<int64_t>();
        keepalive_ms = doc.value("keepalive_ms", int64_t{1000});
        note("registered with " + node.to_string() + " under lease " + std::to_string(lease));
      } else {
        note("cannot register with " + node.to_string() + ": " +
             (r.ok() ? std::to_string(r->status) + " " + r->body : r.status().message()));
        nap(1000);
      }
      continue;
    }
    if (!nap(keepalive_ms)) break;
    auto r = ezone::net::http_request(node, "POST", base + "/" + std::to_string(lease) + "/keepalive", "", "", 3000);
    if (r.ok() && r->status == 200) {
      note("registered with " + node.to_string() + " under lease " + std::to_string(lease));
    } else if (r.ok() && r->status == 404) {
      note("lease " + std::to_string(lease) + " was lost; registering again");
      lease = 0;
    } else {
      note("cannot renew lease " + std::to_string(lease) + ": " + (r.ok() ? std::to_string(r->status) : r.status().message()));
      keepalive_ms = 1000;
    }
  }
  if (lease == 0) return;
  auto r = ezone::net::http_request(node, "DELETE", base + "/" + std::to_string(lease), "", "", 3000);
  say(r.ok() && r->status == 200 ? "deregistered" : "could not deregister; the lease expires by itself");
}

bool exists(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen, service, zone, sick_file, register_at;
  int64_t ttl_s = 10;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc) return usage(arg + " needs a value");
    std::string value = argv[++i];
    if (arg == "--listen") listen = value;
    else if (arg == "--service") service = value;
    else if (arg == "--zone") zone = value;
    else if (arg == "--sick-file") sick_file = value;
    else if (arg == "--register") register_at = value;
    else if (arg == "--ttl") ttl_s = std::atoll(value.c_str());
    else return usage("unknown option " + arg);
  }
  if (listen.empty() || service.empty() || zone.empty()) return usage("--listen, --service and --zone are required");
  auto bind = ezone::parse_host_port(listen);
  if (!bind) return usage(bind.status().message());
  auto node = ezone::parse_host_port(register_at.empty() ? "127.0.0.1:1" : register_at);
  if (!node) return usage("--register: " + node.status().message());
  if (ttl_s < 1 || ttl_s > 3600) return usage("--ttl takes 1..3600 seconds");

  ezone::Metrics metrics(zone);
  ezone::HttpServerOptions options;
  options.name = "soa_echo";
  options.config_key = "--listen";
  options.bind = *bind;
  const std::string instance = listen;
  auto server = ezone::HttpServer::start(
      options,
      [&](const ezone::HttpRequest& r) {
        if (r.path() == "/health")
          return exists(sick_file) ? ezone::HttpResponse::text(503, "sick\n") : ezone::HttpResponse::text(200, "ok\n");
        nlohmann::json body{{"service", service}, {"zone", zone},         {"instance", instance},
                            {"method", r.method}, {"target", r.target},   {"body", r.body},
                            {"shard", r.header("x-ezone-shard")}};
        return ezone::HttpResponse::json(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
      },
      metrics);
  if (!server) {
    std::fprintf(stderr, "soa_echo: %s\n", server.status().message().c_str());
    return 1;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  std::fprintf(stderr, "soa_echo: service %s of zone %s on %s\n", service.c_str(), zone.c_str(), listen.c_str());
  if (register_at.empty()) {
    while (!g_stop) ::usleep(100 * 1000);
  } else {
    keep_registered(*node, service, listen, ttl_s);
  }
  (*server)->stop();
  return 0;
}
