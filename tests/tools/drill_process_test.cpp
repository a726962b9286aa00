// `ezctl drill idc-down` against a real cluster (issue 6): etcd and two
// ezoned processes serving the takeout app, the drill run as the ezctl
// binary. It isolates bj under loadgen traffic, fails it over (here the
// drill submits the failover: the nodes have no auto_failover), restores it
// and verifies. The run must pass: the failover happened, the survivor took
// writes for bj's shards, every site converged, nothing was lost silently;
// and its JSON report must carry the RTO, the RPO, the clients' errors and
// the checksums it compared.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/tools/takeout_cluster.hpp"

namespace ezone::test {
namespace {

using nlohmann::json;

class DrillProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ezone-drill-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    cluster_.reset();
    std::filesystem::remove_all(dir_);
  }
  // The one report the drill wrote in dir_.
  json report() {
    json out;
    for (const auto& f : std::filesystem::directory_iterator(dir_)) {
      if (f.path().extension() != ".json") continue;
      std::ifstream in(f.path());
      out = json::parse(in, nullptr, false);
    }
    return out;
  }

  std::string dir_;
  std::unique_ptr<LocalCluster> cluster_;
};

// The nodes have an admin token here: the drill sends it on every admin
// call it makes, its loadgen's included.
TEST_F(DrillProcessTest, IdcDownFailsTheZoneOverRestoresItAndLosesNothingSilently) {
  LocalClusterOptions options;
  options.admin_toml = "allow_fault_injection = true\n";
  options.admin_token = "drill-test-admin-token-6e2a9d";
  ASSERT_NO_FATAL_FAILURE(start_takeout_cluster(&cluster_,
                                                "[coordinator]\nauto_failover = false\nskew_margin_ms = 300\n",
                                                "lease_ttl_s = 2\netcd_check_interval_ms = 100\n", options));
  auto [code, out] = cluster_->ezctl("sh",
                                     {"drill", "idc-down", "--zone", "bj", "--rate", "20", "--duration", "14",
                                      "--warmup", "3", "--report-dir", dir_, "--fences-dir", kTakeoutFencesDir,
                                      "--shards-file", kTakeoutShardsFile},
                                     240000);
  const json r = report();
  ASSERT_TRUE(r.is_object()) << out;
  EXPECT_EQ(code, 0) << out << "\n" << r.dump(2);
  EXPECT_TRUE(r.value("ok", false)) << r.dump(2);
  EXPECT_NE(out.find("result: PASS"), std::string::npos) << out;

  const json& f = r["failover"];
  EXPECT_TRUE(f.value("submitted_by_drill", false));
  EXPECT_EQ(f.value("outcome", ""), "done") << f.dump(2);
  EXPECT_GT(f.value("rto_ms", 0), 0);
  EXPECT_FALSE(f["shards"].empty());
  for (const auto& [shard, owner] : f["new_owners"].items()) EXPECT_EQ(owner, "sh") << shard;
  // The clients reached bj's shards at the survivor.
  EXPECT_GT(f.value("client_rto_ms", 0), 0) << f.dump(2);

  EXPECT_GT(r["rpo"].value("acked_by_zone", 0), 0) << r["rpo"].dump(2);
  EXPECT_EQ(r["rpo"]["entries"].size(), r["rpo"].value("missing", size_t{0}));
  EXPECT_GT(r["clients"].value("requests", 0), 0);
  EXPECT_TRUE(r["clients"]["errors"].is_object());
  EXPECT_TRUE(r["restore"].value("caught_up", false));
  EXPECT_TRUE(r["convergence"].value("equal", false)) << r["convergence"].dump(2);
  // Every replicated table (3), and each sharding-zone table (2) per shard.
  EXPECT_GT(r["convergence"].value("compared", 0), 3 + 2);
  EXPECT_EQ(r["loss"].value("silent", -1), 0) << r["loss"].dump(2);
  EXPECT_GT(r["loss"].value("orders", 0), 0);
  // What the drill cost is graded: the figures are the report's own.
  const json& inc = r["incident"];
  EXPECT_EQ(inc.value("requests", -1), r["clients"].value("requests", -2)) << inc.dump(2);
  EXPECT_EQ(inc.value("orders", -1), r["loss"].value("orders", -2));
  EXPECT_GE(inc.value("orders_lost", size_t{0}), r["rpo"].value("missing", size_t{0}));
  const std::string grade = inc.value("grade", "");
  EXPECT_TRUE(grade.size() == 2 && grade[0] == 'P' && grade[1] >= '0' && grade[1] <= '5') << inc.dump(2);
  EXPECT_NE(out.find("incident grade: " + grade), std::string::npos) << out;

  // bj is back, unfenced, and serves its own shard's route again only by a
  // new workflow: sh keeps the shards it took.
  auto route = cluster_->admin_request("bj", "GET", "/admin/v1/fault");
  ASSERT_TRUE(route.ok());
  EXPECT_NE(route->body.find("\"isolated\": false"), std::string::npos) << route->body;
}

TEST_F(DrillProcessTest, ADrillAgainstANodeThatForbidsFaultInjectionFailsCleanly) {
  ASSERT_NO_FATAL_FAILURE(start_takeout_cluster(&cluster_));
  auto [code, out] = cluster_->ezctl("sh",
                                     {"drill", "idc-down", "--zone", "bj", "--rate", "10", "--duration", "6",
                                      "--warmup", "1", "--report-dir", dir_, "--fences-dir", kTakeoutFencesDir,
                                      "--shards-file", kTakeoutShardsFile},
                                     120000);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("allow_fault_injection"), std::string::npos) << out;
  const json r = report();
  ASSERT_TRUE(r.is_object()) << out;
  EXPECT_FALSE(r.value("ok", true));
  // Nothing was failed over.
  EXPECT_FALSE(r.contains("failover") && r["failover"].contains("rto_ms")) << r.dump(2);
}

}  // namespace
}  // namespace ezone::test
