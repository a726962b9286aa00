// The takeout app in two real Nodes (bj and sh in one process, fences from
// tests/data/fences/good): every entrance, requests entering at the wrong
// zone, the order state machine, bad input, and replication of the result.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>

#include "actors/gzs/gzs.hpp"
#include "actors/node/admin_cache.hpp"
#include "examples/takeout/takeout_app.hpp"
#include "storage/dal/dal.hpp"
#include "storage/net/http_client.hpp"
#include "tests/actors/node_fixture.hpp"
#include "tests/actors/otlp_collector.hpp"
#include "tests/support/eventually.hpp"
#include "zones/routing/order_id.hpp"

namespace ezone {
namespace {

using nlohmann::json;
using test::eventually;

// Points inside the test fences (GeoJSON is lon, lat): a_square [0,2]x[0,2]
// is shard 1 "squares" (bj's); c_donut [5,9]x[0,4], outside its hole
// [6,8]x[1,3], is shard 2 "rings" (sh's).
struct Point {
  double lat, lon;
};
constexpr Point kBjPoint{1.0, 1.0};
constexpr Point kShPoint{2.0, 5.5};

struct Answer {
  int status = 0;
  json body;
  std::string served_by;  // the X-Ezone header
};

class TakeoutTest : public test::TwoNodeTest {
 protected:
  void SetUp() override {
    TwoNodeTest::SetUp();
    const std::string src = EZONE_TEST_SOURCE_DIR;
    configure = [src, extra = extra_config](NodeConfig& c) {
      if (extra) extra(c);
      c.gzs.fences_dir = src + "/tests/data/fences/good";
      c.dal.enabled = true;
      c.dal.schema_file = src + "/config/schemas/takeout.toml";
      c.dal.db_file = c.data_dir + "/" + c.ezone + ".db";
      c.dal.synchronous_full = false;
      c.drc.pull_wait_ms = 200;
      c.drc.pull_timeout_ms = 1000;
      c.drc.retry_ms = 50;
      c.cache.tables = {"orders"};
    };
    app = takeout_app();
    auto bj = start("bj", {}, src + "/config/shards/test-fences.toml");
    ASSERT_TRUE(bj.ok()) << bj.status().to_string();
    bj_ = std::move(*bj);
    auto sh = start("sh", {}, src + "/config/shards/test-fences.toml");
    ASSERT_TRUE(sh.ok()) << sh.status().to_string();
    sh_ = std::move(*sh);
  }
  void TearDown() override {
    if (sh_) sh_->stop();
    if (bj_) bj_->stop();
    TwoNodeTest::TearDown();
  }

  // Set before SetUp by a fixture that needs more in every node's config.
  std::function<void(NodeConfig&)> extra_config;

  uint16_t port(const std::string& ezone) const { return ezone == "bj" ? bj_ports_.http : sh_ports_.http; }

  Answer call(const std::string& entry, const std::string& method, const std::string& target,
              const std::string& body = "", std::vector<std::pair<std::string, std::string>> headers = {}) {
    net::HttpRequest req;
    req.method = method;
    req.target = target;
    req.body = body;
    req.headers = std::move(headers);
    if (!body.empty()) req.content_type = "application/json";
    auto r = net::HttpConnection({"127.0.0.1", port(entry)}).request(req, 5000);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok()) return {};
    return {r->status, json::parse(r->body, nullptr, false), r->header("X-Ezone")};
  }

  // A write that a zone refuses (503) until its etcd session holds the
  // ownership lease, which takes a moment after start: retried until then.
  Answer call_when_leased(const std::string& entry, const std::string& target, const json& body) {
    Answer a;
    eventually([&] {
      a = call(entry, "POST", target, body.dump());
      return a.status != 503;
    });
    return a;
  }

  int64_t create_merchant(const std::string& entry, Point p, const std::string& owner) {
    Answer a = call_when_leased(entry, "/v1/merchants", {{"name", "Dumplings"}, {"lat", p.lat}, {"lon", p.lon}});
    EXPECT_EQ(a.status, 201) << a.body.dump();
    EXPECT_EQ(a.served_by, owner);
    return a.body.value("id", int64_t{0});
  }

  json order_body(int64_t merchant, Point p, int64_t amount = 2500) {
    return {{"user_id", 1}, {"merchant_id", merchant}, {"lat", p.lat}, {"lon", p.lon}, {"amount_cents", amount}};
  }

