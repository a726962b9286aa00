// Two Nodes (bj and sh) in one process sharing an in-memory metadata store,
// on fresh loopback ports, for component tests of the node.
#pragma once

#include <gtest/gtest.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "actors/node/node.hpp"
#include "core/clock.hpp"
#include "storage/meta/memory_meta_store.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/test_schema.hpp"

namespace ezone::test {

struct ZonePorts {
  uint16_t http, admin, cluster;
};

inline NodeConfig make_config(const std::string& ezone, const ZonePorts& self, const std::string& peer,
                              const ZonePorts& peer_ports, const std::string& dir) {
  NodeConfig c;
  c.source = "test-" + ezone + ".toml";
  c.ezone = ezone;
  c.http = {"127.0.0.1", self.http};
  c.admin = {"127.0.0.1", self.admin};
  c.cluster = {"127.0.0.1", self.cluster};
  c.data_dir = dir + "/" + ezone;
  c.peers.push_back({peer, {"127.0.0.1", peer_ports.cluster}, {"127.0.0.1", peer_ports.admin},
                     {"127.0.0.1", peer_ports.http}});
  c.etcd.endpoints.push_back({"127.0.0.1", 1});  // unused: the memory store is injected
  c.timeouts.peer_down_after_ms = 400;
  c.timeouts.etcd_check_interval_ms = 50;
  c.limits.caf_worker_threads = 1;
  return c;
}

// Writes the test schema into dir and returns a configure function that
// gives each node a DAL on it (fast settings for tests).
inline std::function<void(NodeConfig&)> dal_config(const std::string& dir) {
  const std::string schema = dir + "/schema.toml";
  std::ofstream(schema) << kOrdersUsersSchema;
  return [schema](NodeConfig& c) {
    c.dal.enabled = true;
    c.dal.schema_file = schema;
    c.dal.db_file = c.data_dir + "/" + c.ezone + ".db";
    c.dal.synchronous_full = false;
    c.dal.statement_ms_max = 300;
    c.drc.pull_wait_ms = 200;
    c.drc.pull_timeout_ms = 1000;
    c.drc.retry_ms = 50;
  };
}

inline ZonePorts fresh_ports() {
  return {free_loopback_port(), free_loopback_port(), free_loopback_port()};
}

class TwoNodeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ezone-node-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    store_ = std::make_shared<meta::MemoryMetaStore>(SystemClock::instance());
    bj_ports_ = fresh_ports();
    sh_ports_ = fresh_ports();
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }

  // shards_file: a shard config for the route table (none by default).
  Result<std::unique_ptr<Node>> start(const std::string& ezone, std::vector<Endpoint> endpoints = {},
                                      const std::string& shards_file = "") {
    NodeOptions options;
    options.meta = store_;
    options.logger = std::make_shared<spdlog::logger>(ezone, std::make_shared<spdlog::sinks::null_sink_mt>());
    options.endpoints = std::move(endpoints);
    options.app = app;
    return Node::start(config_for(ezone, shards_file), options);
  }

  // The config start() gives `ezone`'s node.
  NodeConfig config_for(const std::string& ezone, const std::string& shards_file = "") {
    bool bj = ezone == "bj";
    NodeConfig config = make_config(ezone, bj ? bj_ports_ : sh_ports_, bj ? "sh" : "bj",
                                    bj ? sh_ports_ : bj_ports_, dir_);
    config.gzs.shards_file = shards_file;
    if (configure) configure(config);
    return config;
  }

  // Called on every config start() builds, before the node starts.
  std::function<void(NodeConfig&)> configure;
  // The application every node start() builds serves (none by default).
  AppFactory app;
  std::string dir_;
  std::shared_ptr<meta::MemoryMetaStore> store_;
  ZonePorts bj_ports_{}, sh_ports_{};
};

}  // namespace ezone::test
