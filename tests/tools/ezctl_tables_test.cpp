// ezctl soa's, drc's and schema's tables, and lines of ezctl status, from the
// documents the admin API serves.
#include "tools/ezctl/drc_command.hpp"
#include "tools/ezctl/schema_command.hpp"
#include "tools/ezctl/soa_command.hpp"
#include "tools/ezctl/status_command.hpp"

#include <gtest/gtest.h>

namespace ezctl {
namespace {

TEST(EzctlSoa, TheTableShowsEachServiceAndEachInstancesHealth) {
  const std::string doc = R"({"ezone": "bj", "services": [
    {"name": "pricing", "mode": "route", "master": "sh", "fallback": "reads", "health_path": "/health",
     "instances": [
       {"ezone": "bj", "address": "127.0.0.1:7301", "source": "config", "up": false, "since_wall_ms": 1000000, "failures": 3,
        "last_error": "connect_error: upstream 127.0.0.1:7301: cannot connect", "calls": 12, "errors": 2},
       {"ezone": "sh", "address": "127.0.0.1:7401", "source": "registered", "up": true, "since_wall_ms": 880000, "failures": 0,
        "last_error": "", "calls": 40, "errors": 0}]}]})";
  std::string table = format_soa_table(doc, 1'000'000 + 12'000);
  EXPECT_NE(table.find("ezone  bj"), std::string::npos) << table;
  EXPECT_NE(table.find("pricing   mode route (master sh)   fallback reads   health /health"), std::string::npos) << table;
  EXPECT_NE(table.find("127.0.0.1:7301         config     DOWN  12s    3        12        2       connect_error"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("127.0.0.1:7401         registered up"), std::string::npos) << table;
  const std::string secure = format_soa_table(
      R"({"ezone": "bj", "services": [{"name": "pay", "mode": "orig", "fallback": "all", "health_path": "/h",
          "tls": true, "instances": []}]})",
      0);
  EXPECT_NE(secure.find("pay   mode orig   fallback all   health /h   tls\n"), std::string::npos) << secure;
}

TEST(EzctlSoa, ADocumentOfAnotherShapeGivesNoTable) {
  EXPECT_EQ(format_soa_table("not json", 0), "");
  EXPECT_EQ(format_soa_table("[]", 0), "");
  EXPECT_EQ(format_soa_table(R"({"ezone": "bj"})", 0), "");
  EXPECT_EQ(format_soa_table(R"({"ezone": "bj", "services": 3})", 0), "");
}

TEST(EzctlStatus, TheIncidentLineSaysTheGradeAndWhy) {
  EXPECT_EQ(format_incident_line(R"({"grade": "P4", "window_s": 300, "requests": 1000, "failed_requests": 2,
                                      "reason": "failed requests 0.2% >= 0.1%"})"),
            "\nincident P4 over the last 300s: 2 of 1000 client requests failed (failed requests 0.2% >= 0.1%)\n");
  EXPECT_EQ(format_incident_line("{}"), "");
  EXPECT_EQ(format_incident_line("nope"), "");
}

TEST(EzctlStatus, TheCacheLineSaysWhatItHoldsAndHowItServes) {
  EXPECT_EQ(format_cache_line(R"({"tables": ["orders", "users"], "entries": 1200, "bytes": 2097152,
                                  "lookups": {"hit": 900, "miss": 100}, "invalidations": 40, "clears": {},
                                  "errors": 0, "off": false})"),
            "cache    orders,users: 1200 entries (2.0 MiB), 90.0% of 1000 lookups hit, 40 invalidations\n");
  EXPECT_EQ(format_cache_line(R"({"tables": ["orders"], "entries": 0, "bytes": 0, "lookups": {"hit": 0, "miss": 0},
                                  "invalidations": 0, "clears": {"feed_trimmed": 1}, "errors": 2, "off": true})"),
            "cache    orders: 0 entries (0.0 MiB), 0.0% of 0 lookups hit, 0 invalidations; cleared: feed_trimmed 1; "
            "2 errors; OFF (see the node's log)\n");
  EXPECT_EQ(format_cache_line("{}"), "");
  EXPECT_EQ(format_cache_line(R"({"entries": 1, "lookups": 3})"), "");
  EXPECT_EQ(format_cache_line("nope"), "");
}

