#include "core/address.hpp"

#include <gtest/gtest.h>

namespace ezone {

TEST(Address, ParsesHostAndPort) {
  auto a = parse_host_port("127.0.0.1:7100");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 7100);
  EXPECT_EQ(a->to_string(), "127.0.0.1:7100");
}

TEST(Address, ParsesBracketedIpv6) {
  auto a = parse_host_port("[::1]:9");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->host, "::1");
  EXPECT_EQ(a->to_string(), "[::1]:9");
}

TEST(Address, RejectsMalformed) {
  for (const char* bad : {"", "127.0.0.1", "127.0.0.1:", ":80", "host:0", "host:65536",
                          "host:12a", "::1:80", "[::1]80", "ho st:80", "h:123456"}) {
    auto a = parse_host_port(bad);
    EXPECT_FALSE(a.ok()) << bad;
    EXPECT_EQ(a.status().code(), Errc::invalid_argument) << bad;
  }
}

TEST(Address, RecognisesWildcards) {
  EXPECT_TRUE(is_wildcard_host("0.0.0.0"));
  EXPECT_TRUE(is_wildcard_host("::"));
  EXPECT_FALSE(is_wildcard_host("127.0.0.1"));
}

}  // namespace ezone