  int64_t create_order(const std::string& entry, int64_t merchant, Point p, const std::string& owner) {
    Answer a = call_when_leased(entry, "/v1/orders", order_body(merchant, p));
    EXPECT_EQ(a.status, 201) << a.body.dump();
    EXPECT_EQ(a.served_by, owner);
    EXPECT_EQ(a.body.value("served_by", ""), owner);
    EXPECT_EQ(a.body.value("state", ""), "created");
    return a.body.value("id", int64_t{0});
  }

  Answer step(const std::string& entry, int64_t order, const std::string& verb) {
    return call(entry, "POST", "/v1/orders/" + std::to_string(order) + "/" + verb);
  }

  // The order's state as a node's database holds it ("" when absent).
  static std::string state_at(Node& node, int64_t order) {
    auto rows = node.dal()->query("SELECT state FROM orders WHERE id = ?1", {order});
    if (!rows.ok() || rows->empty()) return "";
    return std::get<std::string>((*rows)[0][0]);
  }

  uint64_t bad_requests(Node& node, const std::string& endpoint) {
    const std::string metrics = node.metrics().render();
    const std::string prefix = "ezone_takeout_bad_requests_total{ezone=\"" + node.config().ezone +
                               "\",endpoint=\"" + endpoint + "\"} ";
    const size_t at = metrics.find(prefix);
    return at == std::string::npos ? 0 : std::stoull(metrics.substr(at + prefix.size()));
  }

