// A service instance for the SOA proxy's tests, on a loopback port.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/http/http_server.hpp"
#include "tests/actors/loopback_server.hpp"

namespace ezone::test {

// A service instance: answers GET /health with 200 while healthy (else
// 500), and every other request with what it received. With tls (a server
// context) it serves HTTPS.
struct Instance {
  std::string name;
  std::atomic<bool> healthy{true};
  std::atomic<int> calls{0};
  std::unique_ptr<Metrics> metrics = std::make_unique<Metrics>("instance");
  std::unique_ptr<HttpServer> server;

  explicit Instance(std::string n, net::TlsContextPtr tls = nullptr) : name(std::move(n)) {
    server = start_loopback_server(
        "instance",
        [this](const HttpRequest& r) {
          if (r.path() == "/health") return HttpResponse::text(healthy ? 200 : 500, healthy ? "ok" : "sick");
          ++calls;
          nlohmann::json body{{"instance", name},       {"method", r.method},
                              {"target", r.target},     {"body", r.body},
                              {"shard", r.header("x-ezone-shard")}, {"hops", r.header("x-ezone-hops")},
                              {"host", r.header("host")}, {"traceparent", r.header("traceparent")}};
          return HttpResponse::json(200, body.dump());
        },
        *metrics, std::move(tls));
  }
  ~Instance() {
    if (server) server->stop();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server->port()); }
};

}  // namespace ezone::test
