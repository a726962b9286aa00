// Disaster-recovery workflows with real ezoned processes and etcd (issue 6):
// a planned switchover under a stream of writes loses nothing and moves the
// writes to the new owner; a dry run changes nothing; a cancel returns the
// shard to its owner; kill -9 of a whole zone makes the survivor take its
// shards once its lease is gone, and the restarted zone does not write them.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/ids.hpp"
#include "zones/routing/order_id.hpp"
#include "storage/net/http_client.hpp"
#include "tests/integration/dr_cluster_test.hpp"
#include "tests/integration/local_cluster.hpp"
#include "tests/integration/shard_writer.hpp"
#include "tests/support/eventually.hpp"

namespace ezone::test {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr ShardId kShard = 1;  // "squares", owned by bj in test-fences.toml

class SwitchoverProcessTest : public DrClusterTest<> {
 protected:
  // Optionally with the cluster's admin and service tokens.
  void start_cluster(const std::string& coordinator_toml, const std::string& timeouts_toml = "",
                     const std::string& admin_token = "", const std::string& service_token = "") {
    ASSERT_NO_FATAL_FAILURE(make_dir());
    LocalClusterOptions options;
    options.timeouts_toml = timeouts_toml;
    options.admin_token = admin_token;
    options.service_token = service_token;
    options.extra_toml = "[dal]\nschema_file = \"" + dir_ + "/schema.toml\"\n\n[drc]\npull_wait_ms = 200\n"
                         "pull_timeout_ms = 1000\nretry_ms = 50\n\n[coordinator]\n" + coordinator_toml;
    start(std::move(options));
  }

