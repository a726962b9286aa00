// Two real ezoned processes plus a real etcd on loopback: membership as seen
// through `ezctl status --json`, kill -9, restart, SIGSTOP, etcd loss, and
// the process-level error paths. Bounds are generous; the failure_detection
// benchmark measures the exact times.
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <gtest/gtest.h>
#include <thread>

#include "storage/etcd/etcd_meta_store.hpp"
#include "tests/integration/local_cluster.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/ports.hpp"

namespace ezone::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;


class ClusterProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    LocalClusterOptions options;
    options.timeouts_toml = "peer_down_after_ms = 600\netcd_check_interval_ms = 200\n";
    auto c = LocalCluster::start(options);
    ASSERT_TRUE(c.ok()) << c.status().to_string();
    cluster_ = std::move(*c);
  }

  // The state that `observer` reports for `peer` through ezctl.
  std::string peer_state(const std::string& observer, const std::string& peer) {
    auto s = cluster_->ezctl_status(observer);
    if (!s) return "unreachable: " + s.status().message();
    return LocalCluster::peer_entry(*s, peer).value("state", "missing");
  }

  bool reaches(const std::string& observer, const std::string& peer, const std::string& state) {
    return eventually([&] { return peer_state(observer, peer) == state; });
  }

  std::string diagnostics() {
    return "\n--- bj log ---\n" + cluster_->log_tail("bj") + "\n--- sh log ---\n" + cluster_->log_tail("sh");
  }

  std::unique_ptr<LocalCluster> cluster_;
};

}  // namespace

TEST_F(ClusterProcessTest, EachNodeSeesTheOtherInEzctlStatus) {
  ASSERT_TRUE(reaches("bj", "sh", "up")) << diagnostics();
  ASSERT_TRUE(reaches("sh", "bj", "up")) << diagnostics();
  auto bj = cluster_->ezctl_status("bj");
  ASSERT_TRUE(bj.ok());
  json sh_entry = LocalCluster::peer_entry(*bj, "sh");
  auto sh = cluster_->ezctl_status("sh");
  ASSERT_TRUE(sh.ok());
  EXPECT_EQ(sh_entry["node_id"], (*sh)["node"]["node_id"]) << "bj knows sh's node id";
  EXPECT_EQ(sh_entry["incarnation"], (*sh)["node"]["incarnation"]);
  EXPECT_EQ((*bj)["etcd"]["reachable"], true);
  EXPECT_EQ((*bj)["etcd"]["registered"], true);

  auto [code, table] = cluster_->run_ezctl({"--node", cluster_->addresses("bj").admin.to_string(), "status"});
  EXPECT_EQ(code, 0) << table;
  EXPECT_NE(table.find("sh"), std::string::npos) << table;
  EXPECT_NE(table.find(" up "), std::string::npos) << table;
}

TEST_F(ClusterProcessTest, KilledPeerIsDownAndUpAgainAfterRestart) {
  ASSERT_TRUE(reaches("bj", "sh", "up")) << diagnostics();
  std::string first = LocalCluster::peer_entry(*cluster_->status("bj"), "sh")["incarnation"];
  cluster_->process("sh").kill9();
  ASSERT_TRUE(reaches("bj", "sh", "down")) << diagnostics();

  ASSERT_TRUE(cluster_->start_zone("sh").is_ok());
  ASSERT_TRUE(reaches("bj", "sh", "up")) << diagnostics();
  ASSERT_TRUE(reaches("sh", "bj", "up")) << diagnostics();
  std::string second = LocalCluster::peer_entry(*cluster_->status("bj"), "sh")["incarnation"];
  EXPECT_NE(first, second) << "bj must see the restarted process, not the stale handle";
}

TEST_F(ClusterProcessTest, StoppedPeerIsDownAndUpAgainAfterContinue) {
  ASSERT_TRUE(reaches("bj", "sh", "up")) << diagnostics();
  cluster_->process("sh").sigstop();
  ASSERT_TRUE(reaches("bj", "sh", "down")) << diagnostics();
  json entry = LocalCluster::peer_entry(*cluster_->status("bj"), "sh");
  EXPECT_FALSE(entry.value("reason", "").empty());
  cluster_->process("sh").sigcont();
  ASSERT_TRUE(reaches("bj", "sh", "up")) << diagnostics();
}

