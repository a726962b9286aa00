// Two routers in one process, bj and sh, each with its own ingress server on
// a loopback port and its own fake route table, so a test can make the
// tables agree, disagree, lag or forbid writes, and watch where each
// request is served (X-Ezone) and what each router counted.
#include <atomic>
#include "actors/router/router.hpp"

#include <gtest/gtest.h>

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

namespace ezone {
namespace {

using test::eventually;
using test::http_call;
using test::RawHeaders;
using test::RawResponse;
using Steady = std::chrono::steady_clock;

int64_t ms_since(Steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start).count();
}

std::string canonical(const std::string& key_text) {
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
AsyncHttpHandler serve_as(const std::string& ezone) {
  return make_async_handler([ezone](const HttpRequest& r) {
    nlohmann::json body{{"served_by", ezone}, {"path", r.path()}, {"hops", r.header("x-ezone-hops")},
                        {"via", r.header("x-ezone-via")}, {"peer_token_seen", r.find_header(kPeerTokenHeader) != nullptr},
                        {"body", r.body}};
    return HttpResponse::json(200, body.dump());
  });
}

std::vector<Endpoint> endpoints(const std::string& ezone) {
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
};

// Both routers share it, as the sites of one cluster do (route_trail.hpp,
// "Trust"): every test below routes with it unless it says otherwise.
const char* const kPeerToken = "test-peer-token-0123456789";

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
};

TEST_F(RouterTest, LocalOwnerIsServedLocally) {
  bj_.table.set("geo=39.9,116.4", "bj");
  auto r = order(bj_, "geo=39.9,116.4");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-ezone"), "bj");
  EXPECT_EQ(r.header("x-ezone-epoch"), "5");
  EXPECT_EQ(json_of(r)["served_by"], "bj");
  EXPECT_EQ(json_of(r)["hops"], "");
  EXPECT_EQ(bj_.requests("user", "local"), 1u);
  EXPECT_NE(bj_.metrics->render().find(
                "ezone_router_request_duration_seconds_count{ezone=\"bj\",entrance=\"user\",outcome=\"local\"} 1\n"),
            std::string::npos);
}

TEST_F(RouterTest, RemoteOwnerServesGeoMerchantAndOrderKeys) {
  for (const char* key : {"geo=31.23,121.47", "merchant=8812", "order=77001"}) {
    bj_.table.set(key, "sh");
    sh_.table.set(key, "sh");
  }
  auto geo = order(bj_, "geo=31.23,121.47");
  EXPECT_EQ(geo.status, 200) << geo.body;
  EXPECT_EQ(geo.header("x-ezone"), "sh");
  EXPECT_EQ(geo.header("x-ezone-epoch"), "5");
  EXPECT_EQ(json_of(geo)["served_by"], "sh");
  EXPECT_EQ(json_of(geo)["hops"], "1");
  EXPECT_EQ(json_of(geo)["via"], "bj@5");
  EXPECT_EQ(json_of(geo)["body"], "{}");

  auto menu = http_call(bj_.ingress->port(), "GET", "/v1/shops/8812/menu");
  EXPECT_EQ(menu.status, 200);
  EXPECT_EQ(menu.header("x-ezone"), "sh");
  auto accept = http_call(bj_.ingress->port(), "POST", "/v1/orders/77001/accept");
  EXPECT_EQ(accept.status, 200);
  EXPECT_EQ(accept.header("x-ezone"), "sh");
  EXPECT_EQ(json_of(accept)["path"], "/v1/orders/77001/accept");

  EXPECT_EQ(bj_.requests("user", "forwarded"), 2u);
  EXPECT_EQ(bj_.requests("merchant", "forwarded"), 1u);
  EXPECT_EQ(sh_.requests("user", "local"), 2u);
  EXPECT_EQ(sh_.requests("merchant", "local"), 1u);
}

TEST_F(RouterTest, KeysFromJsonBodies) {
  bj_.table.set("geo=31.2,121.5", "sh");
  sh_.table.set("geo=31.2,121.5", "sh");
  bj_.table.set("merchant=9", "bj");
  auto rider = http_call(bj_.ingress->port(), "POST", "/v1/riders/location", {}, R"({"lat":31.2,"lon":121.5})");
  EXPECT_EQ(rider.status, 200);
  EXPECT_EQ(rider.header("x-ezone"), "sh");
  EXPECT_EQ(json_of(rider)["body"], R"({"lat":31.2,"lon":121.5})");
  auto profile = http_call(bj_.ingress->port(), "POST", "/v1/merchant/profile", {}, R"({"merchant_id":"9"})");
  EXPECT_EQ(profile.status, 200);
  EXPECT_EQ(profile.header("x-ezone"), "bj");

  auto bad_json = http_call(bj_.ingress->port(), "POST", "/v1/riders/location", {}, "{lat:");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(json_of(bad_json)["reason"], "malformed_key");
  auto bad_lat = http_call(bj_.ingress->port(), "POST", "/v1/riders/location", {}, R"({"lat":95,"lon":1})");
  EXPECT_EQ(bad_lat.status, 400);
  EXPECT_NE(bad_lat.body.find("outside -90..90"), std::string::npos) << bad_lat.body;
  EXPECT_EQ(bj_.rejections("rider", "malformed_key"), 2u);
}

TEST_F(RouterTest, HopLimit) {
  bj_.table.set("merchant=1", "sh");
  sh_.table.set("merchant=1", "sh");
  // Already over the limit when it arrives.
  auto over = order(bj_, "merchant=1", {{"X-Ezone-Hops", "4"}});
  EXPECT_EQ(over.status, 508);
  EXPECT_EQ(json_of(over)["reason"], "hop_limit");
  EXPECT_EQ(over.header("x-ezone"), "bj");
  // At the limit: serving here would be fine, but one more forward is not.
  auto at = order(bj_, "merchant=1", {{"X-Ezone-Hops", "3"}});
  EXPECT_EQ(at.status, 508);
  EXPECT_EQ(bj_.rejections("user", "hop_limit"), 2u);
  EXPECT_EQ(sh_.requests("user", "local"), 0u);
  // Malformed hop counts are a client error, not a loop.
  EXPECT_EQ(order(bj_, "merchant=1", {{"X-Ezone-Hops", "many"}}).status, 400);
  EXPECT_EQ(bj_.rejections("user", "bad_header"), 1u);
}

TEST_F(RouterTest, DisagreeingTablesAtOneEpochAreALoop) {
  bj_.table.set("merchant=2", "sh", 5);
  sh_.table.set("merchant=2", "bj", 5);
  auto r = order(bj_, "merchant=2");
  EXPECT_EQ(r.status, 508);
  EXPECT_EQ(json_of(r)["reason"], "loop");
  EXPECT_EQ(r.header("x-ezone"), "bj");  // bj saw it come back
  EXPECT_EQ(bj_.rejections("user", "loop"), 1u);
  EXPECT_EQ(bj_.requests("user", "forwarded"), 1u);
  EXPECT_EQ(sh_.requests("user", "forwarded"), 1u);
}

TEST_F(RouterTest, NewerEpochReforwardsAndStaleRouterHoldsUntilItCatchesUp) {
  // bj (epoch 5) still thinks sh owns the shard; sh (epoch 6) knows it moved
  // to bj. sh must re-forward rather than serve; bj, now behind the sender,
  // must hold rather than route with its stale table.
  bj_.table.set("merchant=3", "sh", 5);
  sh_.table.set("merchant=3", "bj", 6);
  auto answer = std::async(std::launch::async, [&] { return order(bj_, "merchant=3"); });
  ASSERT_TRUE(eventually([&] { return bj_.held() == 1; }));
  bj_.table.set("merchant=3", "bj", 6);  // bj catches up to epoch 6
  auto r = answer.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-ezone"), "bj");
  EXPECT_EQ(r.header("x-ezone-epoch"), "6");
  EXPECT_EQ(json_of(r)["via"], "bj@5,sh@6");
  EXPECT_EQ(sh_.requests("user", "forwarded"), 1u);
  EXPECT_EQ(bj_.holds("released"), 1u);
  EXPECT_EQ(bj_.held(), 0);
}

TEST_F(RouterTest, AClientCannotMakeARouterHoldByClaimingAnEpochOrAVia) {
  bj_.table.set("merchant=3", "bj", 5);
  // A future epoch from a client: not held (that would take a slot of
  // holds_max for up to hold_ms), served with bj's own table at once.
  for (const char* token : {"", "test-peer-token-012345678X"}) {
    RawHeaders forged{{"X-Ezone-Epoch", "99"}};
    if (*token) forged.emplace_back("X-Ezone-Peer", token);
    auto r = order(bj_, "merchant=3", forged);
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("x-ezone"), "bj");
    EXPECT_EQ(json_of(r)["peer_token_seen"], false);
  }
  EXPECT_EQ(bj_.untrusted(), 2u);
  EXPECT_EQ(bj_.holds("released") + bj_.holds("expired"), 0u);
  // A Via from a client does not make an unknown key wait for the merchant
  // map to catch up: 404 at once.
  auto started = Steady::now();
  auto unknown = order(bj_, "merchant=404", {{"X-Ezone-Via", "sh@5"}, {"X-Ezone-Hops", "1"}});
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_LT(ms_since(started), 390);
  EXPECT_EQ(bj_.untrusted(), 3u);
  EXPECT_EQ(bj_.holds("expired"), 0u);
  // Via still guards against loops: bj in it at its own epoch is a 508.
  auto looped = order(bj_, "merchant=3", {{"X-Ezone-Via", "bj@5"}, {"X-Ezone-Hops", "1"}});
  EXPECT_EQ(looped.status, 508) << looped.body;
  // A plain request claims nothing and is not counted.
  EXPECT_EQ(order(bj_, "merchant=3").status, 200);
  EXPECT_EQ(bj_.untrusted(), 4u);
}