TEST(EzctlStatus, AFencedNodeSaysWhyItRefusesWrites) {
  const std::string base = R"({"node": {"ezone": "bj", "admin": "a", "http": "h", "cluster": "c", "epoch": 2,
                                        "started_ms": 0}, "peers": [], "etcd": {"reachable": true}, "version": "v")";
  const std::string fenced = format_status_table(base + R"(, "writes": {"allowed": false,
                                                            "fenced": "fenced: this database is not the one"}})");
  EXPECT_NE(fenced.find("\nwrites FENCED: fenced: this database is not the one\n"), std::string::npos) << fenced;
  const std::string allowed = format_status_table(base + R"(, "writes": {"allowed": true, "fenced": ""}})");
  EXPECT_EQ(allowed.find("writes"), std::string::npos) << allowed;
  EXPECT_EQ(format_status_table(base + "}").find("writes"), std::string::npos);  // an older node
}

TEST(EzctlStatus, ANodeThatLeavesSomethingOpenSaysWhat) {
  const std::string base = R"({"node": {"ezone": "bj", "admin": "a", "http": "h", "cluster": "c", "epoch": 2,
                                        "started_ms": 0}, "peers": [], "etcd": {"reachable": true}, "version": "v")";
  const std::string closed =
      format_status_table(base + R"(, "tokens": {"admin": true, "service": true, "peer": true}})");
  EXPECT_EQ(closed.find("OPEN"), std::string::npos) << closed;
  const std::string open =
      format_status_table(base + R"(, "tokens": {"admin": false, "service": true, "peer": false}})");
  EXPECT_NE(open.find("\nOPEN   admin API (no [admin] token); route trails trusted from clients (no "
                      "router.peer_token)\n"),
            std::string::npos)
      << open;
  EXPECT_EQ(format_status_table(base + "}").find("OPEN"), std::string::npos);  // an older node
}

TEST(EzctlStatus, TheTlsLineSaysWhatCrossesTheNetworkInClear) {
  const std::string base = R"({"node": {"ezone": "bj", "admin": "a", "http": "h", "cluster": "c", "epoch": 2,
                                        "started_ms": 0}, "peers": [], "etcd": {"reachable": true}, "version": "v")";
  const std::string none = format_status_table(base + R"(, "tls": {"admin": false, "client_certs": false}})");
  EXPECT_NE(none.find("\ntls    none: tokens and data cross the network in clear\n"), std::string::npos) << none;
  const std::string admin = format_status_table(base + R"(, "tls": {"admin": true, "client_certs": true}})");
  EXPECT_NE(admin.find("\ntls    node.admin (client certificates required); node.http and the cluster port in "
                       "clear\n"),
            std::string::npos)
      << admin;
  const std::string server_only = format_status_table(base + R"(, "tls": {"admin": true, "client_certs": false}})");
  EXPECT_NE(server_only.find("\ntls    node.admin; node.http"), std::string::npos) << server_only;
  const std::string both = format_status_table(base + R"(, "tls": {"admin": true, "client_certs": false, "http": true}})");
  EXPECT_NE(both.find("\ntls    node.admin, node.http; the cluster port in clear\n"), std::string::npos) << both;
  const std::string all = format_status_table(
      base + R"(, "tls": {"admin": true, "client_certs": true, "http": true, "etcd": true}})");
  EXPECT_NE(all.find("\ntls    node.admin (client certificates required), node.http, etcd; the cluster port in "
                     "clear\n"),
            std::string::npos)
      << all;
  const std::string every = format_status_table(
      base + R"(, "tls": {"admin": true, "client_certs": true, "http": true, "etcd": true, "cluster": true}})");
  EXPECT_NE(every.find("\ntls    node.admin (client certificates required), node.http, etcd, the cluster port\n"),
            std::string::npos)
      << every;
  const std::string etcd_only = format_status_table(base + R"(, "tls": {"admin": false, "etcd": true}})");
  EXPECT_NE(etcd_only.find("\ntls    etcd; node.admin, node.http and the cluster port in clear\n"), std::string::npos)
      << etcd_only;
  EXPECT_EQ(format_status_table(base + "}").find("tls "), std::string::npos);  // an older node
}

