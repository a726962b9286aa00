// soa_echo: a tiny zone-aware service for trying the SOA proxy (actors/soa)
// on a laptop cluster. It answers GET /health with 200 (or 503 while a file
// named by --sick-file exists, to play an instance falling ill), and every
// other request with JSON saying which service, zone and instance served
// it, and what it received: the method, the path, the body, and the shard
// that the proxy's router resolved (X-Ezone-Shard).
//
//   soa_echo --listen [https://]127.0.0.1:7105 --service pricing --zone bj [--sick-file F]
//            [--register NODE_ADMIN [--ttl S] [--admin-token-file F]
//             [--ca-file F [--cert-file F --key-file F]]] (node.admin over TLS)
//
// With --listen https://HOST:PORT it serves HTTPS with --cert-file and
// --key-file (a service with tls = true in [soa]); the certificate must
// name HOST.
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
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "actors/http/http_server.hpp"
#include "actors/soa/soa_registrant.hpp"
#include "core/shared_token.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

int usage(const std::string& why) {
  std::fprintf(stderr,
               "soa_echo: %s\nusage: soa_echo --listen [https://]HOST:PORT --service NAME --zone EZONE [--sick-file F] "
               "[--register NODE_ADMIN_HOST:PORT [--ttl SECONDS] [--admin-token-file F]\n"
               "  [--ca-file F [--cert-file F --key-file F]]]\n"
               "(a node with an admin token needs it: --admin-token-file, or EZONE_ADMIN_TOKEN)\n",
               why.c_str());
  return 2;
}

void say(const std::string& what) { std::fprintf(stderr, "soa_echo: %s\n", what.c_str()); }

bool exists(const std::string& path) {
  struct stat st {};
  return !path.empty() && ::stat(path.c_str(), &st) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen, service, zone, sick_file, register_at, token_file;
  ezone::net::TlsFiles tls_files;
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
    else if (arg == "--admin-token-file") token_file = value;
    else if (arg == "--ca-file") tls_files.ca_file = value;
    else if (arg == "--cert-file") tls_files.cert_file = value;
    else if (arg == "--key-file") tls_files.key_file = value;
    else if (arg == "--ttl") ttl_s = std::atoll(value.c_str());
    else return usage("unknown option " + arg);
  }
  if (listen.empty() || service.empty() || zone.empty()) return usage("--listen, --service and --zone are required");
  const bool https = listen.rfind("https://", 0) == 0;
  if (https) listen.erase(0, std::strlen("https://"));
  auto bind = ezone::parse_host_port(listen);
  if (!bind) return usage(bind.status().message());
  auto node = ezone::parse_host_port(register_at.empty() ? "127.0.0.1:1" : register_at);
  if (!node) return usage("--register: " + node.status().message());
  if (ttl_s < 1 || ttl_s > 3600) return usage("--ttl takes 1..3600 seconds");
  auto admin_token = ezone::client_admin_token(token_file, "--admin-token-file");
  if (!admin_token) return usage(admin_token.status().message());
  // The registrant's, towards node.admin; serving needs no CA.
  ezone::net::TlsContextPtr client_tls;
  if (!register_at.empty()) {
    auto tls = ezone::net::client_tls_from_options(tls_files);
    if (!tls) return usage(tls.status().message());
    client_tls = *tls;
  }

  ezone::Metrics metrics(zone);
  ezone::HttpServerOptions options;
  options.name = "soa_echo";
  options.config_key = "--listen";
  options.bind = *bind;
  if (https) {
    if (tls_files.cert_file.empty() || tls_files.key_file.empty())
      return usage("--listen https:// needs --cert-file and --key-file");
    auto served = ezone::net::TlsContext::server({tls_files.cert_file, tls_files.key_file, ""});
    if (!served) return usage(served.status().message());
    options.tls = *served;
  }
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
  std::fprintf(stderr, "soa_echo: service %s of zone %s on %s%s\n", service.c_str(), zone.c_str(),
               https ? "https://" : "", listen.c_str());
  std::unique_ptr<ezone::SoaRegistrant> registrant;
  if (!register_at.empty()) {
    ezone::SoaRegistrantOptions o;
    o.node = *node;
    o.service = service;
    o.address = listen;
    o.ttl_s = ttl_s;
    o.admin_token = *admin_token;
    o.admin_token_file = token_file;  // re-read before every call: rotations need no restart
    o.on_change = say;
    o.tls = client_tls;
    registrant = std::make_unique<ezone::SoaRegistrant>(std::move(o));
  }
  while (!g_stop) ::usleep(100 * 1000);
  if (registrant) registrant->stop();  // deregisters while the instance still answers
  (*server)->stop();
  return 0;
}
