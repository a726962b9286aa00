#include "zones/routing/route_table.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <limits>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

namespace ezone {
namespace {

using json = nlohmann::json;

RouteTable sample_table(Epoch epoch = 7) {
  auto table = RouteTable::create(epoch,
                                  {{2, "jiangsu", "sh", ShardState::active},
                                   {0, "beijing", "bj", ShardState::active},
                                   {1, "shanghai", "sh", ShardState::write_forbidden}},
                                  {{"bj", {"10.0.0.1", 7100}}, {"sh", {"10.0.1.1", 7100}}});
  EXPECT_TRUE(table.ok()) << table.status().to_string();
  return std::move(table).value();
}

json sample_json() { return json::parse(encode_route_table_json(sample_table())); }

// Decoding `text` must fail with parse_error mentioning `expected`.
void expect_decode_error(const std::string& text, const std::string& expected) {
  auto table = decode_route_table_json(text);
  ASSERT_FALSE(table.ok()) << "decoded: " << text.substr(0, 200);
  EXPECT_EQ(table.status().code(), Errc::parse_error);
  EXPECT_NE(table.status().message().find(expected), std::string::npos)
      << "message: " << table.status().message() << "\nexpected to contain: " << expected;
}

TEST(ShardState, NamesRoundTrip) {
  EXPECT_STREQ(shard_state_name(ShardState::active), "active");
  EXPECT_STREQ(shard_state_name(ShardState::write_forbidden), "write-forbidden");
  EXPECT_EQ(*parse_shard_state("active"), ShardState::active);
  EXPECT_EQ(*parse_shard_state("write-forbidden"), ShardState::write_forbidden);
  auto bad = parse_shard_state("write_forbidden");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("'active' or 'write-forbidden'"), std::string::npos);
  EXPECT_FALSE(parse_shard_state("Active").ok());
}

TEST(RouteTable, CreateSortsAndIndexes) {
  RouteTable table = sample_table();
  EXPECT_EQ(table.epoch(), 7);
  ASSERT_EQ(table.shards().size(), 3u);
  EXPECT_EQ(table.shards()[0].shard, 0u);
  EXPECT_EQ(table.shards()[2].shard, 2u);
  ASSERT_NE(table.find(1), nullptr);
  EXPECT_EQ(table.find(1)->name, "shanghai");
  EXPECT_EQ(table.find(1)->state, ShardState::write_forbidden);
  EXPECT_EQ(table.find(3), nullptr);
  EXPECT_EQ(table.find(kShardIdMax), nullptr);
  EXPECT_EQ(table.find(kShardIdMax + 1), nullptr);
  EXPECT_EQ(table.find(std::numeric_limits<ShardId>::max()), nullptr);
  ASSERT_NE(table.find_by_name("jiangsu"), nullptr);
  EXPECT_EQ(table.find_by_name("jiangsu")->shard, 2u);
  EXPECT_EQ(table.find_by_name("nowhere"), nullptr);
  ASSERT_NE(table.site("sh"), nullptr);
  EXPECT_EQ(table.site("sh")->to_string(), "10.0.1.1:7100");
  EXPECT_EQ(table.site("gz"), nullptr);
  EXPECT_EQ(table.shards_owned_by("sh"), (std::vector<ShardId>{1, 2}));
  EXPECT_TRUE(table.shards_owned_by("gz").empty());
  EXPECT_TRUE(table.validate().is_ok());
}

TEST(RouteTable, HighestShardIdIsUsable) {
  auto table = RouteTable::create(1, {{kShardIdMax, "last", "bj", ShardState::active}},
                                  {{"bj", {"bj.example", 80}}});
  ASSERT_TRUE(table.ok()) << table.status().to_string();
  ASSERT_NE(table->find(kShardIdMax), nullptr);
  EXPECT_EQ(table->find(kShardIdMax)->name, "last");
}

struct CreateCase {
  const char* label;
  Epoch epoch;
  std::vector<ShardRoute> shards;
  std::map<std::string, HostPort> sites;
  const char* expected;
};

TEST(RouteTable, CreateRejectsInvalidTables) {
  const std::map<std::string, HostPort> bj = {{"bj", {"10.0.0.1", 7100}}};
  const std::vector<ShardRoute> one = {{0, "beijing", "bj", ShardState::active}};
  std::vector<CreateCase> cases = {
      {"epoch zero", 0, one, bj, "epochs start at 1"},
      {"no ezones", 1, one, {}, "has no ezones"},
      {"no shards", 1, {}, bj, "has no shards"},
      {"shard id too big", 1, {{kShardIdMax + 1, "x", "bj", ShardState::active}}, bj,
       "above the largest shard id"},
      {"duplicate shard", 1,
       {{4, "a", "bj", ShardState::active}, {4, "b", "bj", ShardState::active}}, bj,
       "shard 4 is listed twice"},
      {"duplicate name", 1,
       {{4, "a", "bj", ShardState::active}, {5, "a", "bj", ShardState::active}}, bj,
       "used by more than one shard"},
      {"unknown owner", 1, {{0, "beijing", "gz", ShardState::active}}, bj,
       "owned by 'gz', which is not an ezone"},
      {"name with space", 1, {{0, "bei jing", "bj", ShardState::active}}, bj, "has name"},
      {"numeric name", 1, {{0, "42", "bj", ShardState::active}}, bj, "at least one letter"},
      {"empty name", 1, {{0, "", "bj", ShardState::active}}, bj, "has name"},
      {"bad ezone name", 1, {{0, "beijing", "BJ", ShardState::active}},
       {{"BJ", {"10.0.0.1", 7100}}}, "is not a valid name"},
      {"wildcard site", 1, one, {{"bj", {"0.0.0.0", 7100}}}, "not a concrete host:port"},
      {"port zero", 1, one, {{"bj", {"10.0.0.1", 0}}}, "not a concrete host:port"},
      {"empty host", 1, one, {{"bj", {"", 7100}}}, "not a concrete host:port"},
  };
  for (const auto& c : cases) {
    auto table = RouteTable::create(c.epoch, c.shards, c.sites);
    ASSERT_FALSE(table.ok()) << c.label;
    EXPECT_EQ(table.status().code(), Errc::invalid_argument) << c.label;
    EXPECT_NE(table.status().message().find(c.expected), std::string::npos)
        << c.label << ": " << table.status().message();
  }
}

TEST(RouteTableJson, RoundTrips) {
  RouteTable table = sample_table();
  std::string text = encode_route_table_json(table);
  auto decoded = decode_route_table_json(text);
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, table);
  EXPECT_EQ(encode_route_table_json(*decoded), text);
}

