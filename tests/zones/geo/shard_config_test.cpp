#include "zones/geo/shard_config.hpp"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "geo_test_support.hpp"

namespace ezone::geo {
namespace {

const char* kValid = R"(
ezones = ["bj", "sh"]
[[shard]]
id = 13
name = "hebei"
owner = "bj"
prefix = "he2_bei3_"
[[shard]]
id = 11
name = "beijing"
owner = "bj"
fences = ["beijing"]
[[shard]]
id = 31
name = "shanghai"
owner = "sh"
fences = ["shanghai"]
)";

// Parses `text` and returns the error message (empty if it parsed).
std::string error_of(const std::string& text) {
  Result<ShardConfig> c = parse_shard_config(text, "shards.toml");
  return c ? "" : c.status().message();
}

std::string with_shard(const std::string& body) { return "ezones = [\"bj\", \"sh\"]\n[[shard]]\n" + body; }

}  // namespace

TEST(ShardConfig, MatchesByPrefixAndByName) {
  Result<ShardConfig> c = parse_shard_config(kValid, "shards.toml");
  ASSERT_TRUE(c) << c.status().to_string();
  EXPECT_EQ(c->shards.size(), 3u);
  EXPECT_EQ(*c->shard_for("he2_bei3_bao3_ding4"), 13u);
  EXPECT_EQ(*c->shard_for("beijing"), 11u);
  EXPECT_EQ(c->find(31)->owner, "sh");
  EXPECT_EQ(c->find(99), nullptr);
}

TEST(ShardConfig, UnmatchedFenceIsAnErrorNamingIt) {
  Result<ShardConfig> c = parse_shard_config(kValid, "shards.toml");
  ASSERT_TRUE(c);
  Result<ShardId> s = c->shard_for("tianjin");
  ASSERT_FALSE(s);
  EXPECT_NE(s.status().message().find("'tianjin' belongs to no shard in shards.toml"), std::string::npos)
      << s.status().message();
}

TEST(ShardConfig, FenceMatchingTwoShardsIsAnError) {
  Result<ShardConfig> c = parse_shard_config(std::string(kValid) + R"(
[[shard]]
id = 14
name = "special"
owner = "sh"
fences = ["he2_bei3_bao3_ding4"]
)", "shards.toml");
  ASSERT_TRUE(c);
  Result<ShardId> s = c->shard_for("he2_bei3_bao3_ding4");
  ASSERT_FALSE(s);
  EXPECT_NE(s.status().message().find("matches shards 'hebei' and 'special'"), std::string::npos);
}

TEST(ShardConfig, EveryShardMustMatchALoadedFence) {
  Result<ShardConfig> c = parse_shard_config(kValid, "shards.toml");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->check_all_used({"beijing", "shanghai", "he2_bei3_x"}));
  Status s = c->check_all_used({"beijing", "shanghai"});
  EXPECT_NE(s.message().find("prefix 'he2_bei3_' matches no loaded fence"), std::string::npos) << s.message();
  s = c->check_all_used({"beijing", "he2_bei3_x"});
  EXPECT_NE(s.message().find("lists fence 'shanghai', which was not loaded"), std::string::npos) << s.message();
}

