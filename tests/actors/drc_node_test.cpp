// The DAL and DRC inside real Nodes (two in one process, replicating over
// the CAF cluster): the HTTP transaction API with its refusals, replication
// with its watermark, and catching up after a peer was down.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <atomic>
#include <fstream>
#include <mutex>
#include <thread>

#include "actors/gzs/gzs.hpp"
#include "storage/dal/dal.hpp"
#include "storage/net/http_client.hpp"
#include "tests/actors/dal_node_fixture.hpp"
#include "tests/support/eventually.hpp"
#include "tests/support/test_schema.hpp"

namespace ezone {
namespace {

using nlohmann::json;
using test::eventually;

class DrcNodeTest : public test::DalNodeTest {};

TEST_F(DrcNodeTest, AWriteThroughTheHttpApiReplicatesToThePeer) {
  auto bj = start_node("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start_node("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  const Epoch epoch = (*bj)->gzs().epoch();
  // Shard 1 ("squares") is bj's in test-fences.toml.
  ASSERT_TRUE(commit_once_leased(insert_order(1, 1, epoch)));
  auto second = tx(bj_ports_.http, insert_order(2, 1, epoch));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->status, 200) << second->body;
  EXPECT_EQ(json::parse(second->body)["committed"], true);

  ASSERT_TRUE(eventually([&] { return !checksum(bj_ports_.admin).empty() &&
                                      checksum(bj_ports_.admin) == checksum(sh_ports_.admin); }));
  ASSERT_TRUE(eventually([&] {
    json drc = admin_get(sh_ports_.admin, "/admin/v1/drc");
    return drc.is_object() && drc["peers"].size() == 1 && drc["peers"][0]["cursor"] == 2 &&
           drc["peers"][0]["lag_rows"] == 0 && drc["peers"][0]["connected"] == true;
  }));
  auto rows = (*sh)->dal()->query("SELECT COUNT(*) FROM orders");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(std::get<int64_t>(rows.value()[0][0]), 2);
  // sh applied, never re-shipped: its own outbox is empty.
  EXPECT_EQ((*sh)->dal()->outbox_head(), 0u);
  EXPECT_NE((*sh)->metrics().render().find("ezone_drc_cursor_seq{ezone=\"sh\",origin=\"bj\"} 2"), std::string::npos);
}

// [tls] cluster = true: membership and DRC pulls over mutual TLS. A
// transaction of many TLS records replicates whole; a plain client, or one
// whose certificate another CA signed, is refused at the handshake, counted
// and logged, and BASP never sees its bytes; the peers stay up.
TEST_F(DrcNodeTest, OverClusterTlsABigTransactionReplicatesAndStrangersAreRefused) {
  const std::string d = std::string(EZONE_TEST_SOURCE_DIR) + "/tests/data/tls";
  auto admin = net::TlsContext::server({d + "/node.crt", d + "/node.key", ""});
  auto cluster = net::TlsContext::server({d + "/node.crt", d + "/node.key", d + "/ca.crt"});
  auto client = net::TlsContext::client({d + "/node.crt", d + "/node.key", d + "/ca.crt"});
  ASSERT_TRUE(admin.ok() && cluster.ok() && client.ok());
  configure = [dal = configure, admin = *admin, cluster = *cluster, client = *client](NodeConfig& c) {
    dal(c);
    c.tls.server = admin;
    c.tls.client = client;
    c.tls.cluster = true;
    c.tls.cluster_server = cluster;
  };
  admin_tls_ = *client;
  auto bj = start_node("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start_node("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  const Epoch epoch = (*bj)->gzs().epoch();
  ASSERT_TRUE(commit_once_leased(insert_order(1, 1, epoch)));
  json big = insert_order(2, 1, epoch);
  for (int64_t id = 3; id < 11; ++id)
    big["statements"].push_back({{"sql", "INSERT INTO orders(id, shard, state) VALUES(?1, ?2, ?3)"},
                                 {"params", {id, 1, std::string(100000, static_cast<char>('a' + id))}}});
  auto r = tx(bj_ports_.http, big);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->status, 200) << r->body;
  ASSERT_TRUE(eventually([&] {
    return !checksum(bj_ports_.admin).empty() && checksum(bj_ports_.admin) == checksum(sh_ports_.admin);
  })) << checksum(bj_ports_.admin) << " / " << checksum(sh_ports_.admin);
  auto rows = (*sh)->dal()->query("SELECT COUNT(*), SUM(LENGTH(state)) FROM orders");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(std::get<int64_t>(rows.value()[0][0]), 10);
  EXPECT_EQ(std::get<int64_t>(rows.value()[0][1]), 8 * 100000 + 2 * 7);

  // Strangers at bj's cluster port: plain BASP bytes, and TLS with a
  // certificate from another CA.
  auto& failures = (*bj)->metrics().counter("ezone_cluster_tls_handshake_failures_total", "");
  const uint64_t before = failures.value();
  auto plain = net::http_request({"127.0.0.1", bj_ports_.cluster}, "GET", "/", "", "", 3000);
  EXPECT_FALSE(plain.ok());
  auto untrusted = net::TlsContext::client({d + "/untrusted/node.crt", d + "/untrusted/node.key", d + "/ca.crt"});
  ASSERT_TRUE(untrusted.ok());
  auto stranger = net::http_request({"127.0.0.1", bj_ports_.cluster}, "GET", "/", "", "", 3000, *untrusted);
  ASSERT_FALSE(stranger.ok());
  EXPECT_TRUE(eventually([&] { return failures.value() >= before + 2; })) << failures.value() - before;
  json cluster_doc = admin_get(bj_ports_.admin, "/admin/v1/cluster");
  EXPECT_EQ(cluster_doc["tls"].value("cluster", false), true) << cluster_doc;
  // The real peer is untouched, and still replicates.
  ASSERT_TRUE(commit_once_leased(insert_order(11, 1, epoch)));
  EXPECT_TRUE(eventually([&] { return checksum(bj_ports_.admin) == checksum(sh_ports_.admin); }));
  EXPECT_EQ((*bj)->metrics().counter("ezone_cluster_refused_connections_total", "").value(), 0u);
}

TEST_F(DrcNodeTest, TheHttpApiRefusesWrongZoneWritesDdlAndMalformedRequests) {
  auto bj = start_node("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  const Epoch epoch = (*bj)->gzs().epoch();
  ASSERT_TRUE(commit_once_leased(insert_order(1, 1, epoch)));
  auto wrong = tx(bj_ports_.http, insert_order(5, 2, epoch));  // shard 2 is sh's
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 409) << wrong->body;
  EXPECT_EQ(json::parse(wrong->body)["refusal"], "wrong_zone");

  auto ddl = tx(bj_ports_.http, json{{"statements", {{{"sql", "DROP TABLE orders"}}}}});
  ASSERT_TRUE(ddl.ok());
  EXPECT_EQ(ddl->status, 400) << ddl->body;
  EXPECT_EQ(json::parse(ddl->body)["refusal"], "statement_refused");

  auto two = tx(bj_ports_.http, json{{"shard", 1}, {"epoch", epoch},
                                     {"statements", {{{"sql", "DELETE FROM orders; DELETE FROM users"}}}}});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->status, 400) << two->body;

