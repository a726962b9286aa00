// An OTLP/HTTP collector on loopback for tests: it records every span a
// node exports (actors/node/span_exporter.hpp).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/http/http_server.hpp"
#include "core/metrics.hpp"
#include "tests/actors/loopback_server.hpp"

namespace ezone::test {

// Records every export request's body; answers `status`.
struct Collector {
  std::atomic<int> status{200};
  std::mutex mutex;
  std::vector<nlohmann::json> requests;
  std::unique_ptr<Metrics> metrics = std::make_unique<Metrics>("collector");
  std::unique_ptr<HttpServer> server;

  Collector() {
    server = test::start_loopback_server(
        "collector",
        [this](const HttpRequest& r) {
          if (r.method != "POST" || r.path() != "/v1/traces" || r.header("content-type") != "application/json")
            return HttpResponse::text(400, "not an OTLP/JSON export");
          std::lock_guard<std::mutex> lock(mutex);
          requests.push_back(nlohmann::json::parse(r.body, nullptr, false));
          return HttpResponse::json(status, "{}");
        },
        *metrics);
  }
  ~Collector() {
    if (server) server->stop();
  }
  HostPort address() const { return {"127.0.0.1", server->port()}; }
  // Every span received, in order, with its scope's name added as "scope".
  std::vector<nlohmann::json> spans() {
    std::lock_guard<std::mutex> lock(mutex);
    std::vector<nlohmann::json> out;
    for (const nlohmann::json& r : requests)
      for (const nlohmann::json& scope : r["resourceSpans"][0]["scopeSpans"])
        for (nlohmann::json s : scope["spans"]) {
          s["scope"] = scope["scope"]["name"];
          out.push_back(std::move(s));
        }
    return out;
  }
  size_t request_count() {
    std::lock_guard<std::mutex> lock(mutex);
    return requests.size();
  }
};

// The value of a span's attribute as text (int64 values are strings in
// OTLP/JSON), "<absent>" when it has none.
inline std::string attr(const nlohmann::json& span, const std::string& key) {
  for (const nlohmann::json& a : span["attributes"])
    if (a["key"] == key) return a["value"].contains("stringValue") ? a["value"]["stringValue"] : a["value"]["intValue"];
  return "<absent>";
}

}  // namespace ezone::test
