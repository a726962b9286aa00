// Crash safety of the DAL and DRC with real ezoned processes and etcd
// (issue 4): kill -9 between commit and shipping loses and duplicates
// nothing; kill -9 in the middle of an apply, then a restart, applies each
// change exactly once, and both sites end with equal per-table checksums.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <thread>

#include "storage/dal/sqlite_db.hpp"
#include "storage/net/http_client.hpp"
#include "tests/integration/local_cluster.hpp"
#include "tests/integration/shard_writer.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/test_schema.hpp"

namespace ezone::test {
namespace {

using nlohmann::json;

class DrcProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/ezone-drc-proc-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ + "/schema.toml") << kOrdersUsersSchema;
    LocalClusterOptions options;
    options.gzs_toml = "shards_file = \"" + std::string(EZONE_TEST_SOURCE_DIR) + "/config/shards/test-fences.toml\"\n";
    // Small batches, so an apply of the backlog takes several transactions.
    // A short apply timeout: a switchover that cannot reach its watermark
    // is cancelled within the test's patience.
    options.extra_toml = "[dal]\nschema_file = \"" + dir_ + "/schema.toml\"\n\n[drc]\nbatch_rows_max = 50\n"
                         "pull_wait_ms = 200\npull_timeout_ms = 1000\nretry_ms = 50\n\n[coordinator]\n"
                         "apply_timeout_ms = 2000\n";
    auto cluster = LocalCluster::start(options);
    ASSERT_TRUE(cluster.ok()) << cluster.status().to_string();
    cluster_ = std::move(cluster.value());
    ASSERT_TRUE(commit_order(0)) << "the first write never committed: " << cluster_->log_tail("bj");
  }
  void TearDown() override {
    cluster_.reset();
    std::system(("rm -rf '" + dir_ + "'").c_str());
  }

  Result<net::HttpResponse> tx(const std::string& ezone, const json& body) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = "/dal/v1/tx";
    req.body = body.dump();
    req.content_type = "application/json";
    return net::HttpConnection(cluster_->addresses(ezone).http).request(req, 5000);
  }

  // Commits order `id` in bj's shard 1 at `epoch`, retrying while bj is not
  // yet leased.
  bool commit_order(int64_t id, int64_t epoch = 1) {
    json body{{"shard", 1}, {"epoch", epoch},
              {"statements", {{{"sql", "INSERT INTO orders(id, shard, state) VALUES(?1, 1, 'created')"},
                               {"params", {id}}}}}};
    return eventually([&] {
      auto r = tx("bj", body);
      return r.ok() && r->status == 200;
    }, std::chrono::seconds(15));
  }

  int64_t count_orders(const std::string& ezone) {
    auto r = tx(ezone, json{{"statements", {{{"sql", "SELECT COUNT(*) FROM orders"}}}}});
    if (!r.ok() || r->status != 200) return -1;
    return json::parse(r->body)["results"][0]["rows"][0][0].get<int64_t>();
  }

  json admin(const std::string& ezone, const std::string& target) {
    auto r = net::http_request(cluster_->addresses(ezone).admin, "GET", target, "", "", 2000);
    if (!r.ok() || r->status != 200) return json();
    return json::parse(r->body, nullptr, false);
  }

  std::string checksum(const std::string& ezone, const std::string& table) {
    json j = admin(ezone, "/admin/v1/dal/checksum?table=" + table);
    return j.is_object() ? j.value("checksum", "") : "";
  }

  uint64_t cursor_of_bj_at_sh() {
    json drc = admin("sh", "/admin/v1/drc");
    if (!drc.is_object() || drc["peers"].empty()) return 0;
    return drc["peers"][0].value("cursor", uint64_t{0});
  }

  // Both sites hold the same rows of every table, and sh applied exactly
  // bj's outbox (its cursor equals bj's head).
  void expect_converged(int64_t orders) {
    ASSERT_TRUE(eventually([&] {
      json bj = admin("bj", "/admin/v1/drc");
      return bj.is_object() && cursor_of_bj_at_sh() == bj.value("outbox_head", uint64_t{0}) &&
             checksum("bj", "orders") == checksum("sh", "orders") && !checksum("sh", "orders").empty();
    }, std::chrono::seconds(20))) << cluster_->log_tail("sh");
    EXPECT_EQ(checksum("bj", "users"), checksum("sh", "users"));
    EXPECT_EQ(count_orders("bj"), orders);
    EXPECT_EQ(count_orders("sh"), orders);
  }

  std::string dir_;
  std::unique_ptr<LocalCluster> cluster_;
};

