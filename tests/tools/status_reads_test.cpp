// The load generator's status reads (--status-reads; FlowStep::status)
// against a fake takeout app on loopback: each read must show the state its
// flow just wrote, and a server that answers with an older state is caught
// as "stale_read" without ending the flow.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/support/fake_http_server.hpp"
#include "tools/loadgen/flow_engine.hpp"

namespace ezone::loadgen {
namespace {

using nlohmann::json;

// The order flow as the takeout app answers it, over keep-alive
// connections; with `stale` set, GET /v1/orders/{id} answers the state
// before the last write.
class FakeTakeout {
 public:
  explicit FakeTakeout(bool stale) : stale_(stale) {
    auto server = test::FakeHttpServer::start([this](test::FakeConnection& c) { serve(c); });
    EXPECT_TRUE(server.ok()) << server.status().to_string();
    if (server.ok()) server_ = std::move(*server);
  }
  HostPort endpoint() const { return server_->endpoint(); }

 private:
  void serve(test::FakeConnection& c) {
    for (std::string request = c.read_request(); !request.empty(); request = c.read_request()) {
      const std::string line = request.substr(0, request.find("\r\n"));
      const std::string method = line.substr(0, line.find(' '));
      const std::string path = line.substr(method.size() + 1, line.find(' ', method.size() + 1) - method.size() - 1);
      auto [status, body] = answer(method, path);
      const std::string text = body.dump();
      if (!c.send("HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nX-Ezone: bj\r\n"
                  "Content-Length: " + std::to_string(text.size()) + "\r\n\r\n" + text))
        return;
    }
  }

  std::pair<int, json> answer(const std::string& method, const std::string& path) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (method == "POST" && path == "/v1/orders") {
      const int64_t id = next_id_++;
      states_[id] = {"created", "created"};
      return {201, {{"id", id}, {"shard", 1}, {"state", "created"}}};
    }
    const size_t slash = path.find('/', 11);  // after "/v1/orders/"
    const int64_t id = std::stoll(path.substr(11, slash == std::string::npos ? std::string::npos : slash - 11));
    auto& [before, now] = states_[id];
    if (method == "GET") return {200, {{"id", id}, {"state", stale_ ? before : now}}};
    static const std::map<std::string, std::string> next{
        {"accept", "accepted"}, {"pickup", "picked_up"}, {"deliver", "delivered"}};
    before = now;
    now = next.at(path.substr(slash + 1));
    return {200, {{"id", id}, {"state", now}}};
  }

  const bool stale_;
  std::unique_ptr<test::FakeHttpServer> server_;
  std::mutex mutex_;
  int64_t next_id_ = 1000;
  std::map<int64_t, std::pair<std::string, std::string>> states_;  // id -> (before the last write, now)
};

StepStats run_flows(const FakeTakeout& app, int status_reads) {
  Options o;
  o.nodes = {app.endpoint()};
  o.workers = 2;
  o.timeout_ms = 2000;
  o.status_reads = status_reads;
  Population population;
  population.node_ezones = {"bj"};
  population.users = {1};
  population.merchants[1] = {7};
  population.points = {GeoPoint{1.0, 1.0, 1}};
  FlowEngine engine(o, population, {{1, "bj"}});
  return engine.run(LoadStep{"t", 40, 0.5, Profile::flat});
}

TEST(StatusReads, EachWriteIsReadBackAndAStaleAnswerIsCaught) {
  FakeTakeout fresh(false);
  StepStats s = run_flows(fresh, 2);
  ASSERT_GT(s.flows_completed, 0u);
  EXPECT_EQ(s.flows_completed, s.flows_started);
  EXPECT_EQ(s.error_count(), 0u) << json(s.errors).dump();
  const uint64_t reads = s.latency[static_cast<size_t>(FlowStep::status)].count();
  EXPECT_EQ(reads, s.flows_completed * kWriteSteps * 2);
  EXPECT_EQ(s.requests, s.flows_completed * kWriteSteps * 3);

  // After each write but the create, the stale server shows the state
  // before it: 3 stale reads a flow, and every flow still completes.
  FakeTakeout stale(true);
  StepStats t = run_flows(stale, 1);
  ASSERT_GT(t.flows_completed, 0u);
  EXPECT_EQ(t.flows_completed, t.flows_started);
  EXPECT_EQ(t.errors["stale_read"], t.flows_completed * 3) << json(t.errors).dump();
  EXPECT_EQ(t.errors.size(), 1u) << json(t.errors).dump();

  // Without status reads nothing is read.
  StepStats u = run_flows(fresh, 0);
  EXPECT_EQ(u.latency[static_cast<size_t>(FlowStep::status)].count(), 0u);
  EXPECT_EQ(u.requests, u.flows_completed * kWriteSteps);
}

}  // namespace
}  // namespace ezone::loadgen
