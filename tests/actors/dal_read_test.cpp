// POST /dal/v1/read on two real Nodes with a DAL (bj and sh, shard 1 is
// bj's): a row by its primary key, from the row cache when the node keeps
// the table in it, and never older than a write the node answered.
#include <gtest/gtest.h>

#include "actors/gzs/gzs.hpp"
#include "tests/actors/dal_node_fixture.hpp"

namespace ezone {
namespace {

using nlohmann::json;

struct Read {
  int status = 0;
  json body;
};

class DalReadTest : public test::DalNodeTest {
 protected:
  void SetUp() override {
    DalNodeTest::SetUp();
    configure = [dal = configure](NodeConfig& c) {
      dal(c);
      c.cache.tables = {"orders"};  // users stay uncached
    };
  }

  Read read(uint16_t http_port, const std::string& body) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = "/dal/v1/read";
    req.body = body;
    req.content_type = "application/json";
    auto r = net::HttpConnection({"127.0.0.1", http_port}).request(req, 5000);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    if (!r.ok()) return {};
    return {r->status, json::parse(r->body, nullptr, false)};
  }
  Read order(uint16_t http_port, int64_t id) { return read(http_port, json{{"table", "orders"}, {"key", {id}}}.dump()); }

  uint64_t reads(Node& node, const char* result) {
    return node.metrics().counter("ezone_dal_http_reads_total", "", {{"result", result}}).value();
  }
};

TEST_F(DalReadTest, ARowIsReadByKeyThenServedFromTheCacheAndAWriteShowsAtOnce) {
  auto bj = start_node("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  const Epoch epoch = (*bj)->gzs().epoch();
  ASSERT_TRUE(commit_once_leased(insert_order(7, 1, epoch)));
  Read first = order(bj_ports_.http, 7);
  ASSERT_EQ(first.status, 200) << first.body.dump();
  EXPECT_EQ(first.body["found"], true);
  EXPECT_EQ(first.body["cached"], false) << "the first read fills the cache";
  EXPECT_EQ(first.body["row"]["id"], 7);
  EXPECT_EQ(first.body["row"]["shard"], 1);
  EXPECT_EQ(first.body["row"]["state"], "created");
  Read second = order(bj_ports_.http, 7);
  ASSERT_EQ(second.status, 200) << second.body.dump();
  EXPECT_EQ(second.body["cached"], true);
  EXPECT_EQ(second.body["row"], first.body["row"]);
  EXPECT_EQ(reads(**bj, "hit"), 1u);
  EXPECT_EQ(reads(**bj, "miss"), 1u);
  // A write answered here invalidates the entry before its answer.
  auto w = tx(bj_ports_.http, json{{"shard", 1}, {"epoch", epoch},
                                   {"statements", {{{"sql", "UPDATE orders SET state='accepted' WHERE id=?1"},
                                                    {"params", {7}}}}}});
  ASSERT_TRUE(w.ok() && w->status == 200) << (w.ok() ? w->body : w.status().to_string());
  Read after = order(bj_ports_.http, 7);
  ASSERT_EQ(after.status, 200) << after.body.dump();
  EXPECT_EQ(after.body["row"]["state"], "accepted");
  EXPECT_EQ(after.body["cached"], false);
  // An absent row; a table the cache does not keep is read all the same.
  Read none = order(bj_ports_.http, 8);
  EXPECT_EQ(none.status, 404) << none.body.dump();
  EXPECT_EQ(none.body["found"], false);
  EXPECT_EQ(reads(**bj, "not_found"), 1u);
  ASSERT_TRUE(commit_once_leased(json{{"statements", {{{"sql", "INSERT INTO users(id, phone) VALUES(5, '138')"}}}}}));
  auto lookups = [&] {
    return (*bj)->metrics().counter("ezone_cache_lookups_total", "", {{"result", "miss"}}).value() +
           (*bj)->metrics().counter("ezone_cache_lookups_total", "", {{"result", "hit"}}).value();
  };
  const uint64_t lookups_before = lookups();
  EXPECT_EQ(lookups_before, 4u) << "the four reads of orders";
  for (int i = 0; i < 2; ++i) {
    Read user = read(bj_ports_.http, R"({"table": "users", "key": [5]})");
    ASSERT_EQ(user.status, 200) << user.body.dump();
    EXPECT_EQ(user.body["row"]["phone"], "138");
    EXPECT_EQ(user.body["cached"], false) << "users are not in [cache] tables";
  }
  EXPECT_EQ(lookups(), lookups_before) << "the cache's hit ratio counts only its tables";
  // Every site holds every row: sh reads bj's order once it replicated.
  auto sh = start_node("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  Read at_sh;
  ASSERT_TRUE(test::eventually([&] {
    at_sh = order(sh_ports_.http, 7);
    return at_sh.status == 200 && at_sh.body["row"]["state"] == "accepted";
  })) << at_sh.status << " " << at_sh.body.dump();
  (*sh)->stop();
  (*bj)->stop();
}

TEST_F(DalReadTest, BadReadsAreA400NamingWhatIsWrong) {
  auto bj = start_node("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  const std::pair<const char*, const char*> cases[] = {
      {"not json", "the body is not JSON"},
      {"[1]", "must be a JSON object"},
      {R"({"key": [1]})", "'table' must be a string"},
      {R"({"table": "nope", "key": [1]})", "'nope' is not a replicated table"},
      {R"({"table": "orders", "key": [1, 2]})", "'key' must be an array of 1 value(s): [\"id\"]"},
      {R"({"table": "orders", "key": 1})", "'key' must be an array"},
      {R"({"table": "orders", "key": [[1]]})", "key[0]: expected null"},
      {R"({"table": "orders", "key": [1], "x": 2})", "unknown key 'x'"},
  };
  for (const auto& [body, why] : cases) {
    Read r = read(bj_ports_.http, body);
    EXPECT_EQ(r.status, 400) << body;
    EXPECT_NE(r.body.value("error", "").find(why), std::string::npos) << body << " -> " << r.body.dump();
  }
  EXPECT_EQ((*bj)->metrics().counter("ezone_dal_http_bad_requests_total", "").value(), std::size(cases));
  (*bj)->stop();
}

}  // namespace
}  // namespace ezone