TEST_F(DrcProcessTest, AnIdcThatLostItsDatabaseStaysFencedUntilEzonedReseedsItFromItsPeer) {
  for (int64_t id = 1; id <= 20; ++id) ASSERT_TRUE(commit_order(id));
  expect_converged(21);
  cluster_->process("bj").kill9();
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((cluster_->db_path("bj") + suffix).c_str());
  ASSERT_TRUE(cluster_->start_zone("bj").is_ok());
  ASSERT_TRUE(cluster_->wait_ready("bj", 20000).is_ok());
  // etcd knows bj's old database: the new, empty one is fenced.
  json body{{"shard", 1}, {"epoch", 1},
            {"statements", {{{"sql", "INSERT INTO orders(id, shard, state) VALUES(99, 1, 'created')"}}}}};
  ASSERT_TRUE(eventually([&] {
    auto r = tx("bj", body);
    return r.ok() && r->status == 503 && r->body.find("--reseed-from") != std::string::npos;
  }, std::chrono::seconds(15))) << cluster_->log_tail("bj");
  auto [busy, busy_out] = cluster_->run_ezoned({"--config", cluster_->config_path("bj"), "--reseed-from", "sh"});
  EXPECT_EQ(busy, 1) << busy_out;  // bj runs: its locks are held
  cluster_->process("bj").kill9();
  auto [unknown, unknown_out] = cluster_->run_ezoned({"--config", cluster_->config_path("bj"), "--reseed-from", "gz"});
  EXPECT_EQ(unknown, 1);
  EXPECT_NE(unknown_out.find("'gz' is not a peer"), std::string::npos) << unknown_out;
  auto [code, out] = cluster_->run_ezoned({"--config", cluster_->config_path("bj"), "--reseed-from", "sh"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("is now a copy of 'sh'"), std::string::npos) << out;
  EXPECT_NE(out.find("up to seq 21"), std::string::npos) << out;
  ASSERT_TRUE(cluster_->start_zone("bj").is_ok());
  ASSERT_TRUE(cluster_->wait_ready("bj", 20000).is_ok());
  EXPECT_EQ(count_orders("bj"), 21);
  ASSERT_TRUE(commit_order(100)) << cluster_->log_tail("bj");
  expect_converged(22);
  EXPECT_EQ(cursor_of_bj_at_sh(), 1u);  // bj's new outbox, from seq 1
}

TEST_F(DrcProcessTest, KillBetweenCommitAndShippingLosesAndDuplicatesNothing) {
  cluster_->process("sh").kill9();  // nothing ships while sh is gone
  for (int64_t id = 1; id <= 100; ++id) ASSERT_TRUE(commit_order(id));
  // Every one of those 100 writes was acknowledged; none was pulled yet.
  cluster_->process("bj").kill9();
  ASSERT_TRUE(cluster_->start_zone("bj").is_ok());
  ASSERT_TRUE(cluster_->wait_ready("bj", 20000).is_ok());
  ASSERT_TRUE(cluster_->start_zone("sh").is_ok());
  ASSERT_TRUE(cluster_->wait_ready("sh", 20000).is_ok());
  expect_converged(101);
  // The operator's view of the same: bj applied up to its head, no lag.
  auto [code, out] = cluster_->ezctl("sh", {"drc"});
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("bj       up     101        101        0"), std::string::npos) << out;
  auto [json_code, json_out] = cluster_->ezctl("sh", {"drc", "--json"});
  EXPECT_EQ(json_code, 0);
  EXPECT_EQ(json::parse(json_out)["peers"][0]["cursor"], 101) << json_out;
}