TEST(RouteTableJson, HasTheDocumentedShape) {
  json doc = sample_json();
  EXPECT_EQ(doc["format"], 1);
  EXPECT_EQ(doc["epoch"], 7);
  EXPECT_EQ(doc["ezones"][0], (json{{"name", "bj"}, {"site", "10.0.0.1:7100"}}));
  EXPECT_EQ(doc["shards"][1],
            (json{{"id", 1}, {"name", "shanghai"}, {"owner", "sh"}, {"state", "write-forbidden"}}));
}

TEST(RouteTableJson, IPv6SiteRoundTrips) {
  auto table = RouteTable::create(3, {{0, "beijing", "bj", ShardState::active}},
                                  {{"bj", {"::1", 7100}}});
  ASSERT_TRUE(table.ok()) << table.status().to_string();
  auto decoded = decode_route_table_json(encode_route_table_json(*table));
  ASSERT_TRUE(decoded.ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->site("bj")->host, "::1");
}

// One mutation of the valid sample document per case.
struct JsonCase {
  const char* label;
  std::function<void(json&)> mutate;
  const char* expected;
};

TEST(RouteTableJson, RejectsEveryMalformedField) {
  std::vector<JsonCase> cases = {
      {"root array", [](json& d) { d = json::array(); }, "document: expected an object, got array"},
      {"root null", [](json& d) { d = nullptr; }, "expected an object, got null"},
      {"missing epoch", [](json& d) { d.erase("epoch"); }, "missing field 'epoch'"},
      {"missing shards", [](json& d) { d.erase("shards"); }, "missing field 'shards'"},
      {"unknown field", [](json& d) { d["owner"] = "bj"; }, "document.owner: unknown field"},
      {"format 2", [](json& d) { d["format"] = 2; }, "unsupported format 2"},
      {"format text", [](json& d) { d["format"] = "1"; }, "unsupported format \"1\""},
      {"epoch zero", [](json& d) { d["epoch"] = 0; }, "epoch: 0 is out of range"},
      {"epoch negative", [](json& d) { d["epoch"] = -3; }, "epoch: -3 is out of range"},
      {"epoch float", [](json& d) { d["epoch"] = 1.5; }, "epoch: expected an integer, got number"},
      {"epoch text", [](json& d) { d["epoch"] = "7"; }, "epoch: expected an integer, got string"},
      {"epoch huge", [](json& d) { d["epoch"] = std::numeric_limits<uint64_t>::max(); },
       "epoch: 18446744073709551615 is out of range"},
      {"ezones object", [](json& d) { d["ezones"] = json::object(); },
       "ezones: expected an array, got object"},
      {"ezones empty", [](json& d) { d["ezones"] = json::array(); }, "has no ezones"},
      {"ezone not object", [](json& d) { d["ezones"][0] = "bj"; },
       "ezones[0]: expected an object, got string"},
      {"ezone missing site", [](json& d) { d["ezones"][1].erase("site"); },
       "ezones[1]: missing field 'site'"},
      {"ezone extra field", [](json& d) { d["ezones"][0]["weight"] = 52; },
       "ezones[0].weight: unknown field"},
      {"ezone name number", [](json& d) { d["ezones"][0]["name"] = 1; },
       "ezones[0].name: expected a string, got number"},
      {"ezone bad site", [](json& d) { d["ezones"][0]["site"] = "10.0.0.1"; },
       "ezones[0].site: '10.0.0.1' has no port"},
      {"ezone listed twice", [](json& d) { d["ezones"][1]["name"] = "bj"; },
       "ezones[1].name: ezone 'bj' is listed twice"},
      {"ezone bad name", [](json& d) { d["ezones"][0]["name"] = "Bei Jing"; },
       "is not a valid name"},
      {"ezone wildcard", [](json& d) { d["ezones"][0]["site"] = "0.0.0.0:7100"; },
       "not a concrete host:port"},
      {"shards object", [](json& d) { d["shards"] = json::object(); },
       "shards: expected an array, got object"},
      {"shards empty", [](json& d) { d["shards"] = json::array(); }, "has no shards"},
      {"shard not object", [](json& d) { d["shards"][0] = 3; },
       "shards[0]: expected an object, got number"},
      {"shard missing state", [](json& d) { d["shards"][2].erase("state"); },
       "shards[2]: missing field 'state'"},
      {"shard id too big", [](json& d) { d["shards"][0]["id"] = 1024; },
       "shards[0].id: 1024 is out of range 0..1023"},
      {"shard id negative", [](json& d) { d["shards"][0]["id"] = -1; },
       "shards[0].id: -1 is out of range"},
      {"shard id text", [](json& d) { d["shards"][0]["id"] = "0"; },
       "shards[0].id: expected an integer, got string"},
      {"shard id twice", [](json& d) { d["shards"][1]["id"] = 0; },
       "shards[1].id: shard 0 is listed twice"},
      {"unknown owner", [](json& d) { d["shards"][0]["owner"] = "gz"; },
       "owned by 'gz', which is not an ezone"},
      {"bad state", [](json& d) { d["shards"][0]["state"] = "moving"; },
       "shards[0].state: 'moving' is not a shard state"},
      {"state null", [](json& d) { d["shards"][0]["state"] = nullptr; },
       "shards[0].state: expected a string, got null"},
      {"name twice", [](json& d) { d["shards"][1]["name"] = "beijing"; },
       "used by more than one shard"},
      {"bad name", [](json& d) { d["shards"][1]["name"] = "a,b"; }, "has name 'a,b'"},
      {"too many shards",
       [](json& d) {
         d["shards"] = json::array();
         for (int i = 0; i < 1025; ++i) d["shards"].push_back(i);
       },
       "1025 shards; at most 1024"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.label);
    json doc = sample_json();
    c.mutate(doc);
    expect_decode_error(doc.dump(), c.expected);
  }
}

