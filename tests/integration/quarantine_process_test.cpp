// The return of a failed IDC with real ezoned processes (issue 6): bj
// acknowledges a change to an order that never reaches sh before bj goes
// dark; sh takes the shard over and changes the same order. When bj comes
// back it ships its outbox, both sites resolve the conflict the same way,
// and the order is quarantined on both: writes to it are refused until
// `ezctl quarantine resolve` at one site releases it everywhere (keeping
// the version standing, or, with --keep at the owner, the other one).
#include <gtest/gtest.h>

#include <thread>

#include "storage/net/http_client.hpp"
#include "tests/integration/dr_cluster_test.hpp"
#include "tests/support/eventually.hpp"

namespace ezone::test {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr ShardId kShard = 1;  // "squares", owned by bj in test-fences.toml
constexpr int64_t kOrder = 500;      // released, keeping the standing version
constexpr int64_t kKeptOrder = 501;  // released keeping bj's version, which lost

class QuarantineProcessTest : public DrClusterTest<> {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(make_dir());
    LocalClusterOptions options;
    options.timeouts_toml = "lease_ttl_s = 2\netcd_check_interval_ms = 200\n";
    options.extra_toml = "[dal]\nschema_file = \"" + dir_ + "/schema.toml\"\n\n[drc]\npull_wait_ms = 200\n"
                         "pull_timeout_ms = 1000\nretry_ms = 50\n\n[coordinator]\nauto_failover = true\n"
                         "skew_margin_ms = 300\n";
    ASSERT_NO_FATAL_FAILURE(start(std::move(options)));
  }

  // One statement through the zone's DAL HTTP API, at the epoch the zone
  // holds: {HTTP status, body}; {0, error} when the zone does not answer.
  std::pair<int, std::string> tx(const std::string& zone, const std::string& sql) {
    json body{{"shard", kShard},
              {"epoch", shard_route(*cluster_, zone, kShard).value("epoch", 0)},
              {"statements", {{{"sql", sql}}}}};
    net::HttpRequest req;
    req.method = "POST";
    req.target = "/dal/v1/tx";
    req.body = body.dump();
    req.content_type = "application/json";
    auto r = net::HttpConnection(cluster_->addresses(zone).http).request(req, 5000);
    if (!r.ok()) return {0, r.status().to_string()};
    return {r->status, r->body};
  }
  // The order's state at a zone (a read needs no shard); "" when unknown.
  std::string state_at(const std::string& zone, int64_t order = kOrder) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = "/dal/v1/tx";
    req.body = json{{"statements", {{{"sql", "SELECT state FROM orders WHERE id=" + std::to_string(order)}}}}}.dump();
    req.content_type = "application/json";
    auto r = net::HttpConnection(cluster_->addresses(zone).http).request(req, 5000);
    if (!r.ok() || r->status != 200) return "";
    const json doc = json::parse(r->body, nullptr, false);
    const json& rows = doc.is_object() ? doc["results"][0]["rows"] : json();
    return rows.is_array() && rows.size() == 1 ? rows[0][0].get<std::string>() : "";
  }
  std::pair<int, std::string> set_state(const std::string& zone, const std::string& state) {
    return tx(zone, "UPDATE orders SET state='" + state + "' WHERE id IN (" + std::to_string(kOrder) + "," +
                        std::to_string(kKeptOrder) + ")");
  }
  size_t quarantined_at(const std::string& zone) {
    json q = admin(zone, "/admin/v1/quarantine");
    return q.is_object() ? q["quarantined"].size() : SIZE_MAX;
  }
  // POST /admin/v1/quarantine/resolve with a raw body: the HTTP status.
  int resolve_raw(const std::string& zone, const std::string& body) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = "/admin/v1/quarantine/resolve";
    req.body = body;
    req.content_type = "application/json";
    auto r = net::HttpConnection(cluster_->addresses(zone).admin).request(req, 5000);
    return r.ok() ? r->status : 0;
  }
  std::string owner(const std::string& ask) { return shard_route(*cluster_, ask, kShard).value("owner", ""); }
};