// `ezctl check` at one node checks the whole cluster: each site sends the
// chunks of what it owns, and the others compare them in order with its
// changes. A row changed behind sh's DAL is found in its chunk, and `ezctl
// check repair` makes sh's rows equal to bj's again.
TEST_F(DrcProcessTest, EzctlCheckFindsARowChangedBehindTheDalAndRepairMendsIt) {
  for (int64_t id = 1; id <= 30; ++id) ASSERT_TRUE(commit_order(id));
  expect_converged(31);
  // bj owns shards 1 and 3 and is the master of users; sh owns shards 2
  // and 1023. Each part is a chunk or more (orders of shard 1: 10, 10, 10, 1).
  auto [code, out] = cluster_->ezctl("sh", {"check", "--chunk-rows", "10", "--id", "clean"}, 60000);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("check clean: 2 sites, 8 of 8 chunks compared, 0 differ"), std::string::npos) << out;
  EXPECT_NE(out.find("from bj       6 chunks (31 rows): 6 match, 0 differ, 0 skipped"), std::string::npos) << out;
  {
    auto db = dal::Db::open(cluster_->db_path("sh"), false);
    ASSERT_TRUE(db.ok()) << db.status().to_string();
    ASSERT_TRUE(db.value()->exec("UPDATE orders SET state='changed behind the DAL' WHERE id=15").is_ok());
  }
  auto [dirty, dirty_out] =
      cluster_->ezctl("bj", {"check", "--chunk-rows", "10", "--tables", "orders", "--id", "dirty"}, 60000);
  EXPECT_EQ(dirty, 1) << dirty_out;
  EXPECT_NE(dirty_out.find("DIFFER: orders shard 1 chunk 1, keys ([9], [19]]: bj has 10 rows, sh 10"),
            std::string::npos)
      << dirty_out;
  EXPECT_NE(dirty_out.find("from bj       5 chunks (31 rows): 4 match, 1 differ"), std::string::npos) << dirty_out;
  // Repair: bj sends its image of the chunk, sh makes its rows equal, and
  // the repaired part is checked again.
  auto [fixed, fixed_out] = cluster_->ezctl("sh", {"check", "repair", "dirty"}, 60000);
  EXPECT_EQ(fixed, 0) << fixed_out;
  EXPECT_NE(fixed_out.find("bj sent 1 repair images of 1 chunks (10 rows)"), std::string::npos) << fixed_out;
  EXPECT_NE(fixed_out.find("chunks compared, 0 differ"), std::string::npos) << fixed_out;
  auto state = tx("sh", json{{"statements", {{{"sql", "SELECT state FROM orders WHERE id=15"}}}}});
  ASSERT_TRUE(state.ok() && state->status == 200);
  EXPECT_EQ(json::parse(state->body)["results"][0]["rows"].dump(), R"([["created"]])");
  // Bad requests: a 400 naming the field, counted.
  const HostPort bj_admin = cluster_->addresses("bj").admin;
  const std::pair<const char*, const char*> bad[] = {
      {R"({"chunk_rows": "ten"})", "\"chunk_rows\" is not a count"},
      {R"({"shards": [-1]})", "\"shards\" holds -1, not a shard id"},
      {R"({"id": "a b"})", "a check id is 1-64 of"},
      {R"({"colour": 1})", "unknown field \"colour\""},
      {"[", "the body is not a JSON object"},
  };
  for (const auto& [body, why] : bad) {
    auto r = net::http_request(bj_admin, "POST", "/admin/v1/dal/checks", body, "application/json", 2000);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, 400) << body;
    EXPECT_NE(json::parse(r->body, nullptr, false).value("error", "").find(why), std::string::npos)
        << body << " -> " << r->body;
  }
  auto metrics = net::http_request(bj_admin, "GET", "/metrics", "", "", 2000);
  ASSERT_TRUE(metrics.ok()) << metrics.status().to_string();
  EXPECT_NE(metrics->body.find("ezone_admin_bad_requests_total{ezone=\"bj\",endpoint=\"dal_checks\"} 5"),
            std::string::npos);
  // The first check's results, read again.
  auto [again, again_out] = cluster_->ezctl("bj", {"check", "results", "clean", "--json"});
  EXPECT_EQ(again, 0) << again_out;
  EXPECT_EQ(json::parse(again_out, nullptr, false).value("clean", false), true) << again_out;
  // A check that compared nothing proves nothing.
  auto [unknown, unknown_out] = cluster_->ezctl("bj", {"check", "results", "no-such-check"});
  EXPECT_EQ(unknown, 1) << unknown_out;
  EXPECT_NE(unknown_out.find("nothing was compared"), std::string::npos) << unknown_out;
}