  json route_of_shard(const std::string& ezone) { return shard_route(*cluster_, ezone, kShard); }
  // Requests to "squares" (shard 1, at bj) through the router of both
  // zones, rounds times each, keyed by an order id that carries shard 1:
  // traffic for a rebalance to weigh.
  void probe_squares(int rounds) {
    auto order_in_squares = encode_order_id(OrderIdParts{kShard, 1000, 1, 7});
    ASSERT_TRUE(order_in_squares.ok());
    for (int i = 0; i < rounds; ++i) {
      for (const char* entry : {"bj", "sh"}) {
        net::HttpRequest req;
        req.target = "/ezone/v1/probe";
        req.headers.emplace_back("X-Ezone-Key", "order=" + std::to_string(*order_in_squares));
        auto r = net::HttpConnection(cluster_->addresses(entry).http).request(req, 3000);
        ASSERT_TRUE(r.ok() && r->status == 200) << (r.ok() ? r->body : r.status().to_string());
      }
    }
  }
  bool converged() { return replication_caught_up(*cluster_); }
  void expect_every_ack_present(const ShardWriter& writer) {
    ASSERT_TRUE(eventually([&] { return converged(); }, seconds(20))) << cluster_->log_tail("sh");
    std::set<int64_t> at_bj = orders_at("bj"), at_sh = orders_at("sh");
    for (const auto& [id, ack] : writer.acks()) {
      EXPECT_TRUE(at_bj.count(id)) << "order " << id << " acknowledged by " << ack.zone << " is missing at bj";
      EXPECT_TRUE(at_sh.count(id)) << "order " << id << " acknowledged by " << ack.zone << " is missing at sh";
    }
    EXPECT_EQ(at_bj, at_sh);
    EXPECT_EQ(at_bj.size(), writer.acks().size()) << "first at bj: " << (at_bj.empty() ? -1 : *at_bj.begin());
  }
};

TEST_F(SwitchoverProcessTest, PlannedSwitchoverUnderWritesLosesNothingAndMovesTheWrites) {
  start_cluster("ack_timeout_ms = 5000\n");
  ShardWriter writer(*cluster_);
  writer.start();
  ASSERT_TRUE(eventually([&] { return writer.acked() >= 50; }, seconds(20))) << cluster_->log_tail("bj");

  auto [code, out] = cluster_->ezctl("bj", {"switchover", "--shards", "squares", "--to", "sh", "--id", "so-1"});
  ASSERT_EQ(code, 0) << out << cluster_->log_tail("bj");
  EXPECT_NE(out.find("so-1: done (write-forbidden window"), std::string::npos) << out;
  EXPECT_NE(out.find("[  0."), std::string::npos) << "no live progress shown: " << out;
  size_t at_switch = writer.acked();
  ASSERT_TRUE(eventually([&] { return writer.acked() >= at_switch + 50; }, seconds(20)))
      << writer.last_refusal() << "\n" << cluster_->log_tail("sh");
  writer.stop();

  json route = route_of_shard("bj");
  EXPECT_EQ(route.value("owner", ""), "sh") << route;
  EXPECT_EQ(route.value("state", ""), "active") << route;
  int by_sh = 0;
  for (const auto& [id, ack] : writer.acks()) by_sh += ack.zone == "sh";
  EXPECT_GE(by_sh, 50) << "the writes did not follow the shard to sh";
  expect_every_ack_present(writer);

  auto [wcode, wout] = cluster_->ezctl("sh", {"workflows", "so-1", "--json"});
  ASSERT_EQ(wcode, 0) << wout;
  json w = json::parse(wout);
  EXPECT_EQ(w["outcome"], "done");
  EXPECT_GT(w.value("window_ms", 0), 0);
  EXPECT_EQ(w.value("final_epoch", 0), w.value("forbid_epoch", 0) + 1);
  EXPECT_FALSE(w["high_water"].empty()) << w;
  std::vector<std::string> steps;
  for (const json& e : w["events"]) steps.push_back(e["step"]);
  EXPECT_EQ(steps, (std::vector<std::string>{"forbid", "await_acks", "await_apply", "transfer", "finished"}));

  // The same switchover again: a no-op with the same effect.
  auto [again, again_out] = cluster_->ezctl("sh", {"switchover", "--shards", "squares", "--to", "sh"});
  EXPECT_EQ(again, 0) << again_out;
  EXPECT_NE(again_out.find("already owned by sh"), std::string::npos) << again_out;
  EXPECT_EQ(route_of_shard("sh").value("epoch", 0), route.value("epoch", 0));
}

// The nodes share an admin token: a client without it gets 401 from every
// admin endpoint but /healthz and /metrics, and ezctl says how to give it;
// the coordinator sends it to the sites it waits on, so a switchover runs.
// They share a service token too: writes and reads of /dal/v1/tx carry it
// (ShardWriter), and one without it is refused 401.
TEST_F(SwitchoverProcessTest, WithAnAdminTokenOnlyItsHoldersReachTheAdminApiAndWorkflowsStillRun) {
  const std::string token = "switchover-test-admin-token-7d41b0";
  start_cluster("ack_timeout_ms = 5000\n", "", token, "switchover-test-service-token-2c9e");
  ShardWriter writer(*cluster_);
  writer.start();
  ASSERT_TRUE(eventually([&] { return writer.acked() >= 20; }, seconds(20)))
      << writer.last_refusal() << cluster_->log_tail("bj");
  auto anonymous_tx = net::http_request(cluster_->addresses("bj").http, "POST", "/dal/v1/tx",
                                        R"({"statements": [{"sql": "SELECT 1"}]})", "application/json", 2000);
  ASSERT_TRUE(anonymous_tx.ok()) << anonymous_tx.status().to_string();
  EXPECT_EQ(anonymous_tx->status, 401) << anonymous_tx->body;
  const std::string bj_admin = cluster_->addresses("bj").admin.to_string();
  auto anonymous = net::http_request(cluster_->addresses("bj").admin, "POST", "/admin/v1/routes/move", "{}",
                                     "application/json", 2000);
  ASSERT_TRUE(anonymous.ok()) << anonymous.status().to_string();
  EXPECT_EQ(anonymous->status, 401) << anonymous->body;
  auto health = net::http_request(cluster_->addresses("bj").admin, "GET", "/healthz", "", "", 2000);
  ASSERT_TRUE(health.ok());
  EXPECT_EQ(health->status, 200);

  auto [ncode, nout] = cluster_->run_ezctl_env({"--node", bj_admin, "routes"}, {{"EZONE_ADMIN_TOKEN", ""}});
  EXPECT_EQ(ncode, 1) << nout;
  EXPECT_NE(nout.find("needs its admin token"), std::string::npos) << nout;
  std::ofstream(dir_ + "/token") << token << "\n";
  auto [fcode, fout] = cluster_->run_ezctl_env(
      {"--node", bj_admin, "--admin-token-file", dir_ + "/token", "routes"}, {{"EZONE_ADMIN_TOKEN", ""}});
  EXPECT_EQ(fcode, 0) << fout;
  EXPECT_NE(fout.find("squares"), std::string::npos) << fout;
  auto [bcode, bout] = cluster_->run_ezctl_env({"--node", bj_admin, "--admin-token-file", dir_ + "/none", "routes"},
                                               {{"EZONE_ADMIN_TOKEN", ""}});
  EXPECT_EQ(bcode, 1) << bout;
  EXPECT_NE(bout.find("--admin-token-file"), std::string::npos) << bout;

  // Through EZONE_ADMIN_TOKEN (run_ezctl sets it).
  auto [code, out] = cluster_->ezctl("bj", {"switchover", "--shards", "squares", "--to", "sh", "--id", "so-t"});
  ASSERT_EQ(code, 0) << out << cluster_->log_tail("bj");
  EXPECT_NE(out.find("so-t: done"), std::string::npos) << out;
  EXPECT_EQ(route_of_shard("sh").value("owner", ""), "sh");
  const size_t at_switch = writer.acked();
  ASSERT_TRUE(eventually([&] { return writer.acked() >= at_switch + 20; }, seconds(20))) << writer.last_refusal();
  writer.stop();
  expect_every_ack_present(writer);

  auto metrics = net::http_request(cluster_->addresses("bj").admin, "GET", "/metrics", "", "", 2000);
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("ezone_admin_unauthorized_total{ezone=\"bj\",reason=\"missing\"} 2"),
            std::string::npos)
      << metrics->body.substr(0, 2000);
}

