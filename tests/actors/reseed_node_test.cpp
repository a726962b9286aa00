// An IDC whose database was lost, inside real Nodes (two in one process):
// it stays fenced and its peer refuses its new outbox, until it is
// re-seeded from the peer (actors/node/reseed.hpp); then both replicate on
// from where the copy ends. Also the admin API that serves the copies.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>

#include "actors/gzs/gzs.hpp"
#include "actors/node/lineage_guard.hpp"
#include "actors/node/reseed.hpp"
#include "storage/dal/dal.hpp"
#include "storage/dal/sqlite_db.hpp"
#include "tests/actors/dal_node_fixture.hpp"
#include "tests/support/fake_http_server.hpp"

namespace ezone {
namespace {

using test::eventually;
using test::json;

// Every node here has an admin token: a re-seed must send it to its source
// and to the other peers it asks.
class ReseedNodeTest : public test::DalNodeTest {
 protected:
  void SetUp() override {
    DalNodeTest::SetUp();
    use_admin_token("reseed-test-admin-token-5f0c1e");
  }

  std::string db_path(const std::string& ezone) { return dir_ + "/" + ezone + "/" + ezone + ".db"; }

  void lose_database(const std::string& ezone) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(db_path(ezone) + suffix);
  }

  Result<dal::SeedReport> reseed(const std::string& ezone, const std::string& from, bool force = false) {
    ReseedOptions options;
    options.peer = from;
    options.force = force;
    options.timeout_ms = 20000;
    return reseed_from_peer(config_for(ezone, fences()), options);
  }

  static std::string fences() { return std::string(EZONE_TEST_SOURCE_DIR) + "/config/shards/test-fences.toml"; }

  // Commits an order at the node on http_port, retrying while it is fenced
  // for a lease it is still getting.
  bool commit_at(uint16_t http_port, int64_t id, ShardId shard, Epoch epoch) {
    return commit_once_leased(insert_order(id, shard, epoch), http_port);
  }

  int64_t orders(Node& node) {
    auto rows = node.dal()->query("SELECT COUNT(*) FROM orders");
    return rows.ok() ? std::get<int64_t>(rows.value()[0][0]) : -1;
  }