TEST_F(RouterTest, ForwardsCarryThePeerTokenButHandlersNeverSeeIt) {
  bj_.table.set("merchant=7", "sh");
  sh_.table.set("merchant=7", "sh");
  auto r = order(bj_, "merchant=7", {{"X-Ezone-Peer", kPeerToken}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-ezone"), "sh");
  EXPECT_EQ(json_of(r)["peer_token_seen"], false);
  EXPECT_EQ(sh_.untrusted(), 0u);
  EXPECT_EQ(bj_.untrusted(), 0u);
}

TEST_F(RouterTest, WithoutAPeerTokenAClientsEpochIsTrusted) {
  // The behaviour before peer tokens, kept for a cluster that configures
  // none (an edge proxy strips the headers): a client's epoch is held.
  restart_bj("");
  bj_.table.set("merchant=3", "bj", 5);
  auto answer = std::async(std::launch::async, [&] { return order(bj_, "merchant=3", {{"X-Ezone-Epoch", "6"}}); });
  ASSERT_TRUE(eventually([&] { return bj_.held() == 1; }));
  bj_.table.set("merchant=3", "bj", 6);
  auto r = answer.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(bj_.untrusted(), 0u);
  EXPECT_EQ(bj_.holds("released"), 1u);
}

TEST_F(RouterTest, APeerWithoutTheTokenIsRoutedAsAClientAndNothingLoops) {
  // bj forwards without a token to sh, which has one: sh does not trust
  // bj's epoch, routes with its own newer table back to bj (with its
  // token, which bj, configured with none, trusts), and bj holds until it
  // catches up, as in the cluster where both have the token.
  restart_bj("");
  bj_.table.set("merchant=3", "sh", 5);
  sh_.table.set("merchant=3", "bj", 6);
  auto answer = std::async(std::launch::async, [&] { return order(bj_, "merchant=3"); });
  ASSERT_TRUE(eventually([&] { return bj_.held() == 1; }));
  bj_.table.set("merchant=3", "bj", 6);
  auto r = answer.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json_of(r)["via"], "bj@5,sh@6");
  EXPECT_EQ(sh_.untrusted(), 1u);
  // The other way round a stale sh is not held for bj's claim: the
  // request bounces back to bj, which finds itself in Via at its epoch.
  bj_.table.set("merchant=8", "sh", 6);
  sh_.table.set("merchant=8", "bj", 5);
  auto bounced = order(bj_, "merchant=8");
  EXPECT_EQ(bounced.status, 508) << bounced.body;
  EXPECT_EQ(json_of(bounced)["reason"], "loop");
}

TEST_F(RouterTest, StaleRouterThatNeverCatchesUpAnswers503) {
  bj_.table.set("merchant=4", "sh", 5);
  sh_.table.set("merchant=4", "bj", 6);
  auto started = Steady::now();
  auto r = order(bj_, "merchant=4");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json_of(r)["reason"], "stale_epoch");
  EXPECT_EQ(r.header("retry-after"), "2");
  EXPECT_GE(ms_since(started), 390);
  EXPECT_EQ(bj_.rejections("user", "stale_epoch"), 1u);
  EXPECT_EQ(bj_.holds("expired"), 1u);
}