// A rotation of the admin token with no restart: each step is a file change
// and a reload of every ezoned (SIGHUP, or `ezctl tokens reload --all`).
// After the last step only the new token works, and a switchover still
// runs: the coordinator sends the reloaded token to the site it waits on.
TEST_F(SwitchoverProcessTest, ARotationOfTheAdminTokenBySighupNeedsNoRestartAndWorkflowsStillRun) {
  const std::string old_token = "rotation-test-old-admin-token-41", new_token = "rotation-test-new-admin-token-97";
  start_cluster("ack_timeout_ms = 5000\n", "", old_token);
  ASSERT_TRUE(eventually([&] { return route_of_shard("bj").is_object(); }, seconds(10)));
  auto status_with = [&](const std::string& ezone, const std::string& token) {
    net::HttpRequest req{"GET", "/admin/v1/cluster", "", "", {}};
    net::add_bearer_token(req, token);
    auto r = net::HttpConnection(cluster_->addresses(ezone).admin).request(req, 2000);
    return r.ok() ? r->status : -1;
  };
  size_t reloads = 0;
  auto rotate = [&](const std::string& text, const std::string& client, bool signal = true) {
    const Status rotated = cluster_->rotate_admin_token(text, client, signal);
    ASSERT_TRUE(rotated.is_ok()) << rotated.to_string();
    ++reloads;
    if (!signal) {
      auto [code, out] = cluster_->ezctl("bj", {"tokens", "reload", "--all"});
      EXPECT_EQ(code, 0) << out;
      const std::string at_bj = "bj (" + cluster_->addresses("bj").admin.to_string() + "): admin changed";
      const std::string at_sh = "sh (" + cluster_->addresses("sh").admin.to_string() + "): admin changed";
      EXPECT_NE(out.find(at_bj), std::string::npos) << out;
      EXPECT_NE(out.find(at_sh), std::string::npos) << out;
    }
    for (const char* ezone : {"bj", "sh"})
      ASSERT_TRUE(eventually([&] { return cluster_->reloads_logged(ezone) == reloads; }, seconds(10)))
          << cluster_->log_tail(ezone);
  };

  rotate(old_token + "\n" + new_token + "\n", old_token);  // 1: every node accepts both
  for (const char* ezone : {"bj", "sh"}) {
    EXPECT_EQ(status_with(ezone, old_token), 200) << ezone;
    EXPECT_EQ(status_with(ezone, new_token), 200) << ezone;
  }
  rotate(new_token + "\n" + old_token + "\n", new_token, false);  // 2: every node sends the new one
  rotate(new_token + "\n", new_token);                      // 4: only the new one
  for (const char* ezone : {"bj", "sh"}) {
    EXPECT_EQ(status_with(ezone, old_token), 401) << ezone;
    EXPECT_EQ(status_with(ezone, new_token), 200) << ezone;
    EXPECT_TRUE(cluster_->process(ezone).running()) << "SIGHUP must not stop ezoned";
  }

  auto [code, out] = cluster_->ezctl("bj", {"switchover", "--shards", "squares", "--to", "sh", "--id", "so-r"});
  ASSERT_EQ(code, 0) << out << cluster_->log_tail("bj");
  EXPECT_NE(out.find("so-r: done"), std::string::npos) << out;
  EXPECT_EQ(route_of_shard("sh").value("owner", ""), "sh");
  const std::string log = cluster_->log_tail("bj", 1 << 20);
  EXPECT_NE(log.find("event=tokens_reloaded ezone=bj cause=signal admin=changed"), std::string::npos) << log;
  EXPECT_EQ(log.find(new_token), std::string::npos) << "token values are never logged";
  // Without --all, one node; with a file that cannot be used, exit 1 and why.
  auto [one, one_out] = cluster_->ezctl("sh", {"tokens", "reload", "--json"});
  EXPECT_EQ(one, 0) << one_out;
  EXPECT_EQ(json::parse(one_out, nullptr, false)[0]["tokens"][0]["outcome"], "unchanged") << one_out;
  ASSERT_TRUE(cluster_->rotate_admin_token("short\n", new_token, false).is_ok());
  auto [bad, bad_out] = cluster_->ezctl("bj", {"tokens", "reload", "--all"});
  EXPECT_EQ(bad, 1) << bad_out;
  EXPECT_NE(bad_out.find("admin failed"), std::string::npos) << bad_out;
  EXPECT_NE(bad_out.find("stays as it was"), std::string::npos) << bad_out;
  EXPECT_EQ(status_with("sh", new_token), 200) << "a failed reload keeps the token in force";
  // LocalCluster writes its token files with the default umask (0644).
  EXPECT_NE(log.find("event=token_file_exposed ezone=bj token=admin"), std::string::npos) << log;
}

