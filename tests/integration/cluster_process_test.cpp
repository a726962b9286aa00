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
#include "storage/net/http_client.hpp"
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

  // bj's config on fresh ports (and, unless same_data_dir, its own data
  // dir): a second process of ezone bj, as an operator might start by
  // mistake. Returns the file's path.
  std::string twin_config(const std::string& name, bool same_data_dir, ZoneAddresses* addr) {
    std::ifstream in(cluster_->config_path("bj"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const ZoneAddresses& bj = cluster_->addresses("bj");
    *addr = {{"127.0.0.1", free_loopback_port()}, {"127.0.0.1", free_loopback_port()},
             {"127.0.0.1", free_loopback_port()}};
    auto replace = [&text](const std::string& from, const std::string& to) {
      const size_t at = text.find(from);
      EXPECT_NE(at, std::string::npos) << from;
      if (at != std::string::npos) text.replace(at, from.size(), to);
    };
    replace("\"" + bj.http.to_string() + "\"", "\"" + addr->http.to_string() + "\"");
    replace("\"" + bj.admin.to_string() + "\"", "\"" + addr->admin.to_string() + "\"");
    replace("\"" + bj.cluster.to_string() + "\"", "\"" + addr->cluster.to_string() + "\"");
    if (!same_data_dir) replace("/data-bj\"", "/data-bj-" + name + "\"");
    const std::string path = cluster_->config_path("bj") + "." + name + ".toml";
    std::ofstream(path) << text;
    return path;
  }

  // ezoned on `config` with `extra` arguments; with `elsewhere`, in a UTS
  // namespace of its own whose hostname is another machine's.
  static ChildOptions ezoned(const std::string& config, std::vector<std::string> extra, bool elsewhere = false) {
    ChildOptions o;
    o.argv = {std::string(EZONE_TEST_BIN_DIR) + "/ezoned", "--config", config};
    o.argv.insert(o.argv.end(), extra.begin(), extra.end());
    if (elsewhere)
      o.argv.insert(o.argv.begin(), {"unshare", "--uts", "/bin/sh", "-c", "hostname another-machine && exec \"$@\"",
                                     "sh"});
    o.log_path = config + (elsewhere ? ".elsewhere" : "") + ".log";
    return o;
  }

  // Runs ezoned (see above) until it exits by itself (bounded); returns
  // {exit code, its output}.
  std::pair<int, std::string> run_to_exit(const std::string& config, std::vector<std::string> extra = {},
                                          bool elsewhere = false) {
    const ChildOptions o = ezoned(config, std::move(extra), elsewhere);
    auto child = ChildProcess::start(o);
    EXPECT_TRUE(child.ok());
    if (!child.ok()) return {-1, ""};
    auto code = (*child)->wait(20000);
    EXPECT_TRUE(code.ok()) << "ezoned must exit by itself";
    std::ifstream in(o.log_path);
    return {code.ok() ? *code : -1, std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>())};
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

TEST_F(ClusterProcessTest, ASecondProcessOfARunningZoneIsRefusedAndTakeoverFencesTheFirst) {
  const std::string bj_pid = std::to_string(cluster_->process("bj").pid());
  ZoneAddresses same_dir_addr, twin_addr;
  // Its own ports, bj's data dir: refused before it opens anything.
  auto [dir_code, dir_out] = run_to_exit(twin_config("same-dir", true, &same_dir_addr));
  EXPECT_EQ(dir_code, 1) << dir_out;
  EXPECT_NE(dir_out.find("is in use by another ezoned (pid " + bj_pid + ")"), std::string::npos) << dir_out;
  // Its own ports and data dir: refused because bj runs, at once (the
  // process table tells; no lease is watched on this machine).
  const std::string twin = twin_config("twin", false, &twin_addr);
  const auto began = std::chrono::steady_clock::now();
  auto [twin_code, twin_out] = run_to_exit(twin);
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(15));
  EXPECT_EQ(twin_code, 1) << twin_out;
  EXPECT_NE(twin_out.find("ezone bj is already run by pid " + bj_pid), std::string::npos) << twin_out;
  EXPECT_NE(twin_out.find("--takeover"), std::string::npos) << twin_out;
  auto bj = cluster_->status("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  EXPECT_EQ((*bj)["etcd"]["registered"], true) << diagnostics();
  // --takeover: the newer process registers and the running one is fenced.
  ChildOptions o = ezoned(twin, {"--takeover"});
  o.log_path = twin + ".takeover.log";
  auto taker = ChildProcess::start(o);
  ASSERT_TRUE(taker.ok());
  auto taker_registered = [&] {
    auto r = net::http_request(twin_addr.admin, "GET", "/admin/v1/cluster", "", "", 2000);
    if (!r) return false;
    auto doc = json::parse(r->body, nullptr, false);
    return !doc.is_discarded() && doc["etcd"]["registered"] == true;
  };
  ASSERT_TRUE(eventually(taker_registered)) << diagnostics();
  ASSERT_TRUE(eventually([&] {
    auto s = cluster_->status("bj");
    return s && (*s)["etcd"]["registered"] == false &&
           (*s)["etcd"]["last_error"].get<std::string>().find("another process of ezone bj") != std::string::npos;
  })) << diagnostics();
  // Once the newer one stops (its lease revoked), bj registers again.
  EXPECT_EQ((*taker)->terminate(5000), 0);
  ASSERT_TRUE(eventually([&] {
    auto s = cluster_->status("bj");
    return s && (*s)["etcd"]["registered"] == true;
  })) << diagnostics();
}

TEST_F(ClusterProcessTest, ATwinOnAnotherMachineIsToldByItsLeaseBeingRenewedOrRunningOut) {
  if (std::system("unshare --uts true >/dev/null 2>&1") != 0)
    GTEST_SKIP() << "needs unshare --uts (root) to play another machine";
  const std::string bj_pid = std::to_string(cluster_->process("bj").pid());
  ZoneAddresses twin_addr;
  const std::string twin = twin_config("remote", false, &twin_addr);
  // Another hostname: the process table cannot tell, so the twin watches
  // bj's lease in the real etcd, which bj renews every TTL/3 (5 s / 3).
  auto began = std::chrono::steady_clock::now();
  auto [code, out] = run_to_exit(twin, {}, true);
  EXPECT_LT(std::chrono::steady_clock::now() - began, std::chrono::seconds(12)) << "TTL + 4 s at most, and ezoned's start";
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("event=etcd_registration_held"), std::string::npos) << out;
  EXPECT_NE(out.find("ezone bj is already run by pid " + bj_pid), std::string::npos) << out;
  EXPECT_NE(out.find("whose lease is being renewed"), std::string::npos) << out;
  auto bj = cluster_->status("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  EXPECT_EQ((*bj)["etcd"]["registered"], true);
  // bj dies (kill -9: its lease stays until its TTL runs out). The twin
  // from elsewhere waits for that, then registers and serves.
  cluster_->process("bj").kill9();
  began = std::chrono::steady_clock::now();
  ChildOptions o = ezoned(twin, {}, true);
  o.log_path = twin + ".after-kill.log";
  auto replacement = ChildProcess::start(o);
  ASSERT_TRUE(replacement.ok());
  ASSERT_TRUE(eventually(
      [&] {
        auto r = net::http_request(twin_addr.admin, "GET", "/admin/v1/cluster", "", "", 2000);
        if (!r) return false;
        auto doc = json::parse(r->body, nullptr, false);
        return !doc.is_discarded() && doc["etcd"]["registered"] == true;
      },
      std::chrono::seconds(20)))
      << diagnostics();
  EXPECT_GT(std::chrono::steady_clock::now() - began, std::chrono::seconds(1)) << "it waited for bj's lease";
  EXPECT_EQ((*replacement)->terminate(5000), 0);
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