  net::HttpRequest garbage;
  garbage.method = "POST";
  garbage.target = "/dal/v1/tx";
  garbage.body = "{not json";
  auto bad = net::HttpConnection({"127.0.0.1", bj_ports_.http}).request(garbage, 5000);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400);
  garbage.body = R"({"statements":[{"sql":"SELECT 1","params":)" + std::string(400000, '[') + std::string(400000, ']') + "}]}";
  bad = net::HttpConnection({"127.0.0.1", bj_ports_.http}).request(garbage, 5000);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400) << bad->body;
  EXPECT_NE(bad->body.find("nested deeper than 64 levels"), std::string::npos) << bad->body;
  auto stale = tx(bj_ports_.http, insert_order(6, 1, epoch + 5));
  ASSERT_TRUE(stale.ok());
  EXPECT_EQ(stale->status, 503) << stale->body;
  EXPECT_FALSE(stale->header("Retry-After").empty());

  auto select = tx(bj_ports_.http, json{{"statements", {{{"sql", "SELECT id, state FROM orders"}}}}});
  ASSERT_TRUE(select.ok());
  EXPECT_EQ(select->status, 200) << select->body;
  EXPECT_EQ(json::parse(select->body)["results"][0]["rows"], json::parse(R"([[1,"created"]])"));
  // TEXT that is not UTF-8 comes back with U+FFFD for each bad byte, not as a
  // 500 from the JSON encoder (regression, found by fuzzing).
  auto latin1 = tx(bj_ports_.http, json{{"statements", {{{"sql", "SELECT CAST(x'41ff42' AS TEXT)"}}}}});
  ASSERT_TRUE(latin1.ok());
  EXPECT_EQ(latin1->status, 200) << latin1->body;
  EXPECT_EQ(json::parse(latin1->body)["results"][0]["rows"][0][0], "A\xEF\xBF\xBD" "B");
  // A statement that runs past dal.statement_ms_max is stopped: a 422 that
  // names the limit, and the writer serves the next request.
  auto endless = tx(bj_ports_.http, json{{"statements", {{{"sql", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL "
                                                                   "SELECT x + 1 FROM c) SELECT count(*) FROM c"}}}}});
  ASSERT_TRUE(endless.ok());
  EXPECT_EQ(endless->status, 422) << endless->body;
  EXPECT_NE(endless->body.find("ran longer than 300 ms"), std::string::npos) << endless->body;
  EXPECT_TRUE(endless->header("Retry-After").empty());
  const std::string metrics = (*bj)->metrics().render();
  EXPECT_NE(metrics.find("ezone_dal_refusals_total{ezone=\"bj\",reason=\"wrong_zone\"} 1"), std::string::npos);
  EXPECT_NE(metrics.find("ezone_dal_http_bad_requests_total{ezone=\"bj\"} 2"), std::string::npos);
}