  // The DRC status at `admin_port` of its pulls from `origin`.
  json peer_status(uint16_t admin_port, const std::string& origin) {
    json d = admin_get(admin_port, "/admin/v1/drc");
    if (!d.is_object() || !d["peers"].is_array()) return json();
    for (const json& p : d["peers"])
      if (p.value("origin", "") == origin) return p;
    return json();
  }
};

TEST_F(ReseedNodeTest, ALostDatabaseStaysFencedAndRefusedUntilItIsReseededFromThePeer) {
  auto bj = start_node("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start_node("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  const Epoch epoch = (*bj)->gzs().epoch();
  for (int64_t id = 1; id <= 5; ++id) ASSERT_TRUE(commit_at(bj_ports_.http, id, 1, epoch));
  ASSERT_TRUE(commit_at(sh_ports_.http, 50, 2, epoch));  // shard 2 is sh's
  ASSERT_TRUE(eventually([&] { return orders(**bj) == 6 && orders(**sh) == 6; }));
  (*bj)->stop();
  bj->reset();

  // bj's disk is replaced: it starts on an empty database.
  lose_database("bj");
  auto lost = start_node("bj");
  ASSERT_TRUE(lost.ok()) << lost.status().to_string();
  ASSERT_TRUE(eventually([&] { return (*lost)->metrics().render().find("ezone_dal_lineage_confirmed{ezone=\"bj\"} 0") !=
                                      std::string::npos; }));
  auto refused = tx(bj_ports_.http, insert_order(100, 1, epoch));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->status, 503) << refused->body;
  EXPECT_NE(refused->body.find("is not the one the cluster knows for ezone bj"), std::string::npos) << refused->body;
  EXPECT_NE(refused->body.find("--reseed-from"), std::string::npos) << refused->body;
  // sh does not take bj's new outbox for the one it applied up to seq 5.
  ASSERT_TRUE(eventually([&] {
    return peer_status(sh_ports_.admin, "bj").value("last_error", "").find("another database") != std::string::npos;
  })) << peer_status(sh_ports_.admin, "bj").dump();
  EXPECT_NE((*sh)->metrics().render().find("ezone_drc_refused_batches_total{ezone=\"sh\",origin=\"bj\",reason=\"replaced\"}"),
            std::string::npos);
  EXPECT_EQ(peer_status(sh_ports_.admin, "bj").value("refused", false), true);
  // What `ezctl status` shows: bj says why it refuses writes.
  json writes = admin_get(bj_ports_.admin, "/admin/v1/cluster").value("writes", json::object());
  EXPECT_EQ(writes.value("allowed", true), false) << writes.dump();
  EXPECT_NE(writes.value("fenced", "").find("is not the one the cluster knows"), std::string::npos) << writes.dump();
  (*lost)->stop();
  lost->reset();

  auto report = reseed("bj", "sh");
  ASSERT_TRUE(report.ok()) << report.status().to_string();
  EXPECT_EQ(report->replaced_seq, 5u);  // what sh had applied of bj's old outbox
  EXPECT_EQ(report->source_head, 1u);   // sh's one write
  EXPECT_EQ(report->unreplicated, 0u);
  EXPECT_TRUE(std::filesystem::exists(report->saved_old)) << report->saved_old;

  auto back = start_node("bj");
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(orders(**back), 6);  // the copy: bj's old rows as sh had them, and sh's
  ASSERT_TRUE(commit_at(bj_ports_.http, 101, 1, epoch));  // confirmed: the record moved to the new lineage
  ASSERT_TRUE(commit_at(sh_ports_.http, 51, 2, epoch));
  ASSERT_TRUE(eventually([&] { return orders(**back) == 8 && orders(**sh) == 8; }));
  ASSERT_TRUE(eventually([&] { return checksum(bj_ports_.admin) == checksum(sh_ports_.admin); }));
  // sh follows bj's new outbox from seq 1; bj follows sh from the copy's end.
  ASSERT_TRUE(eventually([&] {
    json at_sh = peer_status(sh_ports_.admin, "bj"), at_bj = peer_status(bj_ports_.admin, "sh");
    return at_sh.value("cursor", 0) == 1 && at_sh.value("last_error", "x").empty() && at_bj.value("cursor", 0) == 2 &&
           at_sh.value("refused", true) == false;
  })) << peer_status(sh_ports_.admin, "bj").dump() << peer_status(bj_ports_.admin, "sh").dump();
  EXPECT_EQ(admin_get(bj_ports_.admin, "/admin/v1/cluster")["writes"], (json{{"allowed", true}, {"fenced", ""}}));
}

TEST_F(ReseedNodeTest, AReseedNeedsTheNodeStoppedAndKeepsUnreplicatedWritesUnlessForced) {
  auto bj = start_node("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start_node("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  const Epoch epoch = (*bj)->gzs().epoch();
  ASSERT_TRUE(commit_at(bj_ports_.http, 1, 1, epoch));
  ASSERT_TRUE(eventually([&] { return orders(**sh) == 1; }));
  auto running = reseed("bj", "sh");
  ASSERT_FALSE(running.ok());
  EXPECT_EQ(running.status().code(), Errc::conflict) << running.status().to_string();

  (*sh)->stop();
  sh->reset();
  ASSERT_TRUE(commit_at(bj_ports_.http, 2, 1, epoch));  // no peer has it
  (*bj)->stop();
  bj->reset();
  sh = start_node("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  auto kept = reseed("bj", "sh");
  ASSERT_FALSE(kept.ok());
  EXPECT_EQ(kept.status().code(), Errc::conflict);
  EXPECT_NE(kept.status().message().find("holds 1 outbox entries"), std::string::npos) << kept.status().message();
  EXPECT_FALSE(std::filesystem::exists(db_path("bj") + ".seed"));

  auto forced = reseed("bj", "sh", true);
  ASSERT_TRUE(forced.ok()) << forced.status().to_string();
  EXPECT_EQ(forced->unreplicated, 1u);
  // The old database is moved aside, not deleted: order 2 is still there.
  auto old = dal::Db::open(forced->saved_old, true);
  ASSERT_TRUE(old.ok()) << old.status().to_string();
  auto two = old.value()->query("SELECT COUNT(*) FROM orders WHERE id=2");
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(std::get<int64_t>(two.value()[0][0]), 1);
  auto now = dal::Db::open(db_path("bj"), true);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(std::get<int64_t>(now.value()->query("SELECT COUNT(*) FROM orders").value()[0][0]), 1);
}

TEST_F(ReseedNodeTest, AThirdSiteThatCannotBeAskedHowMuchItAppliedStopsTheReseedUnlessForced) {
  auto bj = start_node("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start_node("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  ASSERT_TRUE(commit_at(bj_ports_.http, 1, 1, (*bj)->gzs().epoch()));
  ASSERT_TRUE(eventually([&] { return orders(**sh) == 1; }));
  // What a third site would compare: the lineage sh's cursor of bj counts in.
  EXPECT_EQ(peer_status(sh_ports_.admin, "bj").value("lineage", uint64_t{0}), (*bj)->dal()->lineage());
  (*bj)->stop();
  bj->reset();
  NodeConfig config = config_for("bj", fences());
  // gz: a third site of the config, down (nothing listens on its ports).
  config.peers.push_back({"gz", {"127.0.0.1", test::free_loopback_port()}, {"127.0.0.1", test::free_loopback_port()},
                          {"127.0.0.1", test::free_loopback_port()}});
  ReseedOptions options;
  options.peer = "sh";
  options.timeout_ms = 20000;
  auto refused = reseed_from_peer(config, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Errc::conflict);
  EXPECT_NE(refused.status().message().find("'gz' could not be asked"), std::string::npos) << refused.status().message();
  std::vector<std::string> said;
  options.force = true;
  options.progress = [&](const std::string& line) { said.push_back(line); };
  auto forced = reseed_from_peer(config, options);
  ASSERT_TRUE(forced.ok()) << forced.status().to_string();
  bool warned = false;
  for (const std::string& line : said) warned = warned || line.find("warning: 'gz' could not be asked") == 0;
  EXPECT_TRUE(warned);
}

TEST_F(ReseedNodeTest, APeerThatAnswersInTheWrongShapeOrSendsADamagedCopyFailsTheReseedAndChangesNothing) {
  // A fake peer, one answer per scenario: each request gets the next one.
  std::vector<std::vector<std::string>> scenarios = {
      {R"({"id": 5})"},                                            // an id that is no string
      {R"({"id": "a/b"})"},                                        // an id that is no path segment
      {R"({"id": "c1"})", R"({"state": "ready", "bytes": "lots"})"},  // a size that is no number
      {R"({"id": "c1"})", R"({"state": "failed", "error": "disk full"})"},
      // A copy whose bytes do not match its CRC-32C.
      {R"({"id": "c1"})", R"({"id": "c1", "state": "ready", "bytes": 4, "crc32c": 1, "ezone": "sh", "lineage": 9})",
       "abcd"},
  };
  std::atomic<size_t> scenario{0}, step{0};
  auto fake = test::FakeHttpServer::start([&](test::FakeConnection& c) {
    while (!c.read_request().empty()) {
      const auto& answers = scenarios[std::min(scenario.load(), scenarios.size() - 1)];
      const size_t i = step++;
      const std::string body = i < answers.size() ? answers[i] : "{}";
      if (!c.send(test::http_response(200, body, i == 2 ? "application/octet-stream" : "application/json"))) return;
    }
  });
  ASSERT_TRUE(fake.ok()) << fake.status().to_string();
  NodeConfig config = config_for("bj", fences());
  config.peers[0].admin = (*fake)->endpoint();
  std::filesystem::create_directories(config.data_dir);
  std::ofstream(config.dal.db_file) << "not touched";
  const std::vector<std::string> expected = {"without a usable id", "without a usable id", "unexpected shape",
                                             "could not copy", "arrived damaged"};
  for (size_t i = 0; i < scenarios.size(); ++i) {
    scenario = i;
    step = 0;
    ReseedOptions options;
    options.peer = "sh";
    options.timeout_ms = 5000;
    auto r = reseed_from_peer(config, options);
    ASSERT_FALSE(r.ok()) << i;
    EXPECT_NE(r.status().message().find(expected[i]), std::string::npos) << i << ": " << r.status().message();
  }
  std::ifstream kept(config.dal.db_file);
  std::string content((std::istreambuf_iterator<char>(kept)), std::istreambuf_iterator<char>());
  EXPECT_EQ(content, "not touched");
  EXPECT_FALSE(std::filesystem::exists(config.dal.db_file + ".seed"));
}

TEST_F(ReseedNodeTest, AReseedWithAnotherAdminTokenThanThePeersIsRefusedAndChangesNothing) {
  auto sh = start_node("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  NodeConfig config = config_for("bj", fences());
  config.admin_api.token = SharedToken("not-the-clusters-admin-token-0");
  ReseedOptions options;
  options.peer = "sh";
  options.timeout_ms = 20000;
  auto refused = reseed_from_peer(config, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("refused this config's admin token (401)"), std::string::npos)
      << refused.status().message();
  EXPECT_FALSE(std::filesystem::exists(db_path("bj")));
}

TEST_F(ReseedNodeTest, TheAdminApiServesCopiesInPiecesAndRefusesWhatItCannotServe) {
  auto sh = start_node("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  auto call = [&](const std::string& method, const std::string& target) {
    auto r = admin_call(sh_ports_.admin, method, target);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : net::HttpResponse{};
  };
  // Without the admin token the copies are out of reach.
  const HostPort admin{"127.0.0.1", sh_ports_.admin};
  auto anonymous = net::http_request(admin, "POST", "/admin/v1/dal/snapshots", "", "", 5000);
  ASSERT_TRUE(anonymous.ok()) << anonymous.status().to_string();
  EXPECT_EQ(anonymous->status, 401) << anonymous->body;
  auto probing = net::http_request(admin, "GET", "/admin/v1/dal/snapshots/nope", "", "", 5000);
  ASSERT_TRUE(probing.ok());
  EXPECT_EQ(probing->status, 401) << "an unauthorized client must not learn which paths exist";
  auto made = call("POST", "/admin/v1/dal/snapshots");
  ASSERT_EQ(made.status, 202) << made.body;
  const std::string id = json::parse(made.body)["id"];
  json info;
  ASSERT_TRUE(eventually([&] {
    info = json::parse(call("GET", "/admin/v1/dal/snapshots/" + id).body, nullptr, false);
    return info.is_object() && info.value("state", "") == "ready";
  })) << info.dump();
  EXPECT_EQ(info["ezone"], "sh");
  EXPECT_EQ(info["lineage"], (*sh)->dal()->lineage());
  const uint64_t bytes = info["bytes"];
  ASSERT_GT(bytes, 4096u);
  auto first = call("GET", "/admin/v1/dal/snapshots/" + id + "/data?offset=0&bytes=1000");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body.size(), 1000u);
  EXPECT_EQ(first.body.substr(0, 15), "SQLite format 3");
  auto tail = call("GET", "/admin/v1/dal/snapshots/" + id + "/data?offset=" + std::to_string(bytes - 10));
  EXPECT_EQ(tail.body.size(), 10u);
  EXPECT_TRUE(call("GET", "/admin/v1/dal/snapshots/" + id + "/data?offset=" + std::to_string(bytes)).body.empty());
  EXPECT_EQ(call("GET", "/admin/v1/dal/snapshots/" + id + "/data?offset=-1").status, 400);
  EXPECT_EQ(call("GET", "/admin/v1/dal/snapshots/nope").status, 404);
  EXPECT_EQ(call("PUT", "/admin/v1/dal/snapshots/" + id).status, 405);
  EXPECT_EQ(call("GET", "/admin/v1/dal/snapshots").status, 405);
  EXPECT_EQ(call("GET", "/admin/v1/dal/snapshots/" + id + "/other").status, 404);
  // At most two copies are kept.
  auto second = call("POST", "/admin/v1/dal/snapshots");
  ASSERT_EQ(second.status, 202);
  const std::string id2 = json::parse(second.body)["id"];
  ASSERT_TRUE(eventually([&] {
    return json::parse(call("GET", "/admin/v1/dal/snapshots/" + id2).body, nullptr, false).value("state", "") == "ready";
  }));
  EXPECT_EQ(call("POST", "/admin/v1/dal/snapshots").status, 409);
  EXPECT_EQ(call("DELETE", "/admin/v1/dal/snapshots/" + id).status, 200);
  EXPECT_EQ(call("GET", "/admin/v1/dal/snapshots/" + id).status, 404);
  EXPECT_EQ(call("POST", "/admin/v1/dal/snapshots").status, 202);
}

}  // namespace
}  // namespace ezone
