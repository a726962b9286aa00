// Fault injection with real processes: two zones, three etcd members (bj's,
// sh's and a witness), short leases, auto_failover, a client writing a shard
// that bj owns. POST /admin/v1/fault/isolate makes bj's IDC go dark while
// its process runs (what `ezctl drill idc-down` does), then heal brings it
// back. Checked, as invariants rather than timings:
//   - while isolated, bj's router answers 503 "isolated" (and acknowledges
//     nothing sent after the isolation began), sh's DRC cannot pull from it,
//     and bj reports itself fenced;
//   - sh takes over bj's shards by automatic failover (bj's lease expired,
//     nobody revoked it) and the client's writes go on at sh;
//   - after the heal bj registers with a new lease, becomes unfenced,
//     replication converges, every acknowledged write is at both sites, and
//     bj refuses a write to the shard it gave away.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include "storage/net/http_client.hpp"
#include "tests/integration/dr_cluster_test.hpp"
#include "tests/integration/shard_writer.hpp"
#include "tests/support/eventually.hpp"

namespace ezone::test {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr ShardId kShard = 1;  // "squares", owned by bj at start

class FaultProcessTest : public DrClusterTest<> {
 protected:
  void SetUp() override { start_dr_cluster("[admin]\nallow_fault_injection = true\n"); }

