// An HttpServer on a free loopback port, for tests that need a peer that
// answers HTTP (service instances, collectors).
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "actors/http/http_server.hpp"

namespace ezone::test {

// Null (with a test failure) when the server cannot start. With tls (a
// server context) it serves HTTPS.
inline std::unique_ptr<HttpServer> start_loopback_server(const std::string& name, HttpHandler handler,
                                                         Metrics& metrics, net::TlsContextPtr tls = nullptr) {
  HttpServerOptions o;
  o.name = name;
  o.config_key = name;
  o.bind = {"127.0.0.1", 0};
  o.tls = std::move(tls);
  auto s = HttpServer::start(o, std::move(handler), metrics);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return s.ok() ? std::move(*s) : nullptr;
}

}  // namespace ezone::test
