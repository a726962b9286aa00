// ezctl soa's table, from the document GET /admin/v1/soa serves.
#include "tools/ezctl/soa_command.hpp"

#include <gtest/gtest.h>

namespace ezctl {
namespace {

TEST(EzctlSoa, TheTableShowsEachServiceAndEachInstancesHealth) {
  const std::string doc = R"({"ezone": "bj", "services": [
    {"name": "pricing", "mode": "route", "master": "sh", "fallback": "reads", "health_path": "/health",
     "instances": [
       {"ezone": "bj", "address": "127.0.0.1:7301", "up": false, "since_wall_ms": 1000000, "failures": 3,
        "last_error": "connect_error: upstream 127.0.0.1:7301: cannot connect", "calls": 12, "errors": 2},
       {"ezone": "sh", "address": "127.0.0.1:7401", "up": true, "since_wall_ms": 880000, "failures": 0,
        "last_error": "", "calls": 40, "errors": 0}]}]})";
  std::string table = format_soa_table(doc, 1'000'000 + 12'000);
  EXPECT_NE(table.find("ezone  bj"), std::string::npos) << table;
  EXPECT_NE(table.find("pricing   mode route (master sh)   fallback reads   health /health"), std::string::npos) << table;
  EXPECT_NE(table.find("127.0.0.1:7301         DOWN  12s    3        12        2       connect_error"), std::string::npos)
      << table;
  EXPECT_NE(table.find("127.0.0.1:7401         up"), std::string::npos) << table;
}

TEST(EzctlSoa, ADocumentOfAnotherShapeGivesNoTable) {
  EXPECT_EQ(format_soa_table("not json", 0), "");
  EXPECT_EQ(format_soa_table("[]", 0), "");
  EXPECT_EQ(format_soa_table(R"({"ezone": "bj"})", 0), "");
  EXPECT_EQ(format_soa_table(R"({"ezone": "bj", "services": 3})", 0), "");
}

}  // namespace
}  // namespace ezctl