// node.admin over TLS with client certificates ([tls] client_certs), and an
// admin token: ezctl with the CA and a client certificate runs everything;
// without the certificate, without the CA or with another CA it is refused
// with the reason. The coordinator's calls to the sites (a switchover under
// writes, a rebalance weighed by the traffic the other node measured) and
// `tokens reload --all` go over TLS too. etcd serves TLS and asks for client
// certificates, so every lease, epoch CAS and watch of the nodes does too,
// and the cluster port ([tls] cluster) carries membership and the DRC pulls
// that the switchover waits on over mutual TLS.
TEST_F(SwitchoverProcessTest, OverTlsWithClientCertificatesEzctlAndTheCoordinatorStillWork) {
  ASSERT_NO_FATAL_FAILURE(make_dir());
  LocalClusterOptions options;
  options.admin_token = "switchover-tls-admin-token-5be2c1";
  const std::string tls = std::string(EZONE_TEST_SOURCE_DIR) + "/tests/data/tls";
  options.tls_dir = tls;
  options.tls_client_certs = true;
  options.etcd_tls = true;
  options.tls_cluster = true;
  options.extra_toml = "[dal]\nschema_file = \"" + dir_ + "/schema.toml\"\n\n[drc]\npull_wait_ms = 200\n"
                       "pull_timeout_ms = 1000\nretry_ms = 50\n\n[coordinator]\nack_timeout_ms = 5000\n";
  start(std::move(options));
  ShardWriter writer(*cluster_);
  writer.start();
  ASSERT_TRUE(eventually([&] { return writer.acked() >= 20; }, seconds(20)))
      << writer.last_refusal() << cluster_->log_tail("bj");

  const std::string bj_admin = cluster_->addresses("bj").admin.to_string();
  auto [scode, sout] = cluster_->ezctl("bj", {"status"});
  ASSERT_EQ(scode, 0) << sout;
  EXPECT_NE(sout.find("tls    node.admin (client certificates required), etcd, the cluster port; node.http in clear"),
            std::string::npos)
      << sout;
  // etcd asks for client certificates: the nodes present theirs, a client
  // without one is refused.
  EXPECT_NE(sout.find("etcd   reachable"), std::string::npos) << sout;
  auto bare = net::http_request(cluster_->etcd().endpoint(), "GET", "/health", "", "", 2000,
                                *net::TlsContext::client({"", "", tls + "/ca.crt"}));
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.status().message().find("the server refused this client's certificate"), std::string::npos)
      << bare.status().to_string();

  auto refused = [&](std::vector<std::pair<std::string, std::string>> env, const std::string& why) {
    env.emplace_back("EZONE_ADMIN_TOKEN", "switchover-tls-admin-token-5be2c1");
    auto [code, out] = cluster_->run_ezctl_env({"--node", bj_admin, "routes"}, env);
    EXPECT_EQ(code, 1) << out;
    EXPECT_NE(out.find(why), std::string::npos) << out;
  };
  refused({{"EZONE_TLS_CA_FILE", tls + "/ca.crt"}}, "certificate required");
  refused({{"EZONE_TLS_CA_FILE", tls + "/untrusted/ca.crt"}, {"EZONE_TLS_CERT_FILE", tls + "/client.crt"},
           {"EZONE_TLS_KEY_FILE", tls + "/client.key"}},
          "certificate verify failed");
  refused({}, "if the node has [tls], give ezctl --ca-file");
  // The options, in place of the environment.
  auto [ocode, oout] = cluster_->run_ezctl_env({"--node", bj_admin, "--ca-file", tls + "/ca.crt", "--cert-file",
                                                tls + "/client.crt", "--key-file", tls + "/client.key", "routes"},
                                               {{"EZONE_ADMIN_TOKEN", "switchover-tls-admin-token-5be2c1"}});
  EXPECT_EQ(ocode, 0) << oout;
  EXPECT_NE(oout.find("squares"), std::string::npos) << oout;
  // Plain HTTP at a TLS node.admin gets no answer.
  EXPECT_FALSE(net::http_request(cluster_->addresses("bj").admin, "GET", "/healthz", "", "", 2000).ok());

  // Traffic to "squares" through both routers, so the rebalance asks sh's
  // coordinator for bj's measure: over TLS, with the admin token.
  ASSERT_NO_FATAL_FAILURE(probe_squares(1));
  auto [rcode, rout] = cluster_->ezctl("sh", {"rebalance", "--target", "bj=0,sh=100", "--dry-run"});
  ASSERT_EQ(rcode, 0) << rout << cluster_->log_tail("sh");
  EXPECT_NE(rout.find("shard 1    squares              bj -> sh"), std::string::npos) << rout;

  auto [code, out] = cluster_->ezctl("bj", {"switchover", "--shards", "squares", "--to", "sh", "--id", "so-tls"});
  ASSERT_EQ(code, 0) << out << cluster_->log_tail("bj");
  EXPECT_NE(out.find("so-tls: done"), std::string::npos) << out;
  const size_t at_switch = writer.acked();
  ASSERT_TRUE(eventually([&] { return writer.acked() >= at_switch + 20; }, seconds(20))) << writer.last_refusal();
  writer.stop();
  expect_every_ack_present(writer);

  // A reload re-reads the certificates too (unchanged here), at both nodes.
  auto [tcode, tout] = cluster_->ezctl("bj", {"tokens", "reload", "--all"});
  EXPECT_EQ(tcode, 0) << tout;
  const std::string line = "): admin unchanged service not_a_file peer not_a_file tls unchanged etcd_tls unchanged\n";
  const size_t first = tout.find(line);
  ASSERT_NE(first, std::string::npos) << tout;
  EXPECT_NE(tout.find(line, first + 1), std::string::npos) << "one node did not reload its certificates: " << tout;
  json metrics_ok = admin("bj", "/admin/v1/cluster");
  EXPECT_EQ(metrics_ok["tls"].value("client_certs", false), true) << metrics_ok;
  EXPECT_EQ(metrics_ok["tls"].value("etcd", false), true) << metrics_ok;
  EXPECT_EQ(metrics_ok["tls"].value("cluster", false), true) << metrics_ok;
  // Both nodes saw each other over TLS and no handshake failed.
  for (const char* zone : {"bj", "sh"}) {
    auto m = cluster_->admin_request(zone, "GET", "/metrics", "", 3000);
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    const std::string none = "ezone_cluster_tls_handshake_failures_total{ezone=\"" + std::string(zone) + "\"} 0\n";
    EXPECT_NE(m->body.find(none), std::string::npos) << zone;
  }
}