TEST_F(QuarantineProcessTest, AnOrderWrittenOnBothSidesOfAFailoverIsQuarantinedUntilReleased) {
  std::pair<int, std::string> created;  // once bj holds its lease
  ASSERT_TRUE(eventually([&] {
    created = tx("bj", "INSERT OR REPLACE INTO orders(id, shard, state) VALUES(" + std::to_string(kOrder) +
                           ", 1, 'created'), (" + std::to_string(kKeptOrder) + ", 1, 'created')");
    return created.first == 200;
  }, seconds(20))) << created.second;
  ASSERT_TRUE(eventually([&] { return replication_caught_up(*cluster_); }, seconds(20)));

  // sh stops pulling; bj acknowledges a change sh never sees; bj goes dark.
  // (sh's long poll at bj must end first: bj answers it empty after
  // pull_wait_ms, 200 ms. A poll still open would carry the change to sh's
  // socket, and sh would read it when it wakes: the premise below checks.)
  ASSERT_TRUE(cluster_->process("sh").sigstop());
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto accepted = set_state("bj", "accepted");
  ASSERT_EQ(accepted.first, 200) << accepted.second;
  ASSERT_TRUE(cluster_->process("bj").sigstop());
  ASSERT_TRUE(cluster_->process("sh").sigcont());

  // sh fails bj over once bj's lease is gone, and changes the same order.
  ASSERT_TRUE(eventually([&] { return owner("sh") == "sh"; }, seconds(30))) << cluster_->log_tail("sh");
  ASSERT_EQ(state_at("sh"), "created") << "premise: bj's change must not have reached sh before bj went dark";
  std::pair<int, std::string> cancelled;
  ASSERT_TRUE(eventually([&] { return (cancelled = set_state("sh", "cancelled")).first == 200; }, seconds(20)))
      << cancelled.second;

  // bj returns and ships its outbox: the orders are quarantined on both sites.
  ASSERT_TRUE(cluster_->process("bj").sigcont());
  ASSERT_TRUE(eventually([&] { return quarantined_at("bj") == 2 && quarantined_at("sh") == 2; }, seconds(30)))
      << cluster_->log_tail("bj") << cluster_->log_tail("sh");
  ASSERT_TRUE(eventually([&] { return replication_caught_up(*cluster_); }, seconds(30)));
  json conflicts = admin("sh", "/admin/v1/drc/conflicts");
  ASSERT_TRUE(conflicts.is_object());
  EXPECT_EQ(conflicts["conflicts"].size(), 2u) << conflicts.dump(2);
  EXPECT_EQ(state_at("bj", kKeptOrder), "cancelled") << "sh's later change wins on every site";

  auto refused = set_state("sh", "delivered");
  EXPECT_EQ(refused.first, 409) << refused.second;
  EXPECT_NE(refused.second.find("quarantined"), std::string::npos) << refused.second;

  auto [list_code, list] = cluster_->ezctl("bj", {"quarantine", "list"});
  EXPECT_EQ(list_code, 0) << list;
  EXPECT_NE(list.find("[500]"), std::string::npos) << list;
  EXPECT_NE(list.find("bj,sh"), std::string::npos) << list;

  auto [bad_code, bad] = cluster_->ezctl("bj", {"quarantine", "resolve", "--table", "orders", "--pk", "502"});
  EXPECT_EQ(bad_code, 1) << bad;
  EXPECT_NE(bad.find("not quarantined"), std::string::npos) << bad;

  // A release at bj releases sh too.
  auto [code, out] = cluster_->ezctl("bj", {"quarantine", "resolve", "--table", "orders", "--pk", "500"});
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(eventually([&] { return quarantined_at("sh") == 1; }, seconds(20))) << cluster_->log_tail("sh");
  EXPECT_EQ(quarantined_at("bj"), 1u);

  // Keeping bj's version of the other order is a write: bj does not own the
  // shard now, so it is refused there and names why; at sh it is written
  // again as a new version, and every site ends with it.
  auto [away_code, away] =
      cluster_->ezctl("bj", {"quarantine", "resolve", "--table", "orders", "--pk", "501", "--keep", "bj"});
  EXPECT_EQ(away_code, 1) << away;
  EXPECT_NE(away.find("wrong_zone"), std::string::npos) << away;
  EXPECT_EQ(quarantined_at("bj"), 1u);
  for (const char* body : {R"({"table":"orders","pk":"501","keep":5})", R"({"table":"orders","pk":"501","keep":"bj@x"})",
                           R"({"table":"orders","pk":"501","keep":"@7"})", R"({"table":"orders","pk":"501","keep":"bj@0"})"})
    EXPECT_EQ(resolve_raw("sh", body), 400) << body;
  EXPECT_EQ(resolve_raw("sh", R"({"table":"orders","pk":"501","keep":"gz"})"), 404);
  EXPECT_EQ(quarantined_at("sh"), 1u);
  auto [keep_code, keep] =
      cluster_->ezctl("sh", {"quarantine", "resolve", "--table", "orders", "--pk", "501", "--keep", "bj"});
  ASSERT_EQ(keep_code, 0) << keep;
  EXPECT_NE(keep.find("kept the version bj wrote"), std::string::npos) << keep;
  EXPECT_EQ(state_at("sh", kKeptOrder), "accepted");
  ASSERT_TRUE(eventually([&] { return quarantined_at("bj") == 0 && state_at("bj", kKeptOrder) == "accepted"; },
                         seconds(20)))
      << cluster_->log_tail("bj");
  EXPECT_EQ(quarantined_at("sh"), 0u);
  EXPECT_EQ(state_at("bj", kOrder), "cancelled") << "a plain release keeps the standing version";
  auto delivered = set_state("sh", "delivered");
  EXPECT_EQ(delivered.first, 200) << delivered.second;
  ASSERT_TRUE(eventually([&] { return replication_caught_up(*cluster_); }, seconds(20)));
  json sum_bj = admin("bj", "/admin/v1/dal/checksum?table=orders");
  json sum_sh = admin("sh", "/admin/v1/dal/checksum?table=orders");
  EXPECT_EQ(sum_bj, sum_sh);
}

}  // namespace
}  // namespace ezone::test
