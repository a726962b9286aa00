// The load generator's self-verification against a real cluster: etcd and
// two ezoned processes (bj, sh) serving the takeout app on loopback, the
// loadgen run in-process (run_loadgen, exactly what the binary runs). A run
// that nobody tampers with must verify clean; in a run where the test damages
// acknowledged orders behind the loadgen's back, after the load and before
// verification, the report must list exactly those orders:
//   - deleted at sh through a separate SQLite connection to sh's database
//     file (outside the DAL, so nothing replicates): lost at sh only;
//   - deleted through the DAL at its owner (captured and replicated, so the
//     verifier's wait for replication carries it to the other site): lost at
//     both sites;
//   - its state rewritten at bj through a separate SQLite connection: the
//     wrong state at bj, and sh's row differs from bj's.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <tuple>

#include <nlohmann/json.hpp>

#include "storage/net/http_client.hpp"
#include "tests/integration/local_cluster.hpp"
#include "tests/support/eventually.hpp"
#include "tests/tools/takeout_cluster.hpp"
#include "tools/loadgen/run.hpp"

namespace ezone::loadgen {
namespace {

using nlohmann::json;
using test::eventually;
using test::LocalCluster;

const std::string& kFencesDir = test::kTakeoutFencesDir;
const std::string& kShardsFile = test::kTakeoutShardsFile;
constexpr int64_t kTimeoutMs = test::kTakeoutTimeoutMs;

// A statement on a site's database file through a connection of the test's
// own: the DAL's session capture never sees it, so it does not replicate.
// Returns the number of rows changed, or -1 with the error in *error.
int exec_behind_dal(const std::string& db_file, const std::string& sql, int64_t id, std::string* error) {
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  sqlite3_stmt* stmt = nullptr;
  if (rc == SQLITE_OK) rc = sqlite3_busy_timeout(db, static_cast<int>(kTimeoutMs));
  if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr);
  if (rc == SQLITE_OK) rc = sqlite3_bind_int64(stmt, 1, id);
  if (rc == SQLITE_OK) rc = sqlite3_step(stmt) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
  const int changed = rc == SQLITE_OK ? sqlite3_changes(db) : -1;
  if (rc != SQLITE_OK) *error = db_file + ": " + (db ? sqlite3_errmsg(db) : "cannot open");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return changed;
}

// A short run against the cluster's two nodes: a few users and merchants,
// 20 flows/s for 1.5 s.
Options short_run(const LocalCluster& cluster, uint64_t seed) {
  Options o;
  for (const std::string ezone : {"bj", "sh"}) {
    o.nodes.push_back(cluster.addresses(ezone).http);
    o.admins.push_back(cluster.addresses(ezone).admin);
  }
  o.fences_dir = kFencesDir;
  o.shards_file = kShardsFile;
  o.seed = seed;
  o.workers = 4;
  o.timeout_ms = kTimeoutMs;
  o.rate = 20;
  o.duration_s = 1.5;
  o.users = 8;
  o.merchants_per_shard = 2;
  o.verify_wait_s = 60;
  return o;
}

class LoadgenClusterTest : public ::testing::Test {
 protected:
  // With the row cache, which the status reads go through, and the
  // cluster's admin and service tokens, which the loadgen sends.
  void SetUp() override {
    test::LocalClusterOptions tokens;
    tokens.admin_token = "loadgen-test-admin-token-41f7";
    tokens.service_token = "loadgen-test-service-token-9b03";
    test::start_takeout_cluster(&cluster_, "[cache]\ntables = [\"orders\"]\n", "", tokens);
  }
  void TearDown() override { cluster_.reset(); }

  Options options() const {
    Options o = short_run(*cluster_, 5);
    o.admin_token = "loadgen-test-admin-token-41f7";
    o.service_token = cluster_->service_token();
    return o;
  }

  std::string site(const std::string& ezone) const { return cluster_->addresses(ezone).http.to_string(); }

  // <dir>/<ezone>.toml names data_dir <dir>/data-<ezone>; the DAL's database
  // is <data_dir>/<ezone>.db by default.
  std::string db_file(const std::string& ezone) const {
    const std::string& config = cluster_->config_path(ezone);
    return config.substr(0, config.rfind('/')) + "/data-" + ezone + "/" + ezone + ".db";
  }

