// A node's life: it answers, or refuses, every request on its admin and
// HTTP ports while it starts and while it stops, and never crashes
// (monitoring and clients do not wait for a node to be ready; GET
// /admin/v1/cluster once crashed a starting node: the membership slot was
// still empty). Two nodes never share a data dir or a database file.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <unistd.h>
#include <vector>

#include "storage/net/http_client.hpp"
#include "tests/actors/node_fixture.hpp"

namespace ezone {
namespace {

using test::TwoNodeTest;

// Every read the admin API offers, and the router's own endpoints.
const std::vector<std::string> kAdminGets = {
    "/healthz", "/metrics", "/admin/v1/cluster", "/admin/v1/coord/nodes", "/admin/v1/coord/site",
    "/admin/v1/dal/checksum", "/admin/v1/drc", "/admin/v1/drc/conflicts", "/admin/v1/fault",
    "/admin/v1/quarantine", "/admin/v1/routes", "/admin/v1/traffic", "/admin/v1/workflows",
    "/admin/v1/locate?key=geo%3D39.9%2C116.4"};

class NodeLifecycleTest : public TwoNodeTest {
 protected:
  void SetUp() override {
    TwoNodeTest::SetUp();
    configure = test::dal_config(dir_);
  }
  Result<std::unique_ptr<Node>> start_bj() {
    return start("bj", {}, std::string(EZONE_TEST_SOURCE_DIR) + "/config/shards/test-fences.toml");
  }

  // Sends requests to bj's ports until stopped; counts the answers by
  // status (0: no answer: refused, reset or timed out).
  void hammer(int which) {
    size_t i = static_cast<size_t>(which);
    while (!stop_) {
      net::HttpRequest req;
      HostPort to{"127.0.0.1", bj_ports_.admin};
      if (i % 4 == 3) {
        to.port = bj_ports_.http;
        req.method = i % 8 == 3 ? "GET" : "POST";
        req.target = i % 8 == 3 ? "/ezone/v1/probe" : "/dal/v1/tx";
        req.headers.emplace_back("X-Ezone-Key", "geo=39.9,116.4");
        if (req.method == "POST") {
          req.content_type = "application/json";
          req.body = R"({"statements":[{"sql":"SELECT 1","params":[]}]})";
        }
      } else {
        req.target = kAdminGets[i % kAdminGets.size()];
      }
      auto r = net::HttpConnection(to).request(req, 300);
      const int status = r.ok() ? r->status : 0;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ++answers_[status];
      }
      i += 3;
    }
  }

  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::map<int, int> answers_;
};

TEST_F(NodeLifecycleTest, EveryPortAnswersOrRefusesButTheNodeNeverCrashesWhileStartingAndStopping) {
  std::vector<std::thread> clients;
  for (int t = 0; t < 3; ++t) clients.emplace_back([this, t] { hammer(t); });
  // Stops right after the start, and after a while.
  for (int cycle = 0; cycle < 6; ++cycle) {
    auto bj = start_bj();
    ASSERT_TRUE(bj.ok()) << bj.status().to_string();
    std::this_thread::sleep_for(std::chrono::milliseconds(cycle % 2 == 0 ? 5 : 250));
    (*bj)->stop();
  }
  auto bj = start_bj();
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop_ = true;
  for (auto& c : clients) c.join();
  // Still serving, and it did serve along the way.
  auto cluster = net::http_request({"127.0.0.1", bj_ports_.admin}, "GET", "/admin/v1/cluster", "", "", 2000);
  ASSERT_TRUE(cluster.ok()) << cluster.status().to_string();
  EXPECT_EQ(cluster->status, 200);
  std::lock_guard<std::mutex> lock(mutex_);
  EXPECT_GT(answers_[200], 0);
  for (const auto& [status, count] : answers_)
    EXPECT_TRUE(status == 0 || (status >= 200 && status < 500) || status == 503) << status << " x" << count;
}

TEST_F(NodeLifecycleTest, TwoNodesCannotShareADataDirOrADatabaseFile) {
  auto bj = start_bj();
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  const std::string pid = "(pid " + std::to_string(::getpid()) + ")";
  auto dal = test::dal_config(dir_);
  // sh on bj's SQLite file (its own data dir): refused, naming the key.
  configure = [&](NodeConfig& c) {
    dal(c);
    c.dal.db_file = dir_ + "/bj/bj.db";
  };
  auto same_db = start("sh");
  ASSERT_FALSE(same_db.ok());
  EXPECT_EQ(same_db.status().code(), Errc::conflict);
  EXPECT_NE(same_db.status().message().find("key 'dal.db_file': " + dir_ + "/bj/bj.db is in use by another ezoned " + pid),
            std::string::npos)
      << same_db.status().message();
  // sh in bj's data dir: refused the same way.
  configure = [&](NodeConfig& c) {
    dal(c);
    c.data_dir = dir_ + "/bj";
    c.dal.db_file = dir_ + "/sh.db";
  };
  auto same_dir = start("sh");
  ASSERT_FALSE(same_dir.ok());
  EXPECT_NE(same_dir.status().message().find("key 'node.data_dir': " + dir_ + "/bj is in use by another ezoned " + pid),
            std::string::npos)
      << same_dir.status().message();
  // Once bj stops, both are free.
  (*bj)->stop();
  configure = dal;
  auto sh = start("sh");
  EXPECT_TRUE(sh.ok()) << sh.status().to_string();
}

}  // namespace
}  // namespace ezone
