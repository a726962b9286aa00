// Schema files: one named case for each kind of wrong [[table]], plus the
// shipped schema. Each error must name the file, the table and the key.
#include "config/schema_config.hpp"

#include <gtest/gtest.h>

namespace ezone {
namespace {

const char* kSchema = R"toml(
[[table]]
name = "orders"
kind = "sharding-zone"
shard_column = "shard"
ddl = "CREATE TABLE orders(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL)"

[[table]]
name = "users"
kind = "global-zone"
master = "bj"
conflict = "first-writer-wins"
ddl = "CREATE TABLE users(id INTEGER PRIMARY KEY)"

[[table]]
name = "cache"
kind = "local"
ddl = "CREATE TABLE cache(k TEXT PRIMARY KEY, v TEXT)"
)toml";

const char* const kOrdersDdl = "ddl = \"CREATE TABLE orders(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL)\"";

// kSchema with `from` (which must occur) replaced by `to`.
std::string edit(const std::string& from, const std::string& to) {
  std::string text = kSchema;
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

// Expects an invalid_argument naming the file, `where` (the table) and the key.
void expect_error(const std::string& text, const std::string& where, const std::string& key) {
  auto r = parse_schema_toml(text, "schema.toml");
  ASSERT_FALSE(r.ok()) << "accepted a bad schema; expected an error for " << where << " " << key;
  EXPECT_EQ(r.status().code(), Errc::invalid_argument);
  const std::string& msg = r.status().message();
  EXPECT_EQ(msg.rfind("schema.toml: " + where, 0), 0u) << msg;
  EXPECT_NE(msg.find("key '" + key + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Fix:"), std::string::npos) << msg;
}

}  // namespace

TEST(SchemaConfig, ValidSchemaParses) {
  auto r = parse_schema_toml(kSchema, "schema.toml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->tables().size(), 3u);
  const data::TableSpec* orders = r->find("orders");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->kind, data::TableKind::sharding);
  EXPECT_EQ(orders->shard_column, "shard");
  EXPECT_EQ(orders->conflict, data::ConflictPolicy::last_writer_wins) << "the default";
  const data::TableSpec* users = r->find("users");
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(users->kind, data::TableKind::global);
  EXPECT_EQ(users->master_ezone, "bj");
  EXPECT_EQ(users->conflict, data::ConflictPolicy::first_writer_wins);
  EXPECT_EQ(r->find("cache")->kind, data::TableKind::local);
  EXPECT_EQ(r->replicated().size(), 2u);
}

// One wrong schema per row: kSchema with `from` replaced by `to` must fail
// naming `where` (the table) and `key`. `name` names the test case.
struct BadSchema {
  const char* name;
  std::string from;
  std::string to;
  const char* where;
  const char* key;
};

const std::vector<BadSchema> kBadSchemas = {
    {"UnknownTableKey", "shard_column = \"shard\"", "shard_column = \"shard\"\nshard_col = \"x\"",
     "table[0] 'orders'", "shard_col"},
    {"UnknownTopLevelKey", "[[table]]", "tables = 1\n[[table]]", "", "tables"},
    {"BadKind", "kind = \"local\"", "kind = \"regional\"", "table[2] 'cache'", "kind"},
    {"MissingKind", "kind = \"local\"", "", "table[2] 'cache'", "kind"},
    {"MissingName", "name = \"users\"", "", "table[1]:", "name"},
    {"NameNotAString", "name = \"cache\"", "name = 7", "table[2]:", "name"},
    {"EmptyName", "name = \"cache\"", "name = \"\"", "table[2] ''", "name"},
    {"NameStartsWithDigit", "name = \"cache\"", "name = \"2fast\"", "table[2] '2fast'", "name"},
    {"NameWithDash", "name = \"cache\"", "name = \"no-dash\"", "table[2] 'no-dash'", "name"},
    {"ReservedName", "name = \"cache\"", "name = \"_ezone_outbox\"", "table[2] '_ezone_outbox'", "name"},
    {"DuplicateTable", "name = \"cache\"", "name = \"users\"", "table[2] 'users'", "name"},
    {"MissingShardColumn", "shard_column = \"shard\"", "", "table[0] 'orders'", "shard_column"},
    {"BadShardColumn", "shard_column = \"shard\"", "shard_column = \"shard; DROP\"", "table[0] 'orders'",
     "shard_column"},
    {"ShardColumnOnGlobalTable", "master = \"bj\"", "master = \"bj\"\nshard_column = \"shard\"",
     "table[1] 'users'", "shard_column"},
    {"MissingMaster", "master = \"bj\"", "", "table[1] 'users'", "master"},
    {"MasterOnShardingTable", "shard_column = \"shard\"", "shard_column = \"shard\"\nmaster = \"bj\"",
     "table[0] 'orders'", "master"},
    {"MasterOnLocalTable", "kind = \"local\"", "kind = \"local\"\nmaster = \"bj\"", "table[2] 'cache'", "master"},
    {"BadConflict", "first-writer-wins", "whoever-wins", "table[1] 'users'", "conflict"},
    {"ConflictOnLocalTable", "kind = \"local\"", "kind = \"local\"\nconflict = \"last-writer-wins\"",
     "table[2] 'cache'", "conflict"},
    {"MissingDdl", "ddl = \"CREATE TABLE cache(k TEXT PRIMARY KEY, v TEXT)\"", "", "table[2] 'cache'", "ddl"},
    {"EmptyDdl", "ddl = \"CREATE TABLE cache(k TEXT PRIMARY KEY, v TEXT)\"", "ddl = \"\"", "table[2] 'cache'",
     "ddl"},
    {"MigrationNotATable", kOrdersDdl, std::string(kOrdersDdl) + "\nmigration = 5", "table[0] 'orders'", "migration"},
    {"MigrationOfNothing", kOrdersDdl, std::string(kOrdersDdl) + "\n[[table.migration]]\nnote = \"x\"",
     "table[0] 'orders': migration[0]", "add_column"},
    {"MigrationOfBoth", kOrdersDdl,
     std::string(kOrdersDdl) + "\n[[table.migration]]\nadd_column = \"tip INTEGER\"\ndrop_column = \"tip\"",
     "table[0] 'orders': migration[0]", "drop_column"},
    {"MigrationUnknownKey", kOrdersDdl,
     std::string(kOrdersDdl) + "\n[[table.migration]]\nadd_column = \"tip INTEGER\"\nwhen = 1",
     "table[0] 'orders': migration[0]", "when"},
    {"MigrationBadColumn", kOrdersDdl,
     std::string(kOrdersDdl) + "\n[[table.migration]]\ndrop_column = \"a\"\n[[table.migration]]\n"
                               "add_column = \"1tip INTEGER\"",
     "table[0] 'orders': migration[1]", "add_column"},
    {"MigrationNotAString", kOrdersDdl, std::string(kOrdersDdl) + "\n[[table.migration]]\ndrop_column = 3",
     "table[0] 'orders': migration[0]", "drop_column"},
};

class SchemaError : public ::testing::TestWithParam<BadSchema> {};

TEST_P(SchemaError, IsRejected) {
  const BadSchema& bad = GetParam();
  expect_error(edit(bad.from, bad.to), bad.where, bad.key);
}

INSTANTIATE_TEST_SUITE_P(SchemaConfig, SchemaError, ::testing::ValuesIn(kBadSchemas),
                         [](const ::testing::TestParamInfo<BadSchema>& info) { return info.param.name; });

TEST(SchemaConfig, MigrationsParseInOrder) {
  auto r = parse_schema_toml(edit(kOrdersDdl, std::string(kOrdersDdl) +
                                                  "\n[[table.migration]]\nadd_column = \"tip   INTEGER NOT NULL DEFAULT 0\""
                                                  "\n[[table.migration]]\ndrop_column = \"tip\""),
                             "schema.toml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const auto& m = r->find("orders")->migrations;
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].kind, data::Migration::Kind::add_column);
  EXPECT_EQ(m[0].name, "tip");
  EXPECT_EQ(m[0].definition, "tip INTEGER NOT NULL DEFAULT 0");
  EXPECT_EQ(m[1].kind, data::Migration::Kind::drop_column);
  EXPECT_EQ(m[1].name, "tip");
  EXPECT_TRUE(r->find("users")->migrations.empty());

  r = parse_schema_toml(edit(kOrdersDdl, std::string(kOrdersDdl) +
                                             "\n[[table.migration]]\ncreate_index = \"orders_by_shard(shard, id DESC)\""
                                             "\n[[table.migration]]\ndrop_index = \"orders_by_shard\""),
                        "schema.toml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const auto& i = r->find("orders")->migrations;
  ASSERT_EQ(i.size(), 2u);
  EXPECT_EQ(i[0].kind, data::Migration::Kind::create_index);
  EXPECT_EQ(i[0].name, "orders_by_shard");
  EXPECT_EQ(i[0].definition, "orders_by_shard (shard, id DESC)");
  EXPECT_EQ(i[1].kind, data::Migration::Kind::drop_index);
  EXPECT_EQ(i[1].definition, "");
}

TEST(SchemaConfig, MigrationsThatCannotBeRunAreRejected) {
  const std::pair<const char*, const char*> cases[] = {
      {"drop_column = \"shard\"", "the shard column 'shard' cannot be dropped"},
      {"add_column = \"tip\"", "must start with the column's name and its type"},
      {"add_column = \"tip INTEGER; DROP TABLE users\"", "holds a ';'"},
      {"create_index = \"by_state state\"", "'state' is not a list of plain columns"},
      {"create_index = \"by_state (state; DROP TABLE users)\"", "is not a list of plain columns"},
      {"create_index = \"by_state (state SIDEWAYS)\"", "is not a list of plain columns"},
      {"create_index = \"_ezone_mine (state)\"", "are reserved"},
      {"drop_index = \"sqlite_autoindex_orders_1\"", "are reserved"},
  };
  for (const auto& [migration, why] : cases) {
    auto r = parse_schema_toml(edit(kOrdersDdl, std::string(kOrdersDdl) + "\n[[table.migration]]\n" + migration),
                               "schema.toml");
    ASSERT_FALSE(r.ok()) << migration;
    EXPECT_EQ(r.status().code(), Errc::invalid_argument);
    const std::string& msg = r.status().message();
    EXPECT_NE(msg.find("schema.toml: table 'orders': migration[0]"), std::string::npos) << msg;
    EXPECT_NE(msg.find(why), std::string::npos) << msg;
    EXPECT_NE(msg.find("Fix:"), std::string::npos) << msg;
  }
}

TEST(SchemaConfig, NoTablesIsRejected) { expect_error("# nothing\n", "", "table"); }

TEST(SchemaConfig, MissingMasterSaysWhy) {
  auto r = parse_schema_toml(edit("master = \"bj\"", ""), "schema.toml");
  EXPECT_NE(r.status().message().find("key 'master': required for a global-zone table"), std::string::npos)
      << r.status().message();
}

TEST(SchemaConfig, DuplicateTableNamesBothPlaces) {
  auto r = parse_schema_toml(edit("name = \"cache\"", "name = \"users\""), "schema.toml");
  EXPECT_NE(r.status().message().find("already declared by table[1]"), std::string::npos) << r.status().message();
}

TEST(SchemaConfig, MalformedTomlNamesFileAndLine) {
  auto r = parse_schema_toml("[[table]]\nname = \"orders\"\nkind = \n", "schema.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::parse_error);
  EXPECT_EQ(r.status().message().rfind("schema.toml: ", 0), 0u) << r.status().message();
  EXPECT_NE(r.status().message().find("line 3"), std::string::npos) << r.status().message();
}

TEST(SchemaConfig, UnreadableSchemaFileIsRejected) {
  Status s = load_schema_file("/nonexistent/dir/schema.toml").status();
  EXPECT_EQ(s.code(), Errc::not_found) << s.to_string();
  EXPECT_EQ(s.message().rfind("/nonexistent/dir/schema.toml: cannot read the schema file", 0), 0u) << s.message();
  EXPECT_NE(s.message().find("Fix:"), std::string::npos) << s.message();
}

TEST(SchemaConfig, ShippedTakeoutSchemaLoads) {
  auto r = load_schema_file(std::string(EZONE_TEST_SOURCE_DIR) + "/config/schemas/takeout.toml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  ASSERT_EQ(r->tables().size(), 4u);
  EXPECT_EQ(r->find("users")->master_ezone, "bj");
  EXPECT_EQ(r->find("merchants")->shard_column, "shard");
  EXPECT_EQ(r->find("orders")->shard_column, "shard");
  EXPECT_EQ(r->find("kv_cache")->kind, data::TableKind::local);
}

}  // namespace ezone