TEST_F(SwitchoverProcessTest, DryRunChangesNothingAndCancelReturnsTheShard) {
  start_cluster("ack_timeout_ms = 60000\n");
  ASSERT_TRUE(eventually([&] { return route_of_shard("bj").is_object(); }, seconds(10)));
  const int64_t epoch = route_of_shard("bj").value("epoch", 0);
  auto [dcode, dout] = cluster_->ezctl("bj", {"switchover", "--shards", "squares", "--to", "sh", "--dry-run"});
  EXPECT_EQ(dcode, 0) << dout;
  EXPECT_NE(dout.find("dry run, nothing changed"), std::string::npos) << dout;
  EXPECT_EQ(route_of_shard("bj").value("epoch", 0), epoch);

  // sh, paused, cannot acknowledge the write-forbidden epoch: the
  // switchover waits there until the operator cancels it.
  ASSERT_TRUE(cluster_->process("sh").sigstop());
  auto [scode, sout] = cluster_->ezctl("bj", {"switchover", "--shards", "squares", "--to", "sh", "--id", "so-c", "--no-wait"});
  EXPECT_EQ(scode, 0) << sout;
  EXPECT_TRUE(eventually([&] {
    json w = admin("bj", "/admin/v1/workflows/so-c");
    return w.is_object() && w.value("step", "") == "await_acks";
  }, seconds(10)));
  EXPECT_EQ(route_of_shard("bj").value("state", ""), "write-forbidden");
  auto [ccode, cout] = cluster_->ezctl("bj", {"cancel", "so-c"});
  EXPECT_EQ(ccode, 0) << cout;
  EXPECT_NE(cout.find("so-c: cancelled"), std::string::npos) << cout;
  ASSERT_TRUE(cluster_->process("sh").sigcont());
  json route = route_of_shard("bj");
  EXPECT_EQ(route.value("owner", ""), "bj") << route;
  EXPECT_EQ(route.value("state", ""), "active") << route;
  auto [again, again_out] = cluster_->ezctl("bj", {"cancel", "so-c"});
  EXPECT_EQ(again, 1) << again_out;  // already finished
  EXPECT_NE(again_out.find("already finished"), std::string::npos) << again_out;
}