TEST_F(RouterTest, AForwardedKeyTheOwnerHasNotLearntYetIsHeldUntilItHas) {
  // A merchant update reached bj but not yet sh (its etcd watch lags): bj
  // forwards to sh, which must not answer 404 for a key bj resolved.
  bj_.table.set("merchant=21", "sh");
  auto answer = std::async(std::launch::async, [&] { return order(bj_, "merchant=21"); });
  ASSERT_TRUE(eventually([&] { return sh_.held() == 1; }));
  sh_.table.set("merchant=21", "sh");
  auto r = answer.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-ezone"), "sh");
  EXPECT_EQ(sh_.holds("released"), 1u);

  // One it never learns is a 404 after the hold, naming why it waited.
  bj_.table.set("merchant=22", "sh");
  auto started = Steady::now();
  auto never = order(bj_, "merchant=22");
  EXPECT_EQ(never.status, 404) << never.body;
  EXPECT_EQ(json_of(never)["reason"], "unknown_key");
  EXPECT_NE(json_of(never)["error"].get<std::string>().find("the forwarding router knows it"), std::string::npos)
      << never.body;
  EXPECT_GE(ms_since(started), 390);
  EXPECT_EQ(sh_.holds("expired"), 1u);
  EXPECT_EQ(sh_.rejections("user", "unknown_key"), 1u);
}