  std::unique_ptr<Node> bj_, sh_;
};

TEST_F(TakeoutTest, UsersRegisterAtTheMasterFromEitherZone) {
  Answer li = call_when_leased("sh", "/v1/users", {{"phone", "+86 138 0000 0001"}, {"name", "Li Lei"}});
  ASSERT_EQ(li.status, 201) << li.body.dump();
  EXPECT_EQ(li.served_by, "bj") << "users are written at their master, bj";
  EXPECT_EQ(li.body["served_by"], "bj");
  EXPECT_EQ(li.body["phone"], "+86 138 0000 0001");
  Answer han = call("bj", "POST", "/v1/users", json{{"phone", "13900000002"}, {"name", "Han Meimei"}}.dump());
  ASSERT_EQ(han.status, 201) << han.body.dump();
  EXPECT_NE(han.body["id"], li.body["id"]);

  for (const std::string entry : {"bj", "sh"}) {
    Answer dup = call(entry, "POST", "/v1/users", json{{"phone", "13900000002"}, {"name", "Someone"}}.dump());
    EXPECT_EQ(dup.status, 409) << entry << ": " << dup.body.dump();
    EXPECT_EQ(dup.body.value("error", ""), "phone 13900000002 is already registered");
    EXPECT_EQ(dup.served_by, "bj");
  }
  ASSERT_TRUE(eventually([&] {
    auto rows = sh_->dal()->query("SELECT name FROM users WHERE phone = '13900000002'");
    return rows.ok() && rows->size() == 1 && std::get<std::string>((*rows)[0][0]) == "Han Meimei";
  })) << "the user reached sh by replication";
}

TEST_F(TakeoutTest, AnOrderRunsEveryStepInItsOwnZoneWhereverItEnters) {
  const int64_t merchant = create_merchant("sh", kBjPoint, "bj");
  auto parts = decode_order_id(static_cast<uint64_t>(merchant));
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ(parts->shard, 1u) << "a merchant id carries its shard";
  const int64_t order = create_order("sh", merchant, kBjPoint, "bj");
  EXPECT_EQ(decode_order_id(static_cast<uint64_t>(order))->shard, 1u);

  const struct {
    const char* entry;
    const char* verb;
    const char* state;
  } steps[] = {{"sh", "accept", "accepted"}, {"bj", "pickup", "picked_up"}, {"sh", "deliver", "delivered"}};
  for (const auto& s : steps) {
    Answer a = step(s.entry, order, s.verb);
    EXPECT_EQ(a.status, 200) << s.verb << ": " << a.body.dump();
    EXPECT_EQ(a.served_by, "bj") << s.verb;
    EXPECT_EQ(a.body.value("state", ""), s.state);
    EXPECT_EQ(a.body.value("id", int64_t{0}), order);
  }
  Answer got = call("sh", "GET", "/v1/orders/" + std::to_string(order));
  ASSERT_EQ(got.status, 200) << got.body.dump();
  EXPECT_EQ(got.served_by, "bj");
  EXPECT_EQ(got.body["state"], "delivered");
  EXPECT_EQ(got.body["merchant_id"], merchant);
  EXPECT_EQ(got.body["user_id"], 1);
  EXPECT_EQ(got.body["amount_cents"], 2500);
  EXPECT_EQ(got.body["shard"], 1);
  EXPECT_GE(got.body["updated_ms"].get<int64_t>(), got.body["created_ms"].get<int64_t>());
  EXPECT_TRUE(eventually([&] { return state_at(*sh_, order) == "delivered"; })) << "replicated to sh";

  // The mirror image: an order of sh's shard entering bj.
  const int64_t sh_merchant = create_merchant("bj", kShPoint, "sh");
  const int64_t sh_order = create_order("bj", sh_merchant, kShPoint, "sh");
  Answer accepted = step("bj", sh_order, "accept");
  EXPECT_EQ(accepted.status, 200) << accepted.body.dump();
  EXPECT_EQ(accepted.served_by, "sh");
  EXPECT_TRUE(eventually([&] { return state_at(*bj_, sh_order) == "accepted"; })) << "replicated to bj";
  EXPECT_EQ(state_at(*sh_, sh_order), "accepted");
}

TEST_F(TakeoutTest, OrderReadsComeFromTheRowCacheAndNeverLagAWrite) {
  auto lookups = [&](const std::string& result) {
    const std::string metrics = bj_->metrics().render();
    const std::string prefix = "ezone_cache_lookups_total{ezone=\"bj\",result=\"" + result + "\"} ";
    const size_t at = metrics.find(prefix);
    return at == std::string::npos ? 0 : std::stoull(metrics.substr(at + prefix.size()));
  };
  const int64_t merchant = create_merchant("bj", kBjPoint, "bj");
  const int64_t order = create_order("bj", merchant, kBjPoint, "bj");
  const std::string path = "/v1/orders/" + std::to_string(order);
  const uint64_t hits_before = lookups("hit");
  for (const auto& [verb, state] : {std::pair<const char*, const char*>{"accept", "accepted"},
                                    {"pickup", "picked_up"}, {"deliver", "delivered"}}) {
    // A read fills the cache (or hits what the last read after a write
    // filled); the next one hits it.
    for (int i = 0; i < 2; ++i) {
      Answer before = call("sh", "GET", path);
      ASSERT_EQ(before.status, 200) << before.body.dump();
      EXPECT_EQ(before.served_by, "bj");
      EXPECT_EQ(before.body.value("served_by", ""), "bj");
    }
    ASSERT_EQ(step("bj", order, verb).status, 200) << verb;
    // The write was answered, so the next read sees it.
    Answer after = call("sh", "GET", path);
    ASSERT_EQ(after.status, 200) << after.body.dump();
    EXPECT_EQ(after.body.value("state", ""), state) << verb;
    EXPECT_EQ(after.body.value("amount_cents", int64_t{0}), 2500);
  }
  // Per step: the second read before it, and (after the first) the first too.
  EXPECT_EQ(lookups("hit") - hits_before, 5u);
  // An unknown order is not cached: 404 every time.
  for (int i = 0; i < 2; ++i) EXPECT_EQ(call("bj", "GET", "/v1/orders/" + std::to_string(order + 1)).status, 404);

  // What operators see (ezctl status).
  auto admin = net::http_request({"127.0.0.1", bj_ports_.admin}, "GET", "/admin/v1/cache", "", "", 5000);
  ASSERT_TRUE(admin.ok() && admin->status == 200) << (admin.ok() ? admin->body : admin.status().to_string());
  const json doc = json::parse(admin->body);
  EXPECT_EQ(doc["ezone"], "bj");
  EXPECT_EQ(doc["tables"], json::array({"orders"}));
  EXPECT_EQ(doc["lookups"]["hit"].get<uint64_t>(), lookups("hit"));
  EXPECT_EQ(doc["fills"]["stored"].get<uint64_t>(), 4u);  // a read after the create and after each step
  EXPECT_GE(doc["invalidations"].get<uint64_t>(), 4u);
  EXPECT_EQ(doc["clears"], json::object());
  EXPECT_EQ(doc["off"], false);
  HttpRequest post;
  post.method = "POST";
  post.target = "/admin/v1/cache";
  EXPECT_EQ(handle_cache_admin(nullptr, "bj", post)->status, 405);
  post.method = "GET";
  EXPECT_EQ(handle_cache_admin(nullptr, "bj", post)->status, 404) << "a node without [cache]";
  post.target = "/admin/v1/other";
  EXPECT_FALSE(handle_cache_admin(nullptr, "bj", post).has_value());
}

TEST_F(TakeoutTest, InvalidTransitionsAreConflicts) {
  const int64_t merchant = create_merchant("bj", kBjPoint, "bj");
  const int64_t order = create_order("bj", merchant, kBjPoint, "bj");
  const std::string id = std::to_string(order);
  ASSERT_EQ(step("bj", order, "accept").status, 200);

  Answer twice = step("sh", order, "accept");
  EXPECT_EQ(twice.status, 409);
  EXPECT_EQ(twice.body.value("error", ""), "order " + id + " is accepted; accept needs created");
  Answer early = step("bj", order, "deliver");
  EXPECT_EQ(early.status, 409);
  EXPECT_EQ(early.body.value("error", ""), "order " + id + " is accepted; deliver needs picked_up");
  EXPECT_EQ(state_at(*bj_, order), "accepted") << "a refused step changes nothing";

  auto unknown = encode_order_id(OrderIdParts{1, 1000, 3, 7});  // shard 1, never minted
  ASSERT_TRUE(unknown.ok());
  const std::string unknown_id = std::to_string(*unknown);
  Answer missing = call("sh", "POST", "/v1/orders/" + unknown_id + "/pickup");
  EXPECT_EQ(missing.status, 409);
  EXPECT_EQ(missing.body.value("error", ""), "unknown order " + unknown_id);
  EXPECT_EQ(missing.served_by, "bj");
  Answer not_found = call("bj", "GET", "/v1/orders/" + unknown_id);
  EXPECT_EQ(not_found.status, 404);
  EXPECT_EQ(not_found.body.value("error", ""), "unknown order " + unknown_id);
}

TEST_F(TakeoutTest, OrdersNeedAMerchantOfTheirShard) {
  const int64_t bj_merchant = create_merchant("bj", kBjPoint, "bj");
  Answer elsewhere = call_when_leased("bj", "/v1/orders", order_body(bj_merchant, kShPoint));
  EXPECT_EQ(elsewhere.status, 409) << elsewhere.body.dump();
  EXPECT_EQ(elsewhere.served_by, "sh");
  EXPECT_NE(elsewhere.body.value("error", "").find("is in shard 1, but the delivery point is in shard 2"),
            std::string::npos)
      << elsewhere.body.dump();

  auto ghost = encode_order_id(OrderIdParts{1, 1000, 3, 7});
  ASSERT_TRUE(ghost.ok());
  Answer unknown = call("bj", "POST", "/v1/orders", order_body(static_cast<int64_t>(*ghost), kBjPoint).dump());
  EXPECT_EQ(unknown.status, 409) << unknown.body.dump();
  EXPECT_EQ(unknown.body.value("error", ""), "unknown merchant " + std::to_string(*ghost) + " in shard 1");
}

TEST_F(TakeoutTest, BadInputIsA400WithAClearMessage) {
  const int64_t merchant = create_merchant("bj", kBjPoint, "bj");
  struct Case {
    std::string target, body, error;
  };
  const json good = order_body(merchant, kBjPoint);
  auto with = [&](const char* field, json value) {
    json b = good;
    b[field] = std::move(value);
    return b.dump();
  };
  auto without = [&](const char* field) {
    json b = good;
    b.erase(field);
    return b.dump();
  };
  const Case cases[] = {
      {"/v1/users", "{not json", "the body is not valid JSON: parse error at line 1, column 3"},
      // Regression: this body (a 1 MiB version of it) killed the node: the
      // parse succeeded and quoting the value in the error overflowed the stack.
      {"/v1/users", "{\"phone\":" + std::string(200000, '[') + std::string(200000, ']') + "}",
       "the body is not valid JSON: nested deeper than 64 levels at byte 72"},
      {"/v1/users", "[1,2]", "the body must be a JSON object"},
      {"/v1/users", R"({"name":"x"})", "'phone' is missing"},
      {"/v1/users", R"({"phone":12345,"name":"x"})", "'phone' must be a string, not 12345"},
      {"/v1/users", R"({"phone":"call me","name":"x"})", "'phone' must be digits, optionally with '+', '-' and spaces"},
      {"/v1/users", R"({"phone":"123","name":""})", "'name' is empty"},
      {"/v1/orders", without("user_id"), "'user_id' is missing"},
      {"/v1/orders", with("user_id", "abc"), "user_id 'abc' must be decimal digits only"},
      {"/v1/orders", with("merchant_id", 1.5), "'merchant_id' must be an integer, not 1.5"},
      {"/v1/orders", with("amount_cents", 0), "'amount_cents' is out of range: 0 (allowed: 1..100000000)"},
      {"/v1/orders", with("amount_cents", "12"), "'amount_cents' must be an integer, not \"12\""},
      {"/v1/merchants", R"({"lat":1.0,"lon":1.0})", "'name' is missing"},
  };
  for (const Case& c : cases) {
    Answer a = call("sh", "POST", c.target, c.body);
    EXPECT_EQ(a.status, 400) << c.target << " " << c.body.substr(0, 80) << ": " << a.body.dump();
    // The expected error, or its start where the rest is the JSON parser's detail.
    const std::string error = a.body.value("error", "");
    EXPECT_EQ(error.substr(0, c.error.size()), c.error) << c.target << " " << c.body.substr(0, 80);
  }
  // Served where the key's owner is: users and bj-point orders at bj.
  EXPECT_EQ(bad_requests(*bj_, "create_user"), 7u);
  EXPECT_EQ(bad_requests(*bj_, "create_order"), 5u);
  EXPECT_EQ(bad_requests(*bj_, "create_merchant"), 1u);

  // Keys the router cannot read are its 400s, before the app.
  const std::string deep = std::string(1 << 19, '[') + std::string(1 << 19, ']');  // the 1 MiB body limit
  // Bytes that are not UTF-8, which the parser's message quotes: a 400, not
  // a 500 from encoding the error (regression, found by fuzzing).
  const std::string latin1 = "{\"lat\": 39.9, \"lon\": 116\xcd" "4}";
  for (const std::string& body : {with("lat", 91.0), std::string("{oops"), deep, latin1}) {
    Answer a = call("bj", "POST", "/v1/orders", body);
    EXPECT_EQ(a.status, 400) << body.substr(0, 80) << ": " << a.body.dump();
  }
  EXPECT_EQ(call("bj", "POST", "/v1/orders", deep).body.value("error", ""),
            "request body: is not valid JSON: nested deeper than 64 levels at byte 64");
  Answer not_a_number = call("bj", "POST", "/v1/orders/12ab/accept");
  EXPECT_EQ(not_a_number.status, 400) << not_a_number.body.dump();
}

// Both nodes export their spans to one collector.
class TracedTakeoutTest : public TakeoutTest {
 protected:
  void SetUp() override {
    extra_config = [c = &collector_](NodeConfig& config) {
      config.tracing.otlp_endpoint = c->address();
      config.tracing.flush_interval_ms = 50;
    };
    TakeoutTest::SetUp();
  }
  test::Collector collector_;
};

// An order created at the wrong zone, traced: the entry router forwards
// it, the owner's router serves it, and its transaction runs in the
// owner's DAL: three spans of one trace, each the child of the one before.
TEST_F(TracedTakeoutTest, AnOrderEnteringAtTheWrongZoneIsOneTraceAcrossBothSites) {
  const int64_t merchant = create_merchant("bj", kBjPoint, "bj");
  create_order("bj", merchant, kBjPoint, "bj");  // untraced: the lease is held now
  const std::string trace = "0af7651916cd43dd8448eb211c80319c";
  Answer a = call("sh", "POST", "/v1/orders", order_body(merchant, kBjPoint).dump(),
                  {{"traceparent", "00-" + trace + "-b7ad6b7169203331-01"}});
  ASSERT_EQ(a.status, 201) << a.body.dump();
  ASSERT_EQ(a.served_by, "bj");
  std::vector<json> spans;
  ASSERT_TRUE(eventually([&] {
    spans.clear();
    for (const json& s : collector_.spans())
      if (s["traceId"] == trace) spans.push_back(s);
    return spans.size() == 3;
  })) << spans.size();
  json entry, owner, dal;
  for (const json& s : spans) {
    if (s["scope"] == "ezone.dal") dal = s;
    else if (test::attr(s, "ezone") == "sh") entry = s;
    else owner = s;
  }
  ASSERT_TRUE(entry.is_object() && owner.is_object() && dal.is_object());
  EXPECT_EQ(entry["parentSpanId"], "b7ad6b7169203331");
  EXPECT_EQ(test::attr(entry, "ezone.outcome"), "forwarded");
  EXPECT_EQ(test::attr(entry, "ezone.forwarded_to"), "bj");
  EXPECT_EQ(owner["parentSpanId"], entry["spanId"]);
  EXPECT_EQ(test::attr(owner, "ezone"), "bj");
  EXPECT_EQ(test::attr(owner, "ezone.outcome"), "local");
  EXPECT_EQ(owner["name"], "POST /v1/orders");
  EXPECT_EQ(dal["parentSpanId"], owner["spanId"]);
  EXPECT_EQ(test::attr(dal, "ezone"), "bj");
  EXPECT_EQ(test::attr(dal, "ezone.shard"), "1");
  EXPECT_EQ(test::attr(dal, "ezone.dal.rows"), "1");
}

}  // namespace
}  // namespace ezone