TEST_F(SwitchoverProcessTest, RebalanceWeighsShardsByTheTrafficTheRoutersMeasured) {
  start_cluster("ack_timeout_ms = 5000\n");
  // Traffic only to "squares" (shard 1, at bj).
  ASSERT_NO_FATAL_FAILURE(probe_squares(20));
  json traffic = admin("bj", "/admin/v1/traffic");
  EXPECT_EQ(traffic["shards"].value("1", 0), 40) << traffic;  // every request served at the owner
  // The node started less than the default window ago: the window is its
  // whole history, and says how long that is.
  EXPECT_EQ(traffic["window"]["shards"].value("1", 0), 40) << traffic;
  EXPECT_EQ(traffic["window"].value("requested_s", 0), 300) << traffic;
  EXPECT_LT(traffic["window"].value("span_s", 1e9), 300) << traffic;
  EXPECT_TRUE(admin("bj", "/admin/v1/traffic?window_s=0").is_null());  // refused: 400
  auto [code, out] = cluster_->ezctl("sh", {"rebalance", "--target", "bj=0,sh=100", "--dry-run", "--window", "600"});
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("weights measured: requests served per shard in the last 600 s (a node has only"),
            std::string::npos) << out;
  // Only the shard that carries traffic is worth moving; bj's idle shard 3 stays.
  EXPECT_NE(out.find("shard 1    squares              bj -> sh"), std::string::npos) << out;
  EXPECT_EQ(out.find("shard 3 "), std::string::npos) << out;
  EXPECT_NE(out.find("bj       100.0% ->   0.0%"), std::string::npos) << out;
  // Run for real: exactly the plan shown, one switchover, and it lands.
  auto [run_code, run_out] = cluster_->ezctl("sh", {"rebalance", "--target", "bj=0,sh=100"});
  ASSERT_EQ(run_code, 0) << run_out;
  EXPECT_NE(run_out.find(": done (write-forbidden window"), std::string::npos) << run_out;
  EXPECT_EQ(route_of_shard("sh").value("owner", ""), "sh");
  json t = admin("sh", "/admin/v1/routes");
  for (const json& shard : t["shards"]) {
    if (shard.value("id", -1) == 3) {
      EXPECT_EQ(shard.value("owner", ""), "bj") << "an idle shard moved";
    }
  }
}