// A rolling migration: sh restarts with a column added to orders and writes
// it, while bj still runs without it; then bj restarts with it too.
TEST_F(DrcProcessTest, ARollingMigrationKeepsReplicatingAndEzctlSchemaFollowsIt) {
  for (int64_t id = 1; id <= 5; ++id) ASSERT_TRUE(commit_order(id));
  expect_converged(6);
  auto [agreed, agreed_out] = cluster_->ezctl("bj", {"schema"});
  EXPECT_EQ(agreed, 0) << agreed_out;
  EXPECT_NE(agreed_out.find("orders: the same at bj, sh (0 migrations): id INTEGER (key), shard INTEGER, state TEXT"),
            std::string::npos)
      << agreed_out;
  // The migration, in a schema file of its own that a zone's config is
  // switched to before its restart.
  std::string migrated = kOrdersUsersSchema;
  const std::string orders_ddl = "state TEXT NOT NULL)\"\n";
  migrated.replace(migrated.find(orders_ddl), orders_ddl.size(),
                   orders_ddl + "\n[[table.migration]]\nadd_column = \"tip INTEGER NOT NULL DEFAULT 0\"\n");
  std::ofstream(dir_ + "/schema-v2.toml") << migrated;
  auto restart_migrated = [&](const std::string& ezone) {
    EXPECT_EQ(cluster_->process(ezone).terminate(), 0);
    std::ifstream in(cluster_->config_path(ezone));
    std::string config((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string from = dir_ + "/schema.toml";
    ASSERT_NE(config.find(from), std::string::npos);
    config.replace(config.find(from), from.size(), dir_ + "/schema-v2.toml");
    std::ofstream(cluster_->config_path(ezone)) << config;
    ASSERT_TRUE(cluster_->start_zone(ezone).is_ok());
    ASSERT_TRUE(cluster_->wait_ready(ezone, 20000).is_ok()) << cluster_->log_tail(ezone);
  };
  ASSERT_NO_FATAL_FAILURE(restart_migrated("sh"));
  // sh writes the new column in its shard 2; bj goes on without it.
  ASSERT_TRUE(eventually([&] {
    auto r = tx("sh", json{{"shard", 2}, {"epoch", 1},
                          {"statements", {{{"sql", "INSERT INTO orders(id, shard, state, tip) VALUES(100, 2, 'created', 7)"}}}}});
    return r.ok() && r->status == 200;
  }, std::chrono::seconds(15))) << cluster_->log_tail("sh");
  for (int64_t id = 6; id <= 8; ++id) ASSERT_TRUE(commit_order(id));
  // sh applies bj's rows (its tip takes the default); bj keeps sh's row
  // parked until it has the column.
  ASSERT_TRUE(eventually([&] { return count_orders("sh") == 10; }, std::chrono::seconds(20))) << cluster_->log_tail("sh");
  ASSERT_TRUE(eventually([&] {
    json drc = admin("bj", "/admin/v1/drc");
    return drc.is_object() && drc["halted"].size() == 1 && drc["halted"][0].value("parked_rows", 0) == 1;
  }, std::chrono::seconds(20))) << cluster_->log_tail("bj");
  EXPECT_EQ(count_orders("bj"), 9);
  auto [differs, differs_out] = cluster_->ezctl("sh", {"schema"});
  EXPECT_EQ(differs, 1) << differs_out;
  EXPECT_NE(differs_out.find("orders: DIFFERS between sites"), std::string::npos) << differs_out;
  EXPECT_NE(differs_out.find("  sh  1 migration  +tip INTEGER\n"), std::string::npos) << differs_out;
  EXPECT_NE(differs_out.find("  bj  0 migrations  -tip INTEGER\n"), std::string::npos) << differs_out;
  EXPECT_NE(differs_out.find("HALTED at bj: orders from sh, 1 rows parked: table 'orders' from ezone 'sh': it has "
                             "column 'tip INTEGER', which this site lacks"),
            std::string::npos)
      << differs_out;

  // The parked rows are not for an operator to throw away while bj has the
  // table (ezctl drc discard is for tables a site no longer has).
  auto [kept, kept_out] = cluster_->ezctl("bj", {"drc", "discard", "--origin", "sh", "--table", "orders"});
  EXPECT_EQ(kept, 1) << kept_out;
  EXPECT_NE(kept_out.find("table 'orders' is replicated here"), std::string::npos) << kept_out;
  auto bad = cluster_->admin_request("bj", "POST", "/admin/v1/drc/parked/discard", R"({"origin": "sh"})");
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400) << bad->body;
  // A parked change is not applied: sh's shard cannot move to bj yet (its
  // watermark at bj stops before order 100), and the switchover is
  // cancelled back to sh instead of handing bj a stale order.
  auto [moved, moved_out] = cluster_->ezctl("sh", {"switchover", "--shards", "rings", "--to", "bj", "--id", "so-parked"},
                                            60000);
  EXPECT_NE(moved, 0) << moved_out;
  EXPECT_NE(moved_out.find("replication did not reach the high-water mark"), std::string::npos) << moved_out;
  EXPECT_EQ(shard_route(*cluster_, "sh", 2).value("owner", ""), "sh");

  ASSERT_NO_FATAL_FAILURE(restart_migrated("bj"));
  ASSERT_TRUE(eventually([&] { return count_orders("bj") == 10; }, std::chrono::seconds(20))) << cluster_->log_tail("bj");
  auto tip = tx("bj", json{{"statements", {{{"sql", "SELECT tip FROM orders WHERE id=100"}}}}});
  ASSERT_TRUE(tip.ok() && tip->status == 200);
  EXPECT_EQ(json::parse(tip->body)["results"][0]["rows"].dump(), "[[7]]");
  // The cancelled switchover moved the epoch on.
  ASSERT_TRUE(commit_order(9, shard_route(*cluster_, "bj", 1).value("epoch", int64_t{1})));
  expect_converged(11);
  auto [done, done_out] = cluster_->ezctl("bj", {"schema"});
  EXPECT_EQ(done, 0) << done_out;
  EXPECT_NE(done_out.find("orders: the same at bj, sh (1 migration): id INTEGER (key), shard INTEGER, state TEXT, tip "
                          "INTEGER"),
            std::string::npos)
      << done_out;
  // Now bj holds all of sh's rows: the same switchover goes through.
  auto [now, now_out] = cluster_->ezctl("sh", {"switchover", "--shards", "rings", "--to", "bj", "--id", "so-after"}, 60000);
  EXPECT_EQ(now, 0) << now_out;
  EXPECT_NE(now_out.find("so-after: done"), std::string::npos) << now_out;
  EXPECT_EQ(shard_route(*cluster_, "sh", 2).value("owner", ""), "bj");
}

TEST_F(DrcProcessTest, KillDuringApplyThenRestartAppliesEachChangeExactlyOnce) {
  ASSERT_TRUE(eventually([&] { return cursor_of_bj_at_sh() == 1; }, std::chrono::seconds(10)));
  cluster_->process("sh").kill9();
  for (int64_t id = 1; id <= 200; ++id) ASSERT_TRUE(commit_order(id));
  // sh comes back holding every batch's transaction open for 1.5 s before
  // its COMMIT, and logs each hold as it starts. The second hold means the
  // first batch (50 rows) is durable and the second is in flight: kill then.
  ASSERT_TRUE(cluster_->start_zone("sh", {{"EZONE_FAULT_APPLY_PAUSE_MS", "1500"}}).is_ok());
  auto holds = [&] {
    const std::string log = cluster_->log_tail("sh", 1 << 20);
    size_t n = 0;
    for (size_t at = log.find("fault hook: pausing"); at != std::string::npos; at = log.find("fault hook: pausing", at + 1)) ++n;
    return n;
  };
  ASSERT_TRUE(eventually([&] { return holds() >= 2; }, std::chrono::seconds(20))) << cluster_->log_tail("sh");
  cluster_->process("sh").kill9();
  ASSERT_EQ(holds(), 2u);

  ASSERT_TRUE(cluster_->start_zone("sh").is_ok());
  ASSERT_TRUE(cluster_->wait_ready("sh", 20000).is_ok());
  expect_converged(201);
}

TEST_F(DrcProcessTest, AForcedConflictConvergesToOneWinnerAndKeepsTheLoserOnBothSites) {
  ASSERT_TRUE(eventually([&] { return cursor_of_bj_at_sh() == 1; }, std::chrono::seconds(10)));
  // bj writes order 7 and dies before shipping it...
  cluster_->process("sh").kill9();
  ASSERT_TRUE(eventually([&] {
    auto r = tx("bj", json{{"shard", 1}, {"epoch", 1},
                          {"statements", {{{"sql", "INSERT INTO orders(id, shard, state) VALUES(7, 1, 'bj-version')"}}}}});
    return r.ok() && r->status == 200;
  }));
  cluster_->process("bj").kill9();
  // ...sh takes shard 1 over (ownership overlaps: bj's write is unreplicated)
  // and writes the same order.
  ASSERT_TRUE(cluster_->start_zone("sh").is_ok());
  ASSERT_TRUE(cluster_->wait_ready("sh", 20000).is_ok());
  auto [code, out] = cluster_->ezctl("sh", {"move", "--shards", "1", "--to", "sh"});
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(eventually([&] {
    auto r = tx("sh", json{{"shard", 1}, {"epoch", 2},
                          {"statements", {{{"sql", "INSERT INTO orders(id, shard, state) VALUES(7, 1, 'sh-version')"}}}}});
    return r.ok() && r->status == 200;
  })) << cluster_->log_tail("sh");
  ASSERT_TRUE(cluster_->start_zone("bj").is_ok());
  ASSERT_TRUE(cluster_->wait_ready("bj", 20000).is_ok());
  auto state_at = [&](const std::string& ezone) {
    auto r = tx(ezone, json{{"statements", {{{"sql", "SELECT state FROM orders WHERE id=7"}}}}});
    return r.ok() && r->status == 200 ? json::parse(r->body)["results"][0]["rows"].dump() : std::string();
  };
  ASSERT_TRUE(eventually([&] {
    json bj = admin("bj", "/admin/v1/drc");
    return bj.is_object() && cursor_of_bj_at_sh() == bj.value("outbox_head", uint64_t{0}) &&
           state_at("bj") == R"([["sh-version"]])" && state_at("sh") == R"([["sh-version"]])" &&
           checksum("bj", "orders") == checksum("sh", "orders");
  }, std::chrono::seconds(20))) << state_at("bj") << " " << state_at("sh");
  for (const std::string ezone : {"bj", "sh"}) {
    json c = admin(ezone, "/admin/v1/drc/conflicts");
    ASSERT_TRUE(c.is_object()) << ezone;
    ASSERT_EQ(c["conflicts"].size(), 1u) << ezone << ": " << c.dump();
    EXPECT_EQ(c["conflicts"][0]["winner"]["origin"], "sh");
    EXPECT_EQ(c["conflicts"][0]["loser"]["origin"], "bj");
    EXPECT_EQ(c["conflicts"][0]["loser"]["row"], "[7,1,\"bj-version\"]");
  }
}

// Three sites, each writing its own shard, each pulling from both others:
// every change is applied once at each peer and never shipped on.
TEST(DrcMeshProcessTest, AFullMeshOfThreeSitesConvergesWithoutLoops) {
  char tmpl[] = "/tmp/ezone-drc-mesh-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  std::ofstream(dir + "/schema.toml") << kOrdersUsersSchema;
  std::ofstream(dir + "/shards.toml") << "ezones = [\"bj\", \"sh\", \"gz\"]\n"
                                         "[[shard]]\nid = 1\nname = \"north\"\nowner = \"bj\"\nfences = [\"n\"]\n"
                                         "[[shard]]\nid = 2\nname = \"east\"\nowner = \"sh\"\nfences = [\"e\"]\n"
                                         "[[shard]]\nid = 3\nname = \"south\"\nowner = \"gz\"\nfences = [\"s\"]\n";
  LocalClusterOptions options;
  options.ezones = {"bj", "sh", "gz"};
  options.gzs_toml = "shards_file = \"" + dir + "/shards.toml\"\n";
  options.extra_toml = "[dal]\nschema_file = \"" + dir + "/schema.toml\"\n\n[drc]\nbatch_rows_max = 7\n"
                       "pull_wait_ms = 200\npull_timeout_ms = 1000\nretry_ms = 50\n";
  auto cluster = LocalCluster::start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status().to_string();
  const std::map<std::string, int> shard_of{{"bj", 1}, {"sh", 2}, {"gz", 3}};
  auto post = [&](const std::string& ezone, const json& body) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = "/dal/v1/tx";
    req.body = body.dump();
    req.content_type = "application/json";
    return net::HttpConnection((*cluster)->addresses(ezone).http).request(req, 5000);
  };
  auto admin = [&](const std::string& ezone, const std::string& target) {
    auto r = net::http_request((*cluster)->addresses(ezone).admin, "GET", target, "", "", 2000);
    return r.ok() && r->status == 200 ? json::parse(r->body, nullptr, false) : json();
  };
  for (const auto& [ezone, shard] : shard_of) {
    for (int i = 0; i < 30; ++i) {
      json body{{"shard", shard}, {"epoch", 1},
                {"statements", {{{"sql", "INSERT INTO orders(id, shard, state) VALUES(?1, ?2, ?3)"},
                                 {"params", {shard * 1000 + i, shard, ezone}}}}}};
      ASSERT_TRUE(eventually([&] {
        auto r = post(ezone, body);
        return r.ok() && r->status == 200;
      })) << ezone;
    }
  }
  auto converged = [&] {
    std::set<std::string> sums;
    for (const auto& [ezone, shard] : shard_of) {
      json drc = admin(ezone, "/admin/v1/drc");
      if (!drc.is_object() || drc["outbox_head"] != 30 || drc["peers"].size() != 2) return false;
      for (const json& p : drc["peers"]) {
        if (p["cursor"] != 30) return false;  // each peer's 30, applied once
      }
      json sum = admin(ezone, "/admin/v1/dal/checksum?table=orders");
      if (!sum.is_object()) return false;
      sums.insert(sum.value("checksum", ""));
    }
    return sums.size() == 1;
  };
  EXPECT_TRUE(eventually(converged, std::chrono::seconds(20))) << (*cluster)->log_tail("gz");
  for (const auto& [ezone, shard] : shard_of) {
    auto r = post(ezone, json{{"statements", {{{"sql", "SELECT COUNT(*) FROM orders"}}}}});
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(json::parse(r->body)["results"][0]["rows"][0][0], 90) << ezone;
  }
  cluster->reset();
  std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace ezone::test