TEST(EzctlDrc, AnOriginWhoseOutboxIsRefusedIsHaltedNotDown) {
  const std::string doc = R"({"ezone": "sh", "outbox_head": 3, "acknowledged_epoch": 2, "now_ms": 0, "peers": [
      {"origin": "bj", "connected": false, "refused": true, "cursor": 4, "head": 4, "lag_rows": 0, "lag_ms": 0,
       "last_apply_ms": 0, "last_error": "batch from 'bj' refused"},
      {"origin": "gz", "connected": false, "cursor": 1, "head": 1, "lag_rows": 0, "lag_ms": 0, "last_apply_ms": 0,
       "last_error": "peer 'gz' is not up"},
      {"origin": "sz", "connected": true, "refused": false, "cursor": 1, "head": 1, "lag_rows": 0, "lag_ms": 0,
       "last_apply_ms": 0, "last_error": ""}]})";
  const std::string table = format_drc_table(doc);
  EXPECT_NE(table.find("bj       HALTED"), std::string::npos) << table;
  EXPECT_NE(table.find("gz       DOWN"), std::string::npos) << table;
  EXPECT_NE(table.find("sz       up"), std::string::npos) << table;
}

TEST(EzctlSchema, TablesThatDifferShowWhatEachSiteHasMoreOrLessAndWhatWaits) {
  const nlohmann::json bj = nlohmann::json::parse(R"({"ezone": "bj", "tables": [
      {"name": "orders", "kind": "sharding-zone", "columns": "id INTEGER 1;state TEXT 0;tip INTEGER 0", "migrations": 1},
      {"name": "users", "kind": "global-zone", "columns": "id INTEGER 1;phone TEXT 0", "migrations": 0}],
    "halted": []})");
  const nlohmann::json sh = nlohmann::json::parse(R"({"ezone": "sh", "tables": [
      {"name": "orders", "kind": "sharding-zone", "columns": "id INTEGER 1;state TEXT 0;note TEXT 0", "migrations": 0},
      {"name": "users", "kind": "global-zone", "columns": "id INTEGER 1;phone TEXT 0", "migrations": 0}],
    "halted": [{"origin": "bj", "table": "orders", "parked_rows": 2, "reason": "it has column 'tip INTEGER'"}]})");
  SchemaReport r = format_schema_report({{"bj", bj, ""}, {"sh", sh, ""}});
  EXPECT_FALSE(r.agreed);
  EXPECT_NE(r.text.find("orders: DIFFERS between sites"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("  bj  1 migration  +tip INTEGER -note TEXT\n"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("  sh  0 migrations  +note TEXT -tip INTEGER\n"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("users: the same at bj, sh (0 migrations): id INTEGER (key), phone TEXT\n"), std::string::npos)
      << r.text;
  EXPECT_NE(r.text.find("HALTED at sh: orders from bj, 2 rows parked: it has column 'tip INTEGER'"), std::string::npos)
      << r.text;

  // The same columns everywhere and nothing halted: agreed.
  nlohmann::json sh_done = bj;
  sh_done["ezone"] = "sh";
  r = format_schema_report({{"bj", bj, ""}, {"sh", sh_done, ""}});
  EXPECT_TRUE(r.agreed) << r.text;
  EXPECT_NE(r.text.find("orders: the same at bj, sh (1 migration): id INTEGER (key), state TEXT, tip INTEGER"),
            std::string::npos) << r.text;
  // The same columns in another order: still not agreement, and said so.
  nlohmann::json sh_order = bj;
  sh_order["ezone"] = "sh";
  sh_order["tables"][0]["columns"] = "id INTEGER 1;tip INTEGER 0;state TEXT 0";
  r = format_schema_report({{"bj", bj, ""}, {"sh", sh_order, ""}});
  EXPECT_FALSE(r.agreed);
  EXPECT_NE(r.text.find("orders: DIFFERS: the same columns in another order"), std::string::npos) << r.text;
  // An answer with fields of another type is not used, and not a crash.
  nlohmann::json odd = bj;
  odd["ezone"] = "sh";
  odd["halted"] = nlohmann::json::array({{{"table", 7}}});
  r = format_schema_report({{"bj", bj, ""}, {"sh", odd, ""}});
  EXPECT_FALSE(r.agreed);
  EXPECT_NE(r.text.find("UNREACHABLE sh: its answer is malformed"), std::string::npos) << r.text;
  EXPECT_NE(r.text.find("orders: the same at bj (1 migration)"), std::string::npos) << r.text;
  // A site that does not answer is never agreement.
  r = format_schema_report({{"bj", bj, ""}, {"sh", nlohmann::json(), "cannot reach node 127.0.0.1:7201"}});
  EXPECT_FALSE(r.agreed);
  EXPECT_NE(r.text.find("UNREACHABLE sh: cannot reach node 127.0.0.1:7201"), std::string::npos) << r.text;
}

}  // namespace
}  // namespace ezctl