TEST_F(SwitchoverProcessTest, KillNineOfAZoneFailsItsShardsOverAndTheReturningZoneStaysOff) {
  start_cluster("auto_failover = true\nskew_margin_ms = 300\n", "lease_ttl_s = 2\netcd_check_interval_ms = 200\n");
  ShardWriter writer(*cluster_);
  writer.start();
  ASSERT_TRUE(eventually([&] { return writer.acked() >= 30; }, seconds(20))) << cluster_->log_tail("bj");
  writer.stop();
  ASSERT_TRUE(eventually([&] { return converged(); }, seconds(20)));

  cluster_->process("bj").kill9();
  const auto killed = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually([&] { return route_of_shard("sh").value("owner", "") == "sh"; }, seconds(20)))
      << cluster_->log_tail("sh");
  const auto rto_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed).count();
  std::printf("failover after kill -9: shard owned by sh %lld ms later (lease 2 s, skew margin 300 ms)\n",
              static_cast<long long>(rto_ms));
  // The workflow journals "done" after its epoch CAS, which is what moved
  // the route: the route can be seen a moment before the journal says so.
  json workflows;
  auto auto_done = [&] {
    workflows = admin("sh", "/admin/v1/workflows");
    if (!workflows.is_object()) return false;
    for (const json& w : workflows["workflows"])
      if (w.value("kind", "") == "failover" && w.value("outcome", "") == "done" && w.value("dead_ezone", "") == "bj")
        return true;
    return false;
  };
  EXPECT_TRUE(eventually(auto_done, seconds(10))) << workflows.dump(2);

  // Every order bj acknowledged is at the survivor, and the survivor writes the shard.
  std::set<int64_t> at_sh = orders_at("sh");
  for (const auto& [id, ack] : writer.acks()) EXPECT_TRUE(at_sh.count(id)) << "order " << id << " lost";
  ShardWriterOptions from_a_million;
  from_a_million.first_id = 1000000;
  ShardWriter after(*cluster_, from_a_million);
  after.start();
  ASSERT_TRUE(eventually([&] { return after.acked() >= 10; }, seconds(20)))
      << after.last_refusal() << "\n" << cluster_->log_tail("sh");
  after.stop();

  // bj returns: it learns it owns nothing of the shard, and refuses its writes.
  ASSERT_TRUE(cluster_->start_zone("bj").is_ok());
  ASSERT_TRUE(cluster_->wait_ready("bj", 20000).is_ok());
  ASSERT_TRUE(eventually([&] { return route_of_shard("bj").value("owner", "") == "sh"; }, seconds(20)));
  json body{{"shard", kShard},
            {"epoch", route_of_shard("bj").value("epoch", 0)},
            {"statements", {{{"sql", "INSERT INTO orders(id, shard, state) VALUES(999999, 1, 'created')"}}}}};
  net::HttpRequest req;
  req.method = "POST";
  req.target = "/dal/v1/tx";
  req.body = body.dump();
  req.content_type = "application/json";
  auto r = net::HttpConnection(cluster_->addresses("bj").http).request(req, 5000);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r->status, 200) << r->body;
  EXPECT_NE(r->body.find("wrong_zone"), std::string::npos) << r->body;
}

}  // namespace
}  // namespace ezone::test