TEST(ShardConfig, RejectsEachBrokenRuleWithFileShardAndKey) {
  const std::map<std::string, std::string> cases = {
      {with_shard("id = 1024\nname = \"x\"\nowner = \"bj\"\nprefix = \"x_\""), "shard[0] ('x'): key 'id': 1024 is out of range"},
      {with_shard("id = -1\nname = \"x\"\nowner = \"bj\"\nprefix = \"x_\""), "key 'id': -1 is out of range"},
      {with_shard("id = \"7\"\nname = \"x\"\nowner = \"bj\"\nprefix = \"x_\""), "key 'id': must be an integer"},
      {with_shard("name = \"x\"\nowner = \"bj\"\nprefix = \"x_\""), "key 'id': missing"},
      {with_shard("id = 1\nname = \"x\"\nowner = \"gz\"\nprefix = \"x_\""), "'gz' is not one of the ezones [bj, sh]"},
      {with_shard("id = 1\nname = \"x\"\nowner = \"bj\""), "has neither 'prefix' nor 'fences'"},
      {with_shard("id = 1\nname = \"x\"\nowner = \"bj\"\nprefx = \"x_\""), "key 'prefx': unknown key"},
      {with_shard("id = 1\nname = \"X Y\"\nowner = \"bj\"\nprefix = \"x_\""), "'X Y' is not a valid shard name"},
      {with_shard("id = 1\nname = \"x\"\nowner = \"bj\"\nfences = [1]"), "key 'fences': must be an array of strings"},
      {"[[shard]]\nid = 1\nname = \"x\"\nowner = \"bj\"\nprefix = \"x_\"", "key 'ezones': missing"},
      {"ezones = [\"bj\"]", "key 'shard': missing"},
      {"ezones = [\"bj\"]\nshards = 3", "key 'shards': unknown key"},
      {"ezones = [\"bj\"\n", "not valid TOML at line"},
  };
  for (const auto& [text, expected] : cases) {
    std::string message = error_of(text);
    EXPECT_NE(message.find("shards.toml"), std::string::npos) << message;
    EXPECT_NE(message.find(expected), std::string::npos) << "expected '" << expected << "' in: " << message;
  }
}

TEST(ShardConfig, RejectsDuplicatesAndOverlappingPrefixes) {
  auto two = [](const std::string& a, const std::string& b) {
    return "ezones = [\"bj\"]\n[[shard]]\nowner = \"bj\"\n" + a + "\n[[shard]]\nowner = \"bj\"\n" + b;
  };
  EXPECT_NE(error_of(two("id = 1\nname = \"a\"\nprefix = \"a_\"", "id = 1\nname = \"b\"\nprefix = \"b_\""))
                .find("id 1 is also used by shard 'a'"),
            std::string::npos);
  EXPECT_NE(error_of(two("id = 1\nname = \"a\"\nprefix = \"a_\"", "id = 2\nname = \"a\"\nprefix = \"b_\""))
                .find("the name is used twice"),
            std::string::npos);
  EXPECT_NE(error_of(two("id = 1\nname = \"a\"\nfences = [\"x\"]", "id = 2\nname = \"b\"\nfences = [\"x\"]"))
                .find("fence 'x' is also listed in shard 'a'"),
            std::string::npos);
  EXPECT_NE(error_of(two("id = 1\nname = \"a\"\nprefix = \"shan\"", "id = 2\nname = \"b\"\nprefix = \"shan1_\""))
                .find("prefix 'shan1_' starts with prefix 'shan' of shard 'a'"),
            std::string::npos);
}

TEST(ShardConfig, MissingFileIsNotFound) {
  Result<ShardConfig> c = load_shard_config("/nonexistent/shards.toml");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.status().code(), Errc::not_found);
  EXPECT_NE(c.status().message().find("/nonexistent/shards.toml"), std::string::npos);
}

// The shipped config: one shard per province-level division, ids below
// 1024, 15 northern shards owned by bj and 19 southern ones by sh.
TEST(ShardConfig, ChinaCitiesConfigSplitsNorthAndSouth) {
  Result<ShardConfig> c = load_shard_config(testing::kRealShards);
  ASSERT_TRUE(c) << c.status().to_string();
  EXPECT_EQ(c->shards.size(), 34u);
  std::map<std::string, int> per_owner;
  std::set<ShardId> ids;
  for (const ShardSpec& s : c->shards) {
    ++per_owner[s.owner];
    EXPECT_LE(s.id, kShardIdMax);
    ids.insert(s.id);
  }
  EXPECT_EQ(ids.size(), 34u);
  EXPECT_EQ(per_owner["bj"], 15);
  EXPECT_EQ(per_owner["sh"], 19);
  EXPECT_EQ(c->find(*c->shard_for("beijing"))->owner, "bj");
  EXPECT_EQ(c->find(*c->shard_for("shanghai"))->owner, "sh");
  EXPECT_EQ(c->find(*c->shard_for("shan3_xi1_xi1_an1"))->name, "shaanxi");
  EXPECT_EQ(c->find(*c->shard_for("shan1_xi1_tai4_yuan2"))->name, "shanxi");
}

}  // namespace ezone::geo