  // Deletes the order through the DAL of the zone that owns its shard, at
  // the current epoch (both from the admin API's locate).
  std::string delete_through_dal(int64_t id) {
    auto located = cluster_->admin_request("bj", "GET", "/admin/v1/locate?key=order=" + std::to_string(id), "",
                                           kTimeoutMs);
    if (!located.ok() || located->status != 200) return "locate failed";
    const json where = json::parse(located->body, nullptr, false);
    const std::string owner = where.value("owner", "");
    if (owner != "bj" && owner != "sh") return "no owner in " + located->body;
    const json tx{{"shard", where.value("shard", 0)}, {"epoch", where.value("epoch", 0)},
                  {"statements", {{{"sql", "DELETE FROM orders WHERE id = ?1"}, {"params", {id}}}}}};
    net::HttpRequest req{"POST", "/dal/v1/tx", tx.dump(), "application/json", {}};
    net::add_service_token(req, cluster_->service_token());
    auto r = net::HttpConnection(cluster_->addresses(owner).http).request(req, kTimeoutMs);
    if (!r.ok()) return r.status().to_string();
    const json answer = json::parse(r->body, nullptr, false);
    if (r->status != 200 || answer["results"][0].value("changes", 0) != 1) return "the DAL answered " + r->body;
    return "";
  }

  std::unique_ptr<LocalCluster> cluster_;
};

// The problems of a report as (kind, id, site), sorted.
std::set<std::tuple<std::string, int64_t, std::string>> problem_set(const VerifyResult& v) {
  std::set<std::tuple<std::string, int64_t, std::string>> out;
  for (const Problem& p : v.problems) out.insert({problem_kind_name(p.kind), p.id, p.site});
  return out;
}

TEST_F(LoadgenClusterTest, AnUntouchedRunVerifiesCleanAndTamperedOrdersAreListed) {
  Options without = options();
  without.service_token.clear();
  auto refused = run_loadgen(without);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("--service-token-file"), std::string::npos) << refused.status().message();

  auto clean = run_loadgen(options());
  ASSERT_TRUE(clean.ok()) << clean.status().to_string();
  ASSERT_TRUE(clean->verified);
  EXPECT_FALSE(clean->acked.empty()) << clean->report.dump();
  EXPECT_TRUE(clean->replication.caught_up) << clean->replication.lag;
  EXPECT_EQ(clean->verify.orders, clean->acked.size());
  EXPECT_EQ(clean->verify.sites, 2u);
  EXPECT_TRUE(clean->verify.problems.empty()) << clean->report["verify"].dump();
  EXPECT_TRUE(clean->ok);
  EXPECT_TRUE(clean->report["ok"].get<bool>());

  // The second run: three of its orders are damaged once the load is over.
  int64_t lost_at_sh = 0, lost_everywhere = 0, changed_at_bj = 0;
  std::string tamper_error;
  Options o = options();
  o.seed = 6;
  RunHooks hooks;
  hooks.before_verify = [&](const std::vector<AckedOrder>& acked) {
    // Tamper only once every change has been applied everywhere, so no
    // change still in flight lands on a row the test removed.
    const ReplicationWait settled = wait_for_replication(o.admins, o.admin_token, o.verify_wait_s, kTimeoutMs);
    if (!settled.caught_up) {
      tamper_error = "replication did not catch up before tampering: " + settled.lag;
      return;
    }
    std::vector<AckedOrder> sorted = acked;
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
    // The state the row will hold is known only without a maybe_state.
    sorted.erase(std::remove_if(sorted.begin(), sorted.end(), [](const auto& o) { return !o.maybe_state.empty(); }),
                 sorted.end());
    if (sorted.size() < 3) {
      tamper_error = "fewer than 3 orders to damage: " + std::to_string(sorted.size());
      return;
    }
    lost_at_sh = sorted[0].id;
    lost_everywhere = sorted[1].id;
    changed_at_bj = sorted[2].id;
    std::string error;
    if (exec_behind_dal(db_file("sh"), "DELETE FROM orders WHERE id = ?1", lost_at_sh, &error) != 1) {
      tamper_error = "delete at sh: " + error;
      return;
    }
    const std::string other = sorted[2].state == "delivered" ? "created" : "delivered";
    if (exec_behind_dal(db_file("bj"), "UPDATE orders SET state = '" + other + "' WHERE id = ?1", changed_at_bj,
                        &error) != 1) {
      tamper_error = "update at bj: " + error;
      return;
    }
    tamper_error = delete_through_dal(lost_everywhere);
  };
  auto tampered = run_loadgen(o, hooks);
  ASSERT_TRUE(tampered.ok()) << tampered.status().to_string();
  ASSERT_EQ(tamper_error, "");
  ASSERT_TRUE(tampered->verified);
  EXPECT_TRUE(tampered->replication.caught_up) << tampered->replication.lag;
  EXPECT_FALSE(tampered->ok);
  EXPECT_FALSE(tampered->report["ok"].get<bool>());
  const std::set<std::tuple<std::string, int64_t, std::string>> expected{
      {"lost", lost_at_sh, site("sh")},
      {"lost", lost_everywhere, site("bj")},
      {"lost", lost_everywhere, site("sh")},
      {"wrong_state", changed_at_bj, site("bj")},
      {"differs", changed_at_bj, site("sh")},
  };
  EXPECT_EQ(problem_set(tampered->verify), expected) << tampered->report["verify"].dump();
  EXPECT_EQ(tampered->verify.problems.size(), expected.size()) << "each problem listed once";
  EXPECT_EQ(tampered->report["verify"]["problem_counts"],
            (json{{"lost", 3}, {"wrong_state", 1}, {"differs", 1}}));
}

