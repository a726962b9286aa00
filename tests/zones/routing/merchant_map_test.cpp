#include "zones/routing/merchant_map.hpp"

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <sstream>

namespace ezone {
namespace {

Result<MerchantMap> parse(const std::string& text) {
  std::istringstream in(text);
  return MerchantMap::parse_csv(in, "merchants.csv");
}

void expect_csv_error(const std::string& text, const std::string& expected) {
  auto map = parse(text);
  ASSERT_FALSE(map.ok()) << "parsed: " << text.substr(0, 100);
  EXPECT_EQ(map.status().code(), Errc::parse_error);
  EXPECT_NE(map.status().message().find(expected), std::string::npos)
      << "message: " << map.status().message() << "\nexpected: " << expected;
}

TEST(MerchantMapCsv, ParsesThreeColumnsWithCommentsAndBlankLines) {
  auto map = parse(
      "# merchants of the takeout demo\n"
      "\n"
      "merchant_id,fence_id,shard\n"
      "8812,17,3\n"
      "  8813 , 18 , 4  \r\n"
      "# a comment between rows\n"
      "18446744073709551615,2147483647,1023");  // no final newline
  ASSERT_TRUE(map.ok()) << map.status().to_string();
  EXPECT_EQ(map->size(), 3u);
  EXPECT_EQ(*map->find(8812), (MerchantRoute{8812, 17, 3}));
  EXPECT_EQ(*map->find(8813), (MerchantRoute{8813, 18, 4}));
  EXPECT_EQ(map->find(UINT64_MAX)->shard, 1023u);
  EXPECT_FALSE(map->find(1).has_value());
}

TEST(MerchantMapCsv, ParsesTwoColumnsWithoutFences) {
  auto map = parse("\xEF\xBB\xBFmerchant_id,shard\r\n5,1\r\n6,2\r\n");
  ASSERT_TRUE(map.ok()) << map.status().to_string();
  EXPECT_EQ(*map->find(5), (MerchantRoute{5, kNoFence, 1}));
  EXPECT_EQ(map->find(6)->fence_id, kNoFence);
}

TEST(MerchantMapCsv, HeaderOnlyIsAnEmptyMap) {
  auto map = parse("merchant_id,fence_id,shard\n");
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->size(), 0u);
}

TEST(MerchantMapCsv, ReportsFileAndLineForBadInput) {
  const std::string header = "merchant_id,fence_id,shard\n";
  expect_csv_error("", "merchants.csv: no header line");
  expect_csv_error("# only a comment\n\n", "no header line");
  expect_csv_error("merchant,shard\n1,2\n", "merchants.csv:1: expected the header");
  expect_csv_error("8812,17,3\n", "merchants.csv:1: expected the header");
  expect_csv_error("# c\n\nmerchant_id,shard,fence_id\n", "merchants.csv:3: expected the header");
  expect_csv_error(header + "8812,17\n", "merchants.csv:2: expected 3 fields (merchant_id,fence_id,shard), got 2");
  expect_csv_error(header + "8812,17,3,9\n", "merchants.csv:2: expected 3 fields");
  expect_csv_error("merchant_id,shard\n8812,17,3\n", "merchants.csv:2: expected 2 fields (merchant_id,shard)");
  expect_csv_error(header + "1,1,1\nabc,17,3\n", "merchants.csv:3: merchant_id 'abc' is not a number >= 1");
  expect_csv_error(header + "0,17,3\n", "merchants.csv:2: merchant_id '0' is not a number >= 1");
  expect_csv_error(header + "-5,17,3\n", "merchant_id '-5'");
  expect_csv_error(header + "18446744073709551616,1,1\n", "merchant_id '18446744073709551616'");
  expect_csv_error(header + "\"8812\",17,3\n", "merchant_id '\"8812\"'");
  expect_csv_error(header + "8812,-1,3\n", "merchants.csv:2: fence_id '-1' is not a number in 0..2147483647");
  expect_csv_error(header + "8812,2147483648,3\n", "fence_id '2147483648'");
  expect_csv_error(header + "8812,,3\n", "fence_id ''");
  expect_csv_error(header + "8812,17,1024\n", "merchants.csv:2: shard '1024' is not a number in 0..1023");
  expect_csv_error(header + "8812,17,3x\n", "shard '3x'");
  expect_csv_error(header + "8812,17,\n", "shard ''");
  expect_csv_error(header + "5,1,1\n6,1,1\n5,2,2\n", "merchants.csv:4: merchant 5 appears on lines 2 and 4");
}

TEST(MerchantMapCsv, RejectsOverlongLinesWithoutReadingThemWhole) {
  const std::string header = "merchant_id,fence_id,shard\n";
  expect_csv_error(header + "1,1,1\n" + std::string(kMerchantCsvLineBytesMax + 1, '7') + "\n",
                   "merchants.csv:3: line is too long");
  // A "file" with no line breaks at all.
  expect_csv_error(std::string(10 << 20, 'x'), "merchants.csv:1: line is too long");
  // Exactly the limit is fine (and then fails for its content, not length).
  expect_csv_error(header + std::string(kMerchantCsvLineBytesMax, '7') + "\n",
                   "merchants.csv:2: expected 3 fields");
}

TEST(MerchantMapCsv, BinaryGarbageGivesAnErrorNotACrash) {
  std::mt19937 rng(99);
  for (int round = 0; round < 200; ++round) {
    std::string text = "merchant_id,fence_id,shard\n";
    for (int i = 0; i < 300; ++i) text.push_back(static_cast<char>(rng() % 256));
    auto map = parse(text);
    if (!map.ok()) {
      EXPECT_EQ(map.status().code(), Errc::parse_error);
    }
  }
}

TEST(MerchantMapCsv, LoadsFromFile) {
  char path[] = "/tmp/ezone-merchants-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "merchant_id,fence_id,shard\n";
    for (int i = 1; i <= 1000; ++i) out << i << "," << i % 50 << "," << i % 32 << "\n";
  }
  auto map = MerchantMap::load_csv(path);
  std::remove(path);
  ASSERT_TRUE(map.ok()) << map.status().to_string();
  EXPECT_EQ(map->size(), 1000u);
  EXPECT_EQ(*map->find(777), (MerchantRoute{777, 27, 9}));
  auto missing = MerchantMap::load_csv("/nonexistent/merchants.csv");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Errc::not_found);
  EXPECT_NE(missing.status().message().find("/nonexistent/merchants.csv"), std::string::npos);
}

