// The fixture of the API router's tests: two routers in one process, bj and
// sh, each with its own ingress server on a loopback port and its own fake
// route table, so a test can make the tables agree, disagree, lag or forbid
// writes, and watch where each request is served (X-Ezone) and what each
// router counted. Used by router_test.cpp, router_trust_test.cpp and
// router_trace_test.cpp.
#pragma once

#include "actors/router/router.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/actors/router/raw_http.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/ports.hpp"

namespace ezone::router_test {

using test::eventually;
using test::http_call;
using test::RawHeaders;
using test::RawResponse;
using Steady = std::chrono::steady_clock;

inline int64_t ms_since(Steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start).count();
}

inline std::string canonical(const std::string& key_text) {
  auto key = parse_sharding_key(key_text);
  EXPECT_TRUE(key.ok()) << key_text;
  return key.ok() ? key->to_string() : key_text;
}

// One router's view of the world: key -> shard, owner, epoch, state. The
// test changes it while requests are in flight, so it is locked (a real
// GZS snapshot is immutable and swapped atomically instead).
class FakeTable {
 public:
  struct Entry {
    std::string owner;
    Epoch epoch = 5;
    bool write_forbidden = false;
    Errc error = Errc::ok;
  };
  void set(const std::string& key, std::string owner, Epoch epoch = 5, bool write_forbidden = false) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_[canonical(key)] = Entry{std::move(owner), epoch, write_forbidden, Errc::ok};
  }
  void fail(const std::string& key, Errc error) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_[canonical(key)] = Entry{"", 5, false, error};
  }
  void site(const std::string& ezone, HostPort address) {
    std::lock_guard<std::mutex> lock(mutex_);
    sites_[ezone] = std::move(address);
  }
  Result<Resolution> resolve(const ShardingKey& key) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = entries_.find(key.to_string());
    if (it == entries_.end()) return Status(Errc::not_found, "no fence contains " + key.to_string());
    const Entry& e = it->second;
    if (e.error != Errc::ok) return Status(e.error, std::string("resolver says ") + errc_name(e.error));
    Resolution r;
    r.shard = 11;
    r.owner = e.owner;
    r.owner_http = sites_.count(e.owner) ? sites_[e.owner] : HostPort{};
    r.write_forbidden = e.write_forbidden;
    r.epoch = e.epoch;
    return r;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, HostPort> sites_;
};

// A local handler: says who served it and what trail it arrived with.
inline AsyncHttpHandler serve_as(const std::string& ezone) {
  return make_async_handler([ezone](const HttpRequest& r) {
    nlohmann::json body{{"served_by", ezone}, {"path", r.path()}, {"hops", r.header("x-ezone-hops")},
                        {"via", r.header("x-ezone-via")}, {"peer_token_seen", r.find_header(kPeerTokenHeader) != nullptr},
                        {"service_token_seen", r.find_header(kServiceTokenHeader) != nullptr},
                        {"traceparent", r.header("traceparent")}, {"tracestate", r.header("tracestate")},
                        {"body", r.body}};
    return HttpResponse::json(200, body.dump());
  });
}

inline std::vector<Endpoint> endpoints(const std::string& ezone) {
  std::vector<Endpoint> e;
  e.push_back({"POST", "/v1/orders", Entrance::user, key_from_header(), Access::write, serve_as(ezone)});
  e.push_back({"GET", "/v1/orders/{id}", Entrance::user, key_from_path("id", ShardingKey::Kind::order), Access::read,
               serve_as(ezone)});
  e.push_back({"POST", "/v1/orders/{id}/accept", Entrance::merchant, key_from_path("id", ShardingKey::Kind::order),
               Access::write, serve_as(ezone)});
  e.push_back({"GET", "/v1/shops/{merchant_id}/menu", Entrance::user,
               key_from_path("merchant_id", ShardingKey::Kind::merchant), Access::read, serve_as(ezone)});
  e.push_back({"POST", "/v1/riders/location", Entrance::rider, key_from_body_geo(), Access::write, serve_as(ezone)});
  e.push_back({"POST", "/v1/merchant/profile", Entrance::merchant,
               key_from_body_id("merchant_id", ShardingKey::Kind::merchant), Access::write, serve_as(ezone)});
  e.push_back({"GET", "/internal/ping", Entrance::internal, nullptr, Access::read, serve_as(ezone)});
  e.push_back({"POST", "/internal/tx", Entrance::internal, key_from_header(), Access::write, serve_as(ezone)});
  return e;
}

