// A fixture for the disaster-recovery process tests: a LocalCluster of bj and
// sh with the test schema and fences (make_dir + start, as the switchover
// tests use it), or, with start_dr_cluster (chaos, fault injection), three
// etcd members (bj's, sh's and a witness, so a dead IDC cannot take the
// quorum with it), leases of kDrLeaseTtlS seconds, auto_failover and fast
// DRC retries, optionally with each IDC in a network namespace.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>

#include "tests/integration/local_cluster.hpp"
#include "tests/integration/shard_writer.hpp"
#include "tests/support/test_schema.hpp"

namespace ezone::test {

constexpr int64_t kDrLeaseTtlS = 2;

// Base: ::testing::Test, or TestWithParam<...> for a parameterized test.
template <class Base = ::testing::Test>
class DrClusterTest : public Base {
 protected:
  // Starts the cluster in a fresh directory; extra_toml (whole tables, e.g.
  // "[admin]\n...") is added to every node's config. netns: each IDC in a
  // network namespace of its own (LocalClusterOptions::netns).
  void start_dr_cluster(const std::string& extra_toml = "", bool netns = false) {
    ASSERT_NO_FATAL_FAILURE(make_dir());
    LocalClusterOptions options;
    options.etcd_members = 3;
    options.netns = netns;
    options.timeouts_toml = "lease_ttl_s = " + std::to_string(kDrLeaseTtlS) + "\netcd_check_interval_ms = 100\n";
    options.extra_toml = extra_toml + "\n[dal]\nschema_file = \"" + dir_ + "/schema.toml\"\n\n[drc]\npull_wait_ms = 200\n"
                         "pull_timeout_ms = 1000\nretry_ms = 20\n\n[coordinator]\nauto_failover = true\n"
                         "skew_margin_ms = 300\nack_timeout_ms = 3000\napply_timeout_ms = 10000\n";
    options.ready_timeout_ms = 60000;
    start(std::move(options));
  }
  // A fresh directory dir_ holding the test schema (dir_/schema.toml).
  void make_dir() {
    char tmpl[] = "/tmp/ezone-dr-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/schema.toml") << kOrdersUsersSchema;
  }
  // Starts cluster_ with the test fences (options.gzs_toml is set here).
  void start(LocalClusterOptions options) {
    options.gzs_toml = "shards_file = \"" + std::string(EZONE_TEST_SOURCE_DIR) + "/config/shards/test-fences.toml\"\n";
    auto cluster = LocalCluster::start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status().to_string();
    cluster_ = std::move(cluster.value());
  }
  void TearDown() override {
    cluster_.reset();
    if (!dir_.empty()) std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  nlohmann::json admin(const std::string& ezone, const std::string& target) {
    return admin_json(*cluster_, ezone, target);
  }
  std::set<int64_t> orders_at(const std::string& ezone) {
    auto orders = test::orders_at(*cluster_, ezone);
    EXPECT_TRUE(orders.ok()) << "cannot read the orders at " << ezone << ": " << orders.status().to_string();
    return orders.ok() ? *orders : std::set<int64_t>{};
  }

  std::string dir_;
  std::unique_ptr<LocalCluster> cluster_;
};

}  // namespace ezone::test