TEST_F(RouterTest, WriteForbiddenShardGets503WithRetryAfter) {
  bj_.table.set("order=5", "bj", 7, /*write_forbidden=*/true);
  auto started = Steady::now();
  auto r = http_call(bj_.ingress->port(), "POST", "/v1/orders/5/accept");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "2");
  EXPECT_EQ(r.header("x-ezone-epoch"), "7");
  EXPECT_EQ(json_of(r)["reason"], "write_forbidden");
  EXPECT_EQ(json_of(r)["key"], "order=5");
  EXPECT_GE(ms_since(started), 390);  // held for hold_ms first
  EXPECT_EQ(bj_.rejections("merchant", "write_forbidden"), 1u);
  // Reads of a moving shard are still served.
  EXPECT_EQ(http_call(bj_.ingress->port(), "GET", "/v1/orders/5").status, 200);
}

TEST_F(RouterTest, AFencedZoneRefusesWritesToItsShardsAtTheRouter) {
  bj_.table.set("order=9", "bj");
  bj_.fenced = true;
  auto r = http_call(bj_.ingress->port(), "POST", "/v1/orders/9/accept");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "2");
  EXPECT_EQ(json_of(r)["reason"], "fenced");
  EXPECT_NE(json_of(r)["error"].get<std::string>().find("ezone bj is fenced: its lease was not renewed"),
            std::string::npos) << r.body;
  EXPECT_EQ(bj_.rejections("merchant", "fenced"), 1u);
  EXPECT_EQ(http_call(bj_.ingress->port(), "GET", "/v1/orders/9").status, 200);  // reads go on
  bj_.fenced = false;
  EXPECT_EQ(http_call(bj_.ingress->port(), "POST", "/v1/orders/9/accept").status, 200);
}

