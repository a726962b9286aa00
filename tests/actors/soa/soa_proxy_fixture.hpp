// The fixture of the SOA proxy's tests (soa_proxy_test.cpp,
// soa_proxy_trace_test.cpp): two real routers, bj and sh, each with its own
// proxy, a route table both resolve with, and helpers for calls.
#pragma once

#include "actors/soa/soa_proxy.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/http/http_server.hpp"
#include "actors/router/router.hpp"
#include "core/span.hpp"
#include "tests/actors/router/raw_http.hpp"
#include "tests/actors/soa/soa_instance.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/ports.hpp"

namespace ezone::soa_test {

using test::http_call;
using test::RawResponse;
using Steady = std::chrono::steady_clock;

inline HostPort address_of(const std::string& text) { return parse_host_port(text).value(); }

// key text -> owner, for both routers.
class Table {
 public:
  void set(const std::string& key, std::string owner, bool write_forbidden = false) {
    std::lock_guard<std::mutex> lock(mutex_);
    owners_[parse_sharding_key(key)->to_string()] = {std::move(owner), write_forbidden};
  }
  void site(const std::string& ezone, uint16_t port) {
    std::lock_guard<std::mutex> lock(mutex_);
    sites_[ezone] = {"127.0.0.1", port};
  }
  Result<Resolution> resolve(const ShardingKey& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    Resolution r;
    r.epoch = 5;
    if (key.kind == ShardingKey::Kind::ezone) {
      r.has_shard = false;
      r.owner = key.ezone;
    } else {
      auto it = owners_.find(key.to_string());
      if (it == owners_.end()) return Status(Errc::not_found, "unknown key " + key.to_string());
      r.shard = 11;
      r.owner = it->second.first;
      r.write_forbidden = it->second.second;
    }
    if (!sites_.count(r.owner)) return Status(Errc::not_found, "no ezone " + r.owner);
    r.owner_http = sites_[r.owner];
    return r;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::pair<std::string, bool>> owners_;
  std::map<std::string, HostPort> sites_;
};

struct Site {
  std::string ezone;
  std::mutex spans_mutex;
  std::vector<Span> spans;  // the proxy's and the router's, as a node's sink would get them
  std::vector<Span> spans_seen() {
    std::lock_guard<std::mutex> lock(spans_mutex);
    return spans;
  }
  SpanSink sink() {
    return [this](const Span& s) {
      std::lock_guard<std::mutex> lock(spans_mutex);
      spans.push_back(s);
    };
  }
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<SoaProxy> proxy;
  std::unique_ptr<RouterIngress> ingress;

  uint64_t counter(const std::string& name, MetricLabels labels) { return metrics->counter(name, "", labels).value(); }
  int64_t up(const std::string& service, const std::string& zone) {
    return metrics->gauge("ezone_soa_instances_up", "", {{"service", service}, {"instance_ezone", zone}}).value();
  }
  nlohmann::json status() { return nlohmann::json::parse(proxy->status_json()); }
};

inline SoaServiceConfig service(std::string name, SoaMode mode, std::vector<std::string> bj,
                                std::vector<std::string> sh, SoaFallback fallback = SoaFallback::all) {
  SoaServiceConfig s;
  s.name = std::move(name);
  s.mode = mode;
  s.fallback = fallback;
  std::vector<HostPort> b, h;
  for (auto& a : bj) b.push_back(address_of(a));
  for (auto& a : sh) h.push_back(address_of(a));
  s.instances = {{"bj", b}, {"sh", h}};
  return s;
}

class SoaProxyTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (Site* s : {&bj_, &sh_}) {
      if (s->ingress) s->ingress->stop();
      if (s->proxy) s->proxy->stop();
    }
  }

  // Starts both sites with these services and settings.
  void start(std::vector<SoaServiceConfig> services, SoaSettings settings = {}) {
    settings.services = std::move(services);
    if (settings.probe_interval_ms == 1000) settings.probe_interval_ms = 60000;  // tests that probe say so
    for (Site* s : {&bj_, &sh_}) start_site(*s, s == &bj_ ? "bj" : "sh", settings);
    for (Site* s : {&bj_, &sh_}) table_.site(s->ezone, s->ingress->port());
  }
  void start_site(Site& site, const std::string& ezone, const SoaSettings& settings) {
    site.ezone = ezone;
    site.metrics = std::make_unique<Metrics>(ezone);
    auto lanes = IoThreads::start(2, "rt-" + ezone);
    auto proxy = SoaProxy::start(ezone, {"bj", "sh"}, settings, lanes, *site.metrics, nullptr, site.sink());
    ASSERT_TRUE(proxy.ok()) << proxy.status().to_string();
    site.proxy = std::move(*proxy);
    RouterConfig c;
    c.ezone = ezone;
    c.on_span = [sink = site.sink()](const RouterSpan& r) {
      Span s;
      s.span_id = r.span_id;
      s.parent_id = r.parent_id;
      s.scope = "ezone.router";
      sink(s);
    };
    c.resolver = [t = &table_](const ShardingKey& k) { return t->resolve(k); };
    c.forwarder.response_timeout_ms = 3000;
    HttpServerOptions o;
    o.name = "http";
    o.config_key = "node.http";
    o.bind = {"127.0.0.1", 0};
    auto ingress = RouterIngress::start(std::move(c), site.proxy->endpoints(), o, *site.metrics, lanes);
    ASSERT_TRUE(ingress.ok()) << ingress.status().to_string();
    site.ingress = std::move(*ingress);
  }

  static nlohmann::json body_of(const RawResponse& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.status << " " << r.body;
    return j.is_discarded() ? nlohmann::json::object() : j;
  }
  RawResponse call(Site& entry, const std::string& method, const std::string& target, test::RawHeaders headers = {},
                   const std::string& body = "") {
    return http_call(entry.ingress->port(), method, target, headers, body);
  }

  Table table_;
  Site bj_;
  Site sh_;
};

// Stops and joins client threads, also when an assertion ends a test early.
struct JoinAll {
  std::atomic<bool>& done;
  std::vector<std::thread>& threads;
  ~JoinAll() {
    done = true;
    for (auto& t : threads)
      if (t.joinable()) t.join();
  }
};

inline std::string dead_address() { return "127.0.0.1:" + std::to_string(test::free_loopback_port()); }

}  // namespace ezone::soa_test