  std::string owner_seen_by(const std::string& ezone) { return shard_route(*cluster_, ezone, kShard).value("owner", ""); }
  // POST on a zone's admin API: {status, parsed body (null when not JSON)}.
  std::pair<int, json> admin_post(const std::string& ezone, const std::string& target, const std::string& body = "") {
    auto r = net::http_request(cluster_->addresses(ezone).admin, "POST", target, body,
                               body.empty() ? "" : "application/json", 5000);
    if (!r) return {0, json(r.status().to_string())};
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  // One order written straight to a zone's router (no client-side routing).
  Result<net::HttpResponse> write_at(const std::string& ezone, int64_t id) {
    const int64_t epoch = shard_route(*cluster_, ezone, kShard).value("epoch", int64_t{0});
    json body{{"shard", kShard},
              {"epoch", epoch},
              {"statements", {{{"sql", "INSERT INTO orders(id, shard, state) VALUES(?1, ?2, 'created')"},
                               {"params", {id, kShard}}}}}};
    return net::http_request(cluster_->addresses(ezone).http, "POST", "/dal/v1/tx", body.dump(), "application/json",
                             5000);
  }
  std::string drc_error_at(const std::string& ezone, const std::string& origin) {
    json drc = admin(ezone, "/admin/v1/drc");
    if (!drc.is_object()) return "";
    for (const json& p : drc["peers"])
      if (p.value("origin", "") == origin) return p.value("last_error", "");
    return "";
  }
  std::string logs() { return cluster_->log_tail("bj") + "\n----- sh -----\n" + cluster_->log_tail("sh"); }
};

TEST_F(FaultProcessTest, IsolatedIdcIsFailedOverAndHealsWithNothingLost) {
  ShardWriter writer(*cluster_, ShardWriterOptions{kShard, /*first_id=*/1, /*threads=*/2, /*rate_per_s=*/200});
  writer.start();
  ASSERT_TRUE(eventually([&] { return writer.acked() >= 50; }, seconds(30))) << writer.last_refusal() << logs();
  ASSERT_EQ(owner_seen_by("sh"), "bj");
  const int64_t lease_before = admin("bj", "/admin/v1/cluster")["etcd"].value("lease_id", int64_t{0});
  ASSERT_NE(lease_before, 0);

  // bj goes dark for at most two minutes (the test heals it long before).
  auto [code, isolated] = admin_post("bj", "/admin/v1/fault/isolate", R"({"duration_ms": 120000})");
  ASSERT_EQ(code, 200) << isolated.dump();
  ASSERT_EQ(isolated["isolated"], true) << isolated.dump();
  const int64_t since_wall_ms = isolated["since_wall_ms"].get<int64_t>();
  EXPECT_EQ(isolated["heals_at_wall_ms"].get<int64_t>() - since_wall_ms, 120000);

  auto refused = write_at("bj", 900000001);
  ASSERT_TRUE(refused.ok()) << refused.status().to_string();
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_EQ(json::parse(refused->body, nullptr, false).value("reason", ""), "isolated") << refused->body;

  // bj fences itself; its lease expires at etcd and sh fails its shards over.
  EXPECT_TRUE(eventually([&] { return admin("bj", "/admin/v1/fault").value("fenced", false); }, seconds(10)))
      << admin("bj", "/admin/v1/fault").dump();
  ASSERT_TRUE(eventually([&] { return owner_seen_by("sh") == "sh"; }, seconds(30))) << logs();
  EXPECT_TRUE(eventually([&] { return drc_error_at("sh", "bj").find("isolated") != std::string::npos; }, seconds(10)))
      << admin("sh", "/admin/v1/drc").dump();
  const size_t at_failover = writer.acked();
  ASSERT_TRUE(eventually([&] { return writer.acked() >= at_failover + 50; }, seconds(30)))
      << writer.last_refusal() << logs();
  json during = admin("bj", "/admin/v1/fault");
  EXPECT_EQ(during["isolated"], true) << during.dump();
  EXPECT_EQ(during["since_wall_ms"], since_wall_ms);
  EXPECT_FALSE(admin("bj", "/admin/v1/cluster")["etcd"].value("reachable", true));

  // Heal: bj comes back as after a real outage.
  auto [hcode, healed] = admin_post("bj", "/admin/v1/fault/heal");
  ASSERT_EQ(hcode, 200) << healed.dump();
  EXPECT_EQ(healed["isolated"], false);
  ASSERT_TRUE(eventually([&] {
    json etcd = admin("bj", "/admin/v1/cluster")["etcd"];
    return etcd.value("registered", false) && etcd.value("lease_id", int64_t{0}) != lease_before;
  }, seconds(20))) << logs();
  ASSERT_TRUE(eventually([&] { return admin("bj", "/admin/v1/fault").value("fenced", true) == false; }, seconds(20)))
      << admin("bj", "/admin/v1/fault").dump() << logs();
  writer.stop();
  ASSERT_TRUE(eventually([&] { return replication_caught_up(*cluster_); }, seconds(60))) << logs();

  // Nothing acknowledged is lost, the sites hold the same orders, and bj
  // acknowledged nothing sent after it went dark.
  std::set<int64_t> at_bj = orders_at("bj"), at_sh = orders_at("sh");
  int by_sh = 0;
  for (const auto& [id, ack] : writer.acks()) {
    EXPECT_TRUE(at_bj.count(id)) << "order " << id << " acknowledged by " << ack.zone << " is missing at bj";
    EXPECT_TRUE(at_sh.count(id)) << "order " << id << " acknowledged by " << ack.zone << " is missing at sh";
    if (ack.zone == "bj") {
      EXPECT_LE(ack.sent_wall_ms, since_wall_ms) << "order " << id << " acknowledged by dark bj";
    }
    by_sh += ack.zone == "sh";
  }
  EXPECT_GE(by_sh, 50);
  std::printf("%zu acknowledged writes (%d by sh), %zu orders at each site, %d refusals retried\n",
              writer.acks().size(), by_sh, at_bj.size(), writer.refusals());
  EXPECT_EQ(at_bj, at_sh);
  EXPECT_FALSE(at_bj.count(900000001)) << "a write refused as isolated was committed";

  // bj knows it gave the shard away: a write for it there is refused.
  ASSERT_EQ(owner_seen_by("bj"), "sh");
  auto stale = write_at("bj", 900000002);
  ASSERT_TRUE(stale.ok()) << stale.status().to_string();
  EXPECT_NE(stale->status, 200) << stale->body;
  EXPECT_EQ(orders_at("bj").count(900000002), 0u);
  // It went through the lost-lease path, not a renewal of the old lease.
  std::ifstream log(cluster_->log_path("bj"));
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("event=fault_isolated ezone=bj"), std::string::npos);
  EXPECT_NE(text.find("event=etcd_lease_lost ezone=bj"), std::string::npos);
  EXPECT_NE(text.find("event=fault_healed ezone=bj reason=operator"), std::string::npos);
}

}  // namespace
}  // namespace ezone::test
