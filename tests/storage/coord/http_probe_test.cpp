// HttpSiteProbe against fake nodes: the site report's lineages, and a
// target whose cursor is of an outbox that a re-seed of the origin replaced
// (its seq says nothing of the current outbox, which starts again at 1).
#include "storage/coord/http_probe.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "storage/meta/memory_meta_store.hpp"
#include "tests/support/fake_http_server.hpp"

namespace ezone::coord {
namespace {

// A node answering GET /admin/v1/coord/site with whatever report it holds now.
class FakeSite {
 public:
  explicit FakeSite(SiteReport report) : report_(std::move(report)) {
    auto server = test::FakeHttpServer::start([this](test::FakeConnection& conn) {
      while (!conn.read_request().empty()) {
        std::string body;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          body = encode_site_report_json(report_);
          ++asked_;
        }
        if (!conn.send("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body))
          return;
      }
    });
    EXPECT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(*server);
  }
  void set(SiteReport report) {
    std::lock_guard<std::mutex> lock(mutex_);
    report_ = std::move(report);
  }
  int asked() {
    std::lock_guard<std::mutex> lock(mutex_);
    return asked_;
  }
  std::string admin() const { return server_->endpoint().to_string(); }

 private:
  std::mutex mutex_;
  SiteReport report_;
  int asked_ = 0;
  std::unique_ptr<test::FakeHttpServer> server_;
};

SiteReport report(const std::string& ezone, uint64_t head, uint64_t lineage) {
  SiteReport r;
  r.ezone = ezone;
  r.acknowledged_epoch = 3;
  r.outbox_head = head;
  r.lineage = lineage;
  return r;
}

TEST(HttpSiteProbe, ACursorOfAReplacedOutboxHasAppliedNothingOfTheCurrentOne) {
  SiteReport sh_report = report("sh", 25, 7);  // re-seeded: lineage 7, its seqs started again at 1
  SiteReport bj_report = report("bj", 40, 3);
  bj_report.applied["sh"] = 25;  // of sh's lost outbox, lineage 5
  bj_report.applied_lineage["sh"] = 5;
  FakeSite sh(sh_report), bj(bj_report);
  meta::MemoryMetaStore store(SystemClock::instance());
  ASSERT_TRUE(store.put(std::string(kNodeKeyPrefix) + "sh", "{\"admin\": \"" + sh.admin() + "\"}").ok());
  ASSERT_TRUE(store.put(std::string(kNodeKeyPrefix) + "bj", "{\"admin\": \"" + bj.admin() + "\"}").ok());
  WorkflowJournal journal(store);

  HttpSiteProbe fresh(journal, 2000);  // never asked sh's head: it asks sh's lineage
  EXPECT_EQ(*fresh.applied("bj", "sh"), 0u) << "seq 25 of lineage 5 is not seq 25 of lineage 7";
  EXPECT_EQ(sh.asked(), 1);

  HttpSiteProbe probe(journal, 2000);
  ASSERT_EQ(*probe.outbox_head("sh"), 25u);
  EXPECT_EQ(*probe.applied("bj", "sh"), 0u);
  EXPECT_EQ(sh.asked(), 2) << "the lineage came with sh's head";
  bj_report.applied["sh"] = 9;  // bj restarted sh's new outbox from seq 1
  bj_report.applied_lineage["sh"] = 7;
  bj.set(bj_report);
  EXPECT_EQ(*probe.applied("bj", "sh"), 9u);
  bj_report.applied_lineage["sh"] = 0;  // a cursor from before lineages: its seq as it is
  bj_report.applied["sh"] = 30;
  bj.set(bj_report);
  EXPECT_EQ(*probe.applied("bj", "sh"), 30u);
  EXPECT_EQ(*probe.applied("bj", "gz"), 0u) << "nothing applied of an origin it never pulled";
}

TEST(HttpSiteProbe, ASiteReportWithoutLineagesStillDecodesAndBadOnesAreRefused) {
  auto old = decode_site_report_json(R"({"ezone": "bj", "acknowledged_epoch": 3, "outbox_head": 4,
                                         "applied": {"sh": 2}})");
  ASSERT_TRUE(old.ok()) << old.status().to_string();
  EXPECT_EQ(old->lineage, 0u);
  EXPECT_TRUE(old->applied_lineage.empty());
  SiteReport r = report("bj", 4, 11);
  r.applied["sh"] = 2;
  r.applied_lineage["sh"] = 12;
  auto round = decode_site_report_json(encode_site_report_json(r));
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(round->lineage, 11u);
  EXPECT_EQ(round->applied_lineage.at("sh"), 12u);
  auto bad = decode_site_report_json(R"({"ezone": "bj", "acknowledged_epoch": 3, "outbox_head": 4,
                                         "applied": {}, "applied_lineage": {"sh": "x"}})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("applied_lineage.sh"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(decode_site_report_json(R"({"ezone": "bj", "acknowledged_epoch": 3, "outbox_head": 4,
                                           "applied": {}, "lineage": -1})")
                   .ok());
}

}  // namespace
}  // namespace ezone::coord