TEST_F(ClusterProcessTest, LostEtcdIsReportedAndRecovered) {
  ASSERT_TRUE(eventually([&] {
    auto s = cluster_->status("bj");
    return s && (*s)["etcd"]["registered"] == true;
  }));
  cluster_->etcd().kill9();
  ASSERT_TRUE(eventually([&] {
    auto s = cluster_->ezctl_status("bj");
    return s && (*s)["etcd"]["reachable"] == false;
  })) << diagnostics();
  auto [code, table] = cluster_->run_ezctl({"--node", cluster_->addresses("bj").admin.to_string(), "status"});
  EXPECT_NE(table.find("UNREACHABLE"), std::string::npos) << table;

  ASSERT_TRUE(cluster_->etcd().restart().is_ok());
  ASSERT_TRUE(eventually([&] {
    auto s = cluster_->status("bj");
    return s && (*s)["etcd"]["reachable"] == true && (*s)["etcd"]["registered"] == true;
  })) << diagnostics();
}

TEST_F(ClusterProcessTest, NodesRegisterUnderLeasesInEtcd) {
  meta::EtcdMetaStoreConfig config;
  config.endpoints = {cluster_->etcd().endpoint()};
  auto store = meta::EtcdMetaStore::create(config);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  ASSERT_TRUE(eventually([&] {
    auto r = (*store)->range("/ezone/v1/nodes/", true);
    return r && r->kvs.size() == 2;
  }));
  auto r = (*store)->range("/ezone/v1/nodes/", true);
  EXPECT_EQ(r->kvs[0].key, "/ezone/v1/nodes/bj");
  EXPECT_NE(r->kvs[0].lease, 0);
  // A clean stop revokes the lease, so the registration disappears at once.
  EXPECT_EQ(cluster_->process("sh").terminate(5000), 0);
  auto after = (*store)->range("/ezone/v1/nodes/sh");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->kvs.empty());
}

TEST_F(ClusterProcessTest, EzctlFailsWhenTheNodeCannotBeReached) {
  HostPort nobody{"127.0.0.1", free_loopback_port()};
  auto [code, out] = cluster_->run_ezctl({"--node", nobody.to_string(), "status", "--json"});
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("cannot reach node"), std::string::npos) << out;
  auto [usage_code, usage] = cluster_->run_ezctl({"status"});
  EXPECT_EQ(usage_code, 2) << usage;
  // The node can come from the environment instead; --node wins over it.
  auto [env_code, env_out] = cluster_->run_ezctl({"status"}, 10000, nobody.to_string());
  EXPECT_EQ(env_code, 1) << env_out;
  EXPECT_NE(env_out.find("cannot reach node " + nobody.to_string()), std::string::npos) << env_out;
  auto [both_code, both_out] =
      cluster_->run_ezctl({"--node", cluster_->addresses("bj").admin.to_string(), "status"}, 10000, nobody.to_string());
  EXPECT_EQ(both_code, 0) << both_out;
  auto [help_code, help] = cluster_->run_ezctl({"--help"});
  EXPECT_EQ(help_code, 0) << help;
  EXPECT_NE(help.find("switchover --shards"), std::string::npos) << help;
  EXPECT_EQ(help.find("ezctl:"), std::string::npos) << "help is not an error: " << help;
  // "-h" as an option's value is that value, not a request for help.
  auto [pk_code, pk_out] =
      cluster_->run_ezctl({"quarantine", "resolve", "--table", "orders", "--pk", "-h"}, 10000, nobody.to_string());
  EXPECT_EQ(pk_code, 1) << pk_out;
}

TEST_F(ClusterProcessTest, SecondNodeOnTakenPortsExitsNamingTheKey) {
  ChildOptions o;
  o.argv = {std::string(EZONE_TEST_BIN_DIR) + "/ezoned", "--config", cluster_->config_path("bj")};
  o.log_path = cluster_->log_path("bj") + ".twin";
  auto twin = ChildProcess::start(o);
  ASSERT_TRUE(twin.ok());
  auto code = (*twin)->wait(15000);
  ASSERT_TRUE(code.ok()) << "the twin must exit by itself";
  EXPECT_EQ(*code, 2);
  std::ifstream in(o.log_path);
  std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(out.find("key 'node."), std::string::npos) << out;
  EXPECT_NE(out.find("Fix:"), std::string::npos) << out;
}

}  // namespace ezone::test