struct Site {
  std::string ezone;
  FakeTable table;
  std::atomic<bool> fenced{false};  // what may_write answers
  std::shared_ptr<FaultState> fault = std::make_shared<FaultState>(SystemClock::instance());
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<RouterIngress> ingress;

  uint64_t requests(const char* entrance, const char* outcome) {
    return metrics->counter("ezone_router_requests_total", "", {{"entrance", entrance}, {"outcome", outcome}}).value();
  }
  uint64_t rejections(const char* entrance, const char* reason) {
    return metrics->counter("ezone_router_rejections_total", "", {{"entrance", entrance}, {"reason", reason}}).value();
  }
  int64_t held() { return metrics->gauge("ezone_router_held_requests", "").value(); }
  uint64_t untrusted() { return metrics->counter("ezone_router_untrusted_trails_total", "").value(); }
  uint64_t holds(const char* result) { return metrics->counter("ezone_router_holds_total", "", {{"result", result}}).value(); }
  uint64_t bad_traceparents() { return metrics->counter("ezone_router_bad_traceparents_total", "").value(); }

  // The spans this router reported (RouterConfig::on_span).
  std::mutex span_mutex;
  std::vector<RouterSpan> spans;
  std::vector<RouterSpan> spans_seen() {
    std::lock_guard<std::mutex> lock(span_mutex);
    return spans;
  }
};

// Both routers share it, as the sites of one cluster do (route_trail.hpp,
// "Trust"): every test below routes with it unless it says otherwise.
inline const char* const kPeerToken = "test-peer-token-0123456789";

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    start(bj_, "bj");
    start(sh_, "sh");
    for (Site* s : {&bj_, &sh_}) {
      s->table.site("bj", {"127.0.0.1", bj_.ingress->port()});
      s->table.site("sh", {"127.0.0.1", sh_.ingress->port()});
    }
  }
  void TearDown() override {
    bj_.ingress->stop();
    sh_.ingress->stop();
  }

  void start(Site& site, const std::string& ezone, const std::string& peer_token = kPeerToken) {
    site.ezone = ezone;
    site.metrics = std::make_unique<Metrics>(ezone);
    RouterConfig c;
    c.ezone = ezone;
    c.hops_max = 3;
    c.hold_ms = 400;
    c.forwarded_key_hold_ms = 400;
    c.hold_poll_ms = 5;
    c.retry_after_s = 2;
    c.resolver = [t = &site.table](const ShardingKey& k) { return t->resolve(k); };
    c.may_write = [f = &site.fenced](std::string* why) {
      if (*f) *why = "its lease was not renewed (test)";
      return !*f;
    };
    c.fault = site.fault;
    c.peer_token = peer_token;
    c.service_token = service_token_;
    c.on_span = [s = &site](const RouterSpan& span) {
      std::lock_guard<std::mutex> lock(s->span_mutex);
      s->spans.push_back(span);
    };
    // Longer than hold_ms: a request held at the far router must not time
    // out on its way back.
    c.forwarder.response_timeout_ms = 1500;
    c.forwarder.connect_timeout_ms = 500;
    HttpServerOptions o;
    o.name = "http";
    o.config_key = "node.http";
    o.bind = {"127.0.0.1", 0};
    o.threads = 2;
    auto ingress = RouterIngress::start(std::move(c), endpoints(ezone), std::move(o), *site.metrics);
    ASSERT_TRUE(ingress.ok()) << ingress.status().to_string();
    site.ingress = std::move(*ingress);
  }
  // Starts both routers again with this service token (new ports, fresh counts).
  void restart_with_service_token(const std::string& token) {
    TearDown();
    service_token_ = token;
    SetUp();
  }
  // Starts bj again with another peer token (a new port, a fresh count).
  void restart_bj(const std::string& peer_token) {
    bj_.ingress->stop();
    start(bj_, "bj", peer_token);
    for (Site* s : {&bj_, &sh_}) s->table.site("bj", {"127.0.0.1", bj_.ingress->port()});
  }

  static nlohmann::json json_of(const RawResponse& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.body;
    return j;
  }
  RawResponse order(Site& entry, const std::string& key, RawHeaders extra = {}) {
    extra.emplace_back("X-Ezone-Key", key);
    return http_call(entry.ingress->port(), "POST", "/v1/orders", extra, "{}");
  }

  Site bj_;
  Site sh_;
  std::string service_token_;  // RouterConfig::service_token of start()
};

}  // namespace ezone::router_test
