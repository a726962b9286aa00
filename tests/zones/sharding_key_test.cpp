#include "zones/sharding_key.hpp"

#include <gtest/gtest.h>

namespace ezone {

TEST(ShardingKey, ParsesGeoPoints) {
  auto k = parse_sharding_key("geo=31.23,121.47");
  ASSERT_TRUE(k.ok()) << k.status().to_string();
  EXPECT_EQ(k->kind, ShardingKey::Kind::geo);
  EXPECT_DOUBLE_EQ(k->point.lat, 31.23);
  EXPECT_DOUBLE_EQ(k->point.lon, 121.47);
  EXPECT_TRUE(parse_sharding_key("geo=-33.5, 151").ok()) << "a space after the comma is fine";
}

TEST(ShardingKey, ParsesIds) {
  auto m = parse_sharding_key("merchant=8812");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind, ShardingKey::Kind::merchant);
  EXPECT_EQ(m->id, 8812u);
  auto o = parse_sharding_key("order=18446744073709551615");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->id, 18446744073709551615ull);
  EXPECT_EQ(o->to_string(), "order=18446744073709551615");
}

TEST(ShardingKey, ParsesEzoneKeys) {
  auto z = parse_sharding_key("ezone=bj");
  ASSERT_TRUE(z.ok()) << z.status().to_string();
  EXPECT_EQ(z->kind, ShardingKey::Kind::ezone);
  EXPECT_EQ(z->ezone, "bj");
  EXPECT_EQ(z->to_string(), "ezone=bj");
  for (const char* bad : {"ezone=", "ezone=BJ", "ezone=b j", "ezone=0123456789012345678901234567890123"}) {
    auto k = parse_sharding_key(bad);
    ASSERT_FALSE(k.ok()) << bad;
    EXPECT_NE(k.status().message().find("[a-z0-9_-]"), std::string::npos) << k.status().message();
  }
}

TEST(ShardingKey, RejectsMalformedKeysWithClearMessages) {
  struct Case {
    const char* text;
    const char* says;
  } cases[] = {
      {"", "must look like"},
      {"31.2,121.4", "must look like"},
      {"city=beijing", "unknown sharding key kind"},
      {"geo=31.2", "LAT,LON"},
      {"geo=abc,121", "latitude 'abc' is not a number"},
      {"geo=31,", "longitude '' is not a number"},
      {"geo=91,121", "outside -90..90"},
      {"geo=31,181", "outside -180..180"},
      {"geo=nan,121", "not a number"},
      {"geo=inf,121", "not a number"},
      {"geo=31.2x,121", "not a number"},
      {"merchant=", "1-20 decimal digits"},
      {"merchant=-5", "not a decimal number"},
      {"order=12a", "not a decimal number"},
      {"order=18446744073709551616", "too large"},
      {"order=123456789012345678901", "1-20 decimal digits"},
  };
  for (const auto& c : cases) {
    auto k = parse_sharding_key(c.text);
    ASSERT_FALSE(k.ok()) << c.text;
    EXPECT_EQ(k.status().code(), Errc::invalid_argument) << c.text;
    EXPECT_NE(k.status().message().find(c.says), std::string::npos)
        << c.text << " -> " << k.status().message();
  }
}

TEST(ShardingKey, GeoTextRoundTrips) {
  auto k = parse_sharding_key("geo=39.904200,116.407400");
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->to_string(), "geo=39.904200,116.407400");
}

}  // namespace ezone