// node.http and node.admin over TLS ([tls] http): the loadgen reaches
// them at https:// addresses with the cluster's CA, every step entering at
// a random node (so about half are forwarded between the routers, over
// TLS too), and the run verifies clean. A plain client is refused.
TEST(LoadgenTlsClusterTest, OverTlsStepsAreServedAndForwardedAndTheRunVerifiesClean) {
  test::LocalClusterOptions tls;
  tls.tls_dir = test::kTakeoutSource + "/tests/data/tls";
  tls.tls_http = true;
  std::unique_ptr<LocalCluster> cluster;
  ASSERT_NO_FATAL_FAILURE(test::start_takeout_cluster(&cluster, "", "", tls));
  Options o = short_run(*cluster, 7);
  o.entry = EntryPolicy::random;

  auto plain = run_loadgen(o);
  ASSERT_FALSE(plain.ok()) << "a plain client was served by a TLS node.http";
  EXPECT_NE(plain.status().message().find("cannot reach node"), std::string::npos) << plain.status().message();

  o.nodes_https = o.admins_https = true;
  o.tls = cluster->admin_tls();
  auto run = run_loadgen(o);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  ASSERT_TRUE(run->verified);
  EXPECT_GE(run->acked.size(), 10u) << run->report.dump();
  EXPECT_TRUE(run->replication.caught_up) << run->replication.lag;
  EXPECT_TRUE(run->verify.problems.empty()) << run->report["verify"].dump();
  EXPECT_TRUE(run->ok) << run->report.dump();
  ASSERT_FALSE(run->report["steps"].empty()) << run->report.dump();
  for (const json& step : run->report["steps"]) {
    EXPECT_EQ(step.value("flows_failed", int64_t{-1}), 0) << step.dump();
    EXPECT_GT(step.value("forwarded", int64_t{0}), 0) << step.dump();
  }

  // The routers forwarded over TLS: requests went out, and none failed.
  uint64_t forwarded = 0;
  for (const std::string ezone : {"bj", "sh"}) {
    auto metrics = cluster->admin_request(ezone, "GET", "/metrics");
    ASSERT_TRUE(metrics.ok()) << metrics.status().to_string();
    auto value = [&](const std::string& series) -> int64_t {
      const std::string needle = series + " ";
      const size_t at = metrics->body.find(needle);
      return at == std::string::npos ? -1 : std::stoll(metrics->body.substr(at + needle.size()));
    };
    const std::string router = "{ezone=\"" + ezone + "\",forwarder=\"router\"";
    const int64_t sent = value("ezone_forwarder_requests_total" + router + "}");
    ASSERT_GE(sent, 0) << metrics->body.substr(0, 3000);
    forwarded += static_cast<uint64_t>(sent);
    for (const char* kind : {"connect_error", "connect_timeout", "bad_response", "response_timeout"})
      EXPECT_EQ(value("ezone_forwarder_errors_total" + router + ",kind=\"" + kind + "\"}"), 0) << ezone << " " << kind;
  }
  EXPECT_GT(forwarded, 0u);
}