TEST_F(RouterTest, AnIsolatedZoneAnswersEveryRequest503AndForwardsNothing) {
  bj_.table.set("order=9", "bj");
  bj_.table.set("order=8", "sh");
  sh_.table.set("order=8", "sh");
  sh_.table.set("order=9", "bj");
  bj_.fault->isolate(60000);
  for (auto [method, target] : {std::pair{"POST", "/v1/orders/9/accept"}, std::pair{"GET", "/v1/orders/9"},
                                std::pair{"POST", "/v1/orders/8/accept"}, std::pair{"GET", "/internal/ping"}}) {
    auto r = http_call(bj_.ingress->port(), method, target);
    EXPECT_EQ(r.status, 503) << target;
    EXPECT_EQ(r.header("retry-after"), "2");
    EXPECT_EQ(json_of(r)["reason"], "isolated") << r.body;
  }
  EXPECT_EQ(sh_.requests("merchant", "local"), 0u);  // order=8 was not forwarded out
  // A peer's forward into the isolated zone is refused too (the answer
  // comes back through sh, which forwarded it).
  auto in = http_call(sh_.ingress->port(), "POST", "/v1/orders/9/accept");
  EXPECT_EQ(in.status, 503);
  EXPECT_EQ(json_of(in)["reason"], "isolated") << in.body;
  EXPECT_EQ(bj_.rejections("merchant", "isolated"), 3u);
  EXPECT_EQ(bj_.requests("merchant", "local") + bj_.requests("merchant", "forwarded"), 0u);

  bj_.fault->heal();
  EXPECT_EQ(http_call(bj_.ingress->port(), "POST", "/v1/orders/9/accept").status, 200);
  auto out = http_call(bj_.ingress->port(), "POST", "/v1/orders/8/accept");
  EXPECT_EQ(out.status, 200);
  EXPECT_EQ(out.header("x-ezone"), "sh");
}

TEST_F(RouterTest, ARequestHeldWhenTheZoneIsIsolatedIsNotServed) {
  bj_.table.set("order=5", "bj", 7, /*write_forbidden=*/true);
  std::thread isolate([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    bj_.fault->isolate(60000);
    bj_.table.set("order=5", "bj", 8);  // writable again, but the zone is dark now
  });
  auto r = http_call(bj_.ingress->port(), "POST", "/v1/orders/5/accept");
  isolate.join();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(json_of(r)["reason"], "isolated") << r.body;
  EXPECT_EQ(bj_.requests("merchant", "local"), 0u);
}

TEST_F(RouterTest, WriteForbiddenRemoteShardIsAnsweredAtTheEntrance) {
  bj_.table.set("order=6", "sh", 7, true);
  sh_.table.set("order=6", "sh", 7, true);
  auto r = http_call(bj_.ingress->port(), "POST", "/v1/orders/6/accept");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("x-ezone"), "bj");
  EXPECT_EQ(sh_.requests("merchant", "local") + sh_.requests("merchant", "rejected"), 0u);
}

TEST_F(RouterTest, HeldWriteIsServedWhenTheShardBecomesWritable) {
  bj_.table.set("order=8", "sh", 7, true);
  sh_.table.set("order=8", "sh", 8);
  auto answer = std::async(std::launch::async, [&] { return http_call(bj_.ingress->port(), "POST", "/v1/orders/8/accept"); });
  ASSERT_TRUE(eventually([&] { return bj_.held() == 1; }));
  bj_.table.set("order=8", "sh", 8);  // the switchover committed
  auto r = answer.get();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-ezone"), "sh");
  EXPECT_EQ(r.header("x-ezone-epoch"), "8");
  EXPECT_EQ(bj_.holds("released"), 1u);
}

TEST_F(RouterTest, ClientErrorsAreClearJson) {
  bj_.table.fail("merchant=13", Errc::invalid_argument);
  bj_.table.fail("merchant=14", Errc::unavailable);
  auto unknown = order(bj_, "geo=0,0");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(json_of(unknown)["reason"], "unknown_key");
  EXPECT_EQ(json_of(unknown)["key"], "geo=0.000000,0.000000");
  EXPECT_NE(json_of(unknown)["error"].get<std::string>().find("no fence"), std::string::npos);

  auto malformed = order(bj_, "geo=91,0");
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(json_of(malformed)["reason"], "malformed_key");
  EXPECT_NE(json_of(malformed)["error"].get<std::string>().find("latitude"), std::string::npos);
  EXPECT_EQ(order(bj_, "shoe=1").status, 400);

  auto missing = http_call(bj_.ingress->port(), "POST", "/v1/orders");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(json_of(missing)["reason"], "missing_key");

  EXPECT_EQ(order(bj_, "merchant=13").status, 400);
  auto unavailable = order(bj_, "merchant=14");
  EXPECT_EQ(unavailable.status, 503);
  EXPECT_EQ(unavailable.header("retry-after"), "2");

  auto no_endpoint = http_call(bj_.ingress->port(), "GET", "/v2/nothing");
  EXPECT_EQ(no_endpoint.status, 404);
  EXPECT_EQ(json_of(no_endpoint)["reason"], "no_endpoint");
  EXPECT_EQ(no_endpoint.header("x-ezone"), "bj");
  EXPECT_FALSE(no_endpoint.header("x-ezone-epoch").empty());
  EXPECT_EQ(http_call(bj_.ingress->port(), "DELETE", "/v1/orders").status, 405);
  auto bad_id = http_call(bj_.ingress->port(), "GET", "/v1/orders/12ab");
  EXPECT_EQ(bad_id.status, 400);
  EXPECT_NE(bad_id.body.find("path parameter {id}"), std::string::npos) << bad_id.body;

  EXPECT_EQ(bj_.rejections("user", "unknown_key"), 1u);
  EXPECT_EQ(bj_.rejections("user", "malformed_key"), 3u);
  EXPECT_EQ(bj_.rejections("user", "missing_key"), 1u);
  EXPECT_EQ(bj_.rejections("user", "unresolvable_key"), 1u);
  EXPECT_EQ(bj_.rejections("user", "unavailable"), 1u);
  EXPECT_EQ(bj_.rejections("none", "no_endpoint"), 1u);
  EXPECT_EQ(bj_.rejections("none", "method_not_allowed"), 1u);
}