TEST(RouteTableJson, RejectsBrokenText) {
  std::string good = encode_route_table_json(sample_table());
  expect_decode_error("", "not valid JSON");
  expect_decode_error("{", "not valid JSON");
  expect_decode_error(good + " x", "not valid JSON");
  expect_decode_error(good.substr(0, good.size() / 2), "not valid JSON");
  expect_decode_error("\xff\xfe", "not valid JSON");
}

TEST(RouteTableJson, RejectsDuplicateKeys) {
  std::string good = encode_route_table_json(sample_table());
  // Same key twice at the top level and inside a shard.
  std::string top = "{\"epoch\":9," + good.substr(1);
  expect_decode_error(top, "key 'epoch' appears twice in one object");
  std::string inner = good;
  auto pos = inner.find("\"owner\":\"bj\"");
  ASSERT_NE(pos, std::string::npos);
  inner.insert(pos, "\"owner\":\"sh\",");
  expect_decode_error(inner, "key 'owner' appears twice");
}

TEST(RouteTableJson, RejectsDeepNestingAndHugeDocuments) {
  std::string deep = std::string(10000, '[') + std::string(10000, ']');
  expect_decode_error(deep, "nested deeper than");
  std::string huge = "{\"format\":1,\"pad\":\"" + std::string(kRouteTableJsonBytesMax, 'x') + "\"}";
  expect_decode_error(huge, "over the limit");
}