TEST_F(LoadgenClusterTest, StatusReadsThroughTheRowCacheAlwaysShowTheLastWrite) {
  Options o = options();
  o.status_reads = 2;
  auto run = run_loadgen(o);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  EXPECT_TRUE(run->ok) << run->report.dump();
  const json& step = run->report["steps"][0];
  EXPECT_EQ(step["errors"], json::object()) << step.dump();
  const uint64_t completed = step["flows_completed"].get<uint64_t>();
  ASSERT_GT(completed, 0u);
  EXPECT_EQ(step["latency"]["status"]["count"].get<uint64_t>(), completed * kWriteSteps * 2) << step.dump();
  // Of each write's two reads, the second finds what the first filled.
  uint64_t hits = 0;
  for (const std::string ezone : {"bj", "sh"}) {
    auto metrics = net::http_request(cluster_->addresses(ezone).admin, "GET", "/metrics", "", "", kTimeoutMs);
    ASSERT_TRUE(metrics.ok() && metrics->status == 200);
    const std::string prefix = "ezone_cache_lookups_total{ezone=\"" + ezone + "\",result=\"hit\"} ";
    const size_t at = metrics->body.find(prefix);
    ASSERT_NE(at, std::string::npos) << ezone;
    hits += std::stoull(metrics->body.substr(at + prefix.size()));
  }
  EXPECT_GE(hits, completed * kWriteSteps);
}

// --trace-ratio 1: every flow is one sampled trace. The report names the
// slowest traced steps by trace id, and the zones logged those traces'
// spans: the router's and, for a write, the DAL's under it.
TEST_F(LoadgenClusterTest, TracedFlowsAreListedByTraceIdAndTheZonesLoggedTheirSpans) {
  Options o = options();
  o.trace_ratio = 1;
  o.verify = false;
  auto run = run_loadgen(o);
  ASSERT_TRUE(run.ok()) << run.status().to_string();
  const json& step = run->report["steps"][0];
  ASSERT_GT(step["requests"].get<uint64_t>(), 0u);
  EXPECT_EQ(step["traced_requests"], step["requests"]) << "every flow is traced";
  const json& slowest = step["slowest_traced"];
  ASSERT_EQ(slowest.size(), std::min<uint64_t>(kSlowestTracedMax, step["requests"].get<uint64_t>()));
  for (size_t i = 1; i < slowest.size(); ++i)
    EXPECT_GE(slowest[i - 1]["latency_ms"].get<double>(), slowest[i]["latency_ms"].get<double>()) << "slowest first";
  // A traced write, found in the logs of the zone that served it.
  const json* write = nullptr;
  for (const json& t : slowest)
    if (t["step"] != "status" && t["error"] == "" && !write) write = &t;
  ASSERT_NE(write, nullptr) << slowest.dump();
  const std::string trace = (*write)["trace_id"];
  ASSERT_EQ(trace.size(), 32u);
  ASSERT_EQ(trace.find_first_not_of("0123456789abcdef"), std::string::npos) << trace;
  const std::string zone = (*write)["served_by"];
  ASSERT_TRUE(zone == "bj" || zone == "sh") << zone;
  // The names of the trace's spans in a zone's log.
  auto span_names = [&](const std::string& ezone) {
    std::multiset<std::string> names;
    std::ifstream in(cluster_->log_path(ezone));
    for (std::string line; std::getline(in, line);) {
      if (line.find("event=span trace_id=" + trace + " ") == std::string::npos) continue;
      const size_t at = line.find(" name=");
      if (at != std::string::npos) names.insert(line.substr(at + 6, line.find(" kind=") - at - 6));
    }
    return names;
  };
  // Each write of the flow is a router's span at the zone that served it,
  // with a dal.tx under it (and another router's span where it entered
  // elsewhere).
  std::multiset<std::string> at_owner;
  ASSERT_TRUE(eventually([&] {
    at_owner = span_names(zone);
    return at_owner.count("\"POST /v1/orders\"") >= 1 && at_owner.count("dal.tx") >= 1;
  })) << "no router and dal.tx spans of " << trace << " in " << zone << "'s log: " << at_owner.size();
  EXPECT_LE(at_owner.count("dal.tx"), kWriteSteps);
  // Without --trace-ratio nothing is traced.
  o.trace_ratio = 0;
  auto quiet = run_loadgen(o);
  ASSERT_TRUE(quiet.ok()) << quiet.status().to_string();
  EXPECT_EQ(quiet->report["steps"][0]["traced_requests"], 0);
  EXPECT_EQ(quiet->report["steps"][0]["slowest_traced"], json::array());
}

}  // namespace
}  // namespace ezone::loadgen