TEST_F(RouterTest, UnshardedEndpointIsAlwaysLocal) {
  auto r = http_call(bj_.ingress->port(), "GET", "/internal/ping");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json_of(r)["served_by"], "bj");
  EXPECT_EQ(bj_.requests("internal", "local"), 1u);
}

TEST_F(RouterTest, OwnerRouterDownGets502Quickly) {
  bj_.table.site("cd", {"127.0.0.1", test::free_loopback_port()});
  bj_.table.set("merchant=20", "cd");
  auto started = Steady::now();
  auto r = order(bj_, "merchant=20");
  EXPECT_EQ(r.status, 502);
  EXPECT_LT(ms_since(started), 1000);
  EXPECT_EQ(r.header("x-ezone"), "bj");
  EXPECT_EQ(r.header("x-ezone-epoch"), "5");
}

TEST_F(RouterTest, OwnerRouterSilentGets504AfterTheTimeout) {
  auto silent = test::FakeHttpServer::start([](test::FakeConnection& c) {
    c.read_request();
    c.wait_for_stop(10000);
  });
  ASSERT_TRUE(silent.ok());
  bj_.table.site("cd", (*silent)->endpoint());
  bj_.table.set("merchant=21", "cd");
  auto started = Steady::now();
  auto r = order(bj_, "merchant=21");
  EXPECT_EQ(r.status, 504);
  EXPECT_GE(ms_since(started), 1490);
  EXPECT_EQ(order(bj_, "geo=1,1").status, 404);  // and bj keeps serving
}

TEST_F(RouterTest, ForwardingReusesConnections) {
  bj_.table.set("merchant=30", "sh");
  sh_.table.set("merchant=30", "sh");
  test::RawConnection client(bj_.ingress->port());
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(client.send(test::raw_request("POST", "/v1/orders", {{"X-Ezone-Key", "merchant=30"}}, "{}")));
    ASSERT_EQ(client.read_response().status, 200);
  }
  auto opened = bj_.metrics->counter("ezone_forwarder_connections_opened_total", "", {{"forwarder", "router"}}).value();
  EXPECT_EQ(opened, 1u);
}

TEST_F(RouterTest, MalformedRequestsDoNotStopRouting) {
  bj_.table.set("merchant=31", "sh");
  sh_.table.set("merchant=31", "sh");
  {
    test::RawConnection c(bj_.ingress->port());
    c.send("POST /v1/orders HTTP/1.1\r\nX-Ezone-Key merchant=31\r\n\r\n");
    EXPECT_EQ(c.read_response().status, 400);
  }
  {
    test::RawConnection c(bj_.ingress->port());
    c.send("POST /v1/orders HTTP/1.1\r\nContent-Length: 50\r\n\r\nshort");
    c.shutdown_send();
    EXPECT_TRUE(c.wait_closed(2000));
  }
  EXPECT_EQ(order(bj_, "merchant=31").header("x-ezone"), "sh");
}

}  // namespace
}  // namespace ezone