// Random damage to a valid document never crashes the decoder: it either
// still decodes to a valid table or reports parse_error.
TEST(RouteTableJson, SurvivesRandomDamage) {
  std::string good = encode_route_table_json(sample_table());
  std::mt19937 rng(20240101);
  int failures = 0;
  for (int round = 0; round < 3000; ++round) {
    std::string text = good;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0: text[at] = static_cast<char>(rng() % 256); break;
        case 1: text.erase(at, 1 + rng() % 8); break;
        default: text.insert(at, 1, "{}[]\",:0-e"[rng() % 10]); break;
      }
      if (text.empty()) text = "x";
    }
    auto table = decode_route_table_json(text);
    if (table.ok()) {
      EXPECT_TRUE(table->validate().is_ok());
    } else {
      EXPECT_EQ(table.status().code(), Errc::parse_error) << table.status().to_string();
      ++failures;
    }
  }
  EXPECT_GT(failures, 2000);  // the damage really reaches the decoder's checks
}

TEST(RouteChanges, MoveShardsGivesOwnershipAtNextEpoch) {
  RouteTable table = sample_table();
  auto next = move_shards(table, {2, 1}, "bj");
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  EXPECT_EQ(next->epoch(), 8);
  EXPECT_EQ(next->find(1)->owner, "bj");
  EXPECT_EQ(next->find(2)->owner, "bj");
  EXPECT_EQ(next->find(2)->state, ShardState::active);
  EXPECT_EQ(next->find(0)->owner, "bj");  // untouched
  EXPECT_EQ(next->find(0)->name, "beijing");
  EXPECT_EQ(next->sites(), table.sites());
  EXPECT_EQ(table.find(2)->owner, "sh");  // the old table is unchanged
  EXPECT_EQ(table.epoch(), 7);
}

TEST(RouteChanges, MoveKeepsStateUnlessToldOtherwise) {
  RouteTable table = sample_table();
  auto kept = move_shards(table, {1}, "bj");
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(kept->find(1)->state, ShardState::write_forbidden);
  auto activated = move_shards(table, {1}, "bj", ShardState::active);
  ASSERT_TRUE(activated.ok());
  EXPECT_EQ(activated->find(1)->owner, "bj");
  EXPECT_EQ(activated->find(1)->state, ShardState::active);
}

struct ChangeErrorCase {
  const char* label;
  Result<RouteTable> result;
  Errc code;
  const char* expected;
};

TEST(RouteChanges, RejectsBadChanges) {
  RouteTable t = sample_table();
  std::vector<ChangeErrorCase> cases = {
      {"unknown ezone", move_shards(t, {0}, "gz"), Errc::invalid_argument,
       "ezone 'gz' is not in the route table (epoch 7)"},
      {"unknown shard", move_shards(t, {0, 9}, "sh"), Errc::invalid_argument,
       "shard 9 is not in the route table (epoch 7)"},
      {"already owned", move_shards(t, {0, 2}, "bj"), Errc::conflict,
       "shard 0 (beijing) is already owned by bj at epoch 7"},
      {"empty list", move_shards(t, {}, "sh"), Errc::invalid_argument, "no shards given"},
      {"listed twice", move_shards(t, {0, 0}, "sh"), Errc::invalid_argument,
       "shard 0 is listed twice"},
      {"state unknown shard", set_shard_state(t, {5}, ShardState::write_forbidden),
       Errc::invalid_argument, "shard 5 is not in the route table"},
      {"already in state", set_shard_state(t, {0, 1}, ShardState::write_forbidden),
       Errc::conflict, "shard 1 (shanghai) is already write-forbidden at epoch 7"},
      {"state empty list", set_shard_state(t, {}, ShardState::active), Errc::invalid_argument,
       "no shards given"},
      {"site unchanged", set_site(t, "bj", {"10.0.0.1", 7100}), Errc::conflict,
       "already has site 10.0.0.1:7100"},
      {"site wildcard", set_site(t, "gz", {"0.0.0.0", 7100}), Errc::invalid_argument,
       "not a concrete host:port"},
      {"site bad name", set_site(t, "G Z", {"10.0.2.1", 7100}), Errc::invalid_argument,
       "is not a valid name"},
  };
  for (const auto& c : cases) {
    ASSERT_FALSE(c.result.ok()) << c.label;
    EXPECT_EQ(c.result.status().code(), c.code) << c.label << ": " << c.result.status().to_string();
    EXPECT_NE(c.result.status().message().find(c.expected), std::string::npos)
        << c.label << ": " << c.result.status().message();
  }
}