TEST(MerchantMap, FromEntriesValidates) {
  EXPECT_TRUE(MerchantMap::from_entries({{3, 1, 1}, {1, kNoFence, 2}}).ok());
  EXPECT_FALSE(MerchantMap::from_entries({{0, 1, 1}}).ok());
  EXPECT_FALSE(MerchantMap::from_entries({{1, -7, 1}}).ok());
  EXPECT_FALSE(MerchantMap::from_entries({{1, 1, kShardIdMax + 1}}).ok());
  auto dup = MerchantMap::from_entries({{4, 1, 1}, {2, 1, 1}, {4, 2, 2}});
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("merchant 4 is listed twice"), std::string::npos);
}

TEST(MerchantMap, UpdatesAreCopyOnWrite) {
  auto base = MerchantMap::from_entries({{1, 10, 1}, {2, 20, 2}});
  ASSERT_TRUE(base.ok());
  auto changed = base->with_update({2, 21, 5});
  ASSERT_TRUE(changed.ok());
  auto added = changed->with_update({3, 30, 3});
  ASSERT_TRUE(added.ok());
  auto removed = added->without(1);
  ASSERT_TRUE(removed.ok());

  EXPECT_EQ(base->find(2)->shard, 2u);  // every older snapshot is unchanged
  EXPECT_EQ(base->size(), 2u);
  EXPECT_EQ(changed->find(2)->shard, 5u);
  EXPECT_EQ(changed->size(), 2u);
  EXPECT_FALSE(changed->find(3).has_value());
  EXPECT_EQ(added->size(), 3u);
  EXPECT_TRUE(added->find(1).has_value());
  EXPECT_EQ(removed->size(), 2u);
  EXPECT_FALSE(removed->find(1).has_value());
  EXPECT_EQ(removed->entries(), (std::vector<MerchantRoute>{{2, 21, 5}, {3, 30, 3}}));

  auto gone = removed->without(1);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Errc::not_found);
  EXPECT_FALSE(removed->with_update({0, 1, 1}).ok());
  EXPECT_FALSE(removed->with_update({9, 1, 2000}).ok());
  auto readded = removed->with_update({1, 11, 7});
  ASSERT_TRUE(readded.ok());
  EXPECT_EQ(readded->size(), 3u);
  EXPECT_EQ(*readded->find(1), (MerchantRoute{1, 11, 7}));
}

// Many seeded random updates and removals, across several overlay folds,
// agree with a std::map model at every step.
TEST(MerchantMap, MatchesAReferenceModelAcrossFolds) {
  std::mt19937_64 rng(31337);
  std::vector<MerchantRoute> initial;
  std::map<uint64_t, MerchantRoute> model;
  for (uint64_t id = 1; id <= 20000; id += 2) {
    MerchantRoute r{id, static_cast<int32_t>(id % 100), static_cast<ShardId>(id % 1024)};
    initial.push_back(r);
    model[id] = r;
  }
  auto map = MerchantMap::from_entries(initial);
  ASSERT_TRUE(map.ok());
  MerchantMap current = *map;
  for (int step = 0; step < 3 * static_cast<int>(kMerchantOverlayMax); ++step) {
    uint64_t id = 1 + rng() % 25000;
    if (rng() % 4 == 0) {
      auto next = current.without(id);
      EXPECT_EQ(next.ok(), model.count(id) == 1);
      if (next.ok()) current = *next;
      model.erase(id);
    } else {
      MerchantRoute r{id, static_cast<int32_t>(rng() % 1000), static_cast<ShardId>(rng() % 1024)};
      auto next = current.with_update(r);
      ASSERT_TRUE(next.ok());
      current = *next;
      model[id] = r;
    }
    ASSERT_EQ(current.size(), model.size());
    uint64_t probe = 1 + rng() % 25000;
    auto found = current.find(probe);
    auto expected = model.find(probe);
    ASSERT_EQ(found.has_value(), expected != model.end()) << "merchant " << probe;
    if (found) {
      ASSERT_EQ(*found, expected->second);
    }
  }
  std::vector<MerchantRoute> all;
  for (const auto& [id, r] : model) all.push_back(r);
  EXPECT_EQ(current.entries(), all);
}

TEST(MerchantMap, HoldsAMillionMerchants) {
  std::vector<MerchantRoute> entries;
  entries.reserve(1'000'000);
  for (uint64_t i = 0; i < 1'000'000; ++i)
    entries.push_back({1 + i * 7919 % 10'000'019, static_cast<int32_t>(i % 4000), static_cast<ShardId>(i % 1024)});
  auto map = MerchantMap::from_entries(entries);
  ASSERT_TRUE(map.ok()) << map.status().to_string();
  EXPECT_EQ(map->size(), 1'000'000u);
  EXPECT_EQ(sizeof(MerchantRoute), 16u);
  for (size_t i = 0; i < entries.size(); i += 9973) EXPECT_EQ(*map->find(entries[i].merchant_id), entries[i]);
}

}  // namespace
}  // namespace ezone