TEST_F(DrcNodeTest, APeerThatWasDownCatchesUpExactlyOnce) {
  auto bj = start_node("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start_node("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  const Epoch epoch = (*bj)->gzs().epoch();
  ASSERT_TRUE(commit_once_leased(insert_order(0, 1, epoch)));
  ASSERT_TRUE(eventually([&] { return checksum(bj_ports_.admin) == checksum(sh_ports_.admin); }));
  // bj's view of sh, which never writes: {connected, last_error}.
  auto sh_at_bj = [&] {
    json d = admin_get(bj_ports_.admin, "/admin/v1/drc");
    if (!d.is_object() || !d["peers"].is_array()) return json();
    for (const json& p : d["peers"])
      if (p.value("origin", "") == "sh") return json{p["connected"], p["last_error"]};
    return json();
  };
  ASSERT_TRUE(eventually([&] { return sh_at_bj() == json{true, ""}; })) << sh_at_bj().dump();
  (*sh)->stop();
  sh->reset();
  ASSERT_TRUE(eventually([&] { return sh_at_bj()[0] == false; })) << sh_at_bj().dump();
  EXPECT_NE(sh_at_bj()[1].get<std::string>(), "");
  for (int i = 1; i <= 60; ++i) {
    auto r = tx(bj_ports_.http, insert_order(i, 1, epoch));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->status, 200) << r->body;
  }
  auto again = start_node("sh");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  ASSERT_TRUE(eventually([&] { return checksum(bj_ports_.admin) == checksum(sh_ports_.admin); }));
  auto rows = (*again)->dal()->query("SELECT COUNT(*) FROM orders");
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(std::get<int64_t>(rows.value()[0][0]), 61);
  auto cursor = (*again)->dal()->cursor("bj");
  ASSERT_TRUE(cursor.ok());
  EXPECT_EQ(cursor.value(), 61u);
  // sh is back with nothing new of its own: bj shows it up, error cleared.
  EXPECT_TRUE(eventually([&] { return sh_at_bj() == json{true, ""}; })) << sh_at_bj().dump();
}

TEST_F(DrcNodeTest, TheChangeFeedStreamsReplayedAndLiveChangesAsServerSentEvents) {
  auto bj = start_node("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start_node("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  const Epoch epoch = (*bj)->gzs().epoch();
  ASSERT_TRUE(commit_once_leased(insert_order(1, 1, epoch)));
  ASSERT_TRUE(eventually([&] { return checksum(bj_ports_.admin) == checksum(sh_ports_.admin); }));

  // At sh: replay from the start, then stay for live changes.
  std::atomic<bool> cancel{false};
  std::string received;
  std::mutex mu;
  std::thread reader([&] {
    net::HttpRequest req;
    req.method = "GET";
    req.target = "/drc/v1/changes?tables=orders&since=0";
    auto end = net::http_stream({"127.0.0.1", sh_ports_.http}, req, 3000, cancel, [&](const std::string& piece) {
      std::lock_guard<std::mutex> lock(mu);
      received += piece;
      return received.find("\"pk\":\"[2]\"") == std::string::npos;  // stop after the live event
    });
    EXPECT_TRUE(end.ok()) << end.status().to_string();
  });
  auto has = [&](const std::string& text) {
    std::lock_guard<std::mutex> lock(mu);
    return received.find(text) != std::string::npos;
  };
  EXPECT_TRUE(eventually([&] { return has("\"pk\":\"[1]\""); }, std::chrono::seconds(10)));
  auto r = tx(bj_ports_.http, insert_order(2, 1, epoch));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(eventually([&] { return has("\"pk\":\"[2]\""); }, std::chrono::seconds(10)));
  cancel = true;
  reader.join();
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_NE(received.find("event: change\ndata: {"), std::string::npos) << received;
  EXPECT_NE(received.find("\"origin\":\"bj\""), std::string::npos) << received;
  EXPECT_NE(received.find("\"table\":\"orders\""), std::string::npos) << received;
  EXPECT_EQ(received.find("\"pk\":\"[1]\"", received.find("\"pk\":\"[1]\"") + 1), std::string::npos)
      << "replayed once, not again live: " << received;

  // Bad requests are refused with a reason.
  auto bad = net::http_request({"127.0.0.1", sh_ports_.http}, "GET", "/drc/v1/changes?tables=nope", "", "", 2000);
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->status, 400) << bad->body;
}

}  // namespace
}  // namespace ezone