TEST(RouteChanges, SetShardStateKeepsOwners) {
  RouteTable table = sample_table();
  auto next = set_shard_state(table, {0, 2}, ShardState::write_forbidden);
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  EXPECT_EQ(next->epoch(), 8);
  EXPECT_EQ(next->find(0)->state, ShardState::write_forbidden);
  EXPECT_EQ(next->find(2)->state, ShardState::write_forbidden);
  EXPECT_EQ(next->find(0)->owner, "bj");
  auto back = set_shard_state(*next, {0, 1, 2}, ShardState::active);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->epoch(), 9);
  for (const auto& route : back->shards()) EXPECT_EQ(route.state, ShardState::active);
}

TEST(RouteChanges, SetSiteAddsAndMovesEzones) {
  RouteTable table = sample_table();
  auto added = set_site(table, "gz", {"10.0.2.1", 7100});
  ASSERT_TRUE(added.ok()) << added.status().to_string();
  EXPECT_EQ(added->epoch(), 8);
  EXPECT_TRUE(added->has_ezone("gz"));
  auto moved = move_shards(*added, {2}, "gz");
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(moved->find(2)->owner, "gz");
  auto readdressed = set_site(*moved, "bj", {"10.9.0.1", 7200});
  ASSERT_TRUE(readdressed.ok());
  EXPECT_EQ(readdressed->site("bj")->to_string(), "10.9.0.1:7200");
}

TEST(RouteChanges, EpochOverflowIsAnError) {
  auto table = RouteTable::create(std::numeric_limits<Epoch>::max(),
                                  {{0, "beijing", "bj", ShardState::active}},
                                  {{"bj", {"10.0.0.1", 7100}}, {"sh", {"10.0.1.1", 7100}}});
  ASSERT_TRUE(table.ok());
  auto next = move_shards(*table, {0}, "sh");
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), Errc::internal);
}

TEST(RouteTableHolder, StartsEmpty) {
  RouteTableHolder holder;
  EXPECT_EQ(holder.current(), nullptr);
  EXPECT_EQ(holder.epoch(), 0);
  EXPECT_FALSE(holder.install(nullptr));
  EXPECT_EQ(holder.refused_count(), 1u);
}

TEST(RouteTableHolder, RefusesOlderAndSameEpochs) {
  RouteTableHolder holder;
  EXPECT_TRUE(holder.install(std::make_shared<const RouteTable>(sample_table(3))));
  EXPECT_TRUE(holder.install(std::make_shared<const RouteTable>(sample_table(5))));
  EXPECT_FALSE(holder.install(std::make_shared<const RouteTable>(sample_table(4))));
  EXPECT_FALSE(holder.install(std::make_shared<const RouteTable>(sample_table(5))));
  EXPECT_EQ(holder.epoch(), 5);
  EXPECT_EQ(holder.refused_count(), 2u);
  EXPECT_TRUE(holder.install(std::make_shared<const RouteTable>(sample_table(6))));
  EXPECT_EQ(holder.current()->epoch(), 6);
}

// Readers on several threads always see whole tables, and never an epoch
// older than one they saw before, while a writer installs newer ones and
// also tries older ones.
TEST(RouteTableHolder, ConcurrentReadersSeeMonotonicEpochs) {
  RouteTableHolder holder;
  constexpr Epoch kLast = 2000;
  std::vector<std::shared_ptr<const RouteTable>> tables;
  for (Epoch e = 1; e <= kLast; ++e) tables.push_back(std::make_shared<const RouteTable>(sample_table(e)));
  std::atomic<bool> done{false};
  std::atomic<int> violations{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 4; ++r) {
    readers.emplace_back([&] {
      Epoch seen = 0;
      while (!done.load()) {
        auto table = holder.current();
        if (!table) continue;
        if (table->epoch() < seen || table->find(0) == nullptr) violations.fetch_add(1);
        seen = table->epoch();
      }
    });
  }
  for (Epoch e = 1; e <= kLast; ++e) {
    EXPECT_TRUE(holder.install(tables[e - 1]));
    if (e > 1) {
      EXPECT_FALSE(holder.install(tables[e - 2]));
    }
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(violations.load(), 0);
  EXPECT_EQ(holder.epoch(), kLast);
  EXPECT_EQ(holder.refused_count(), static_cast<uint64_t>(kLast - 1));
}

}  // namespace
}  // namespace ezone
