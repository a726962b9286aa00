#include "config/schema_config.hpp"

#include <map>
#include <utility>
#include <vector>

#include "config/toml_reader.hpp"
#include "zones/data/conflict_policy.hpp"

namespace ezone {
namespace {

using config_internal::config_error;
using config_internal::TableReader;
using data::TableKind;

const char* const kTableKeys = "name, kind, shard_column, master, conflict, ddl, migration";
const char* const kMigrationKeys = "add_column, drop_column, create_index, drop_index";

// "<source>: table[<index>]", plus " '<name>'" once the name is readable, so
// that every error says which table it is about.
std::string table_where(const std::string& source, size_t index, const toml::table& table) {
  std::string where = source + ": table[" + std::to_string(index) + "]";
  if (auto name = table["name"].value<std::string>()) where += " '" + *name + "'";
  return where;
}

// shard_column belongs to sharding-zone tables and master to global-zone
// ones: required there, refused elsewhere (a stray one is a mistaken kind).
Status read_kind_key(TableReader& r, const std::string& key, TableKind owner, TableKind kind,
                     std::string* out, const std::string& fix) {
  const std::string owner_name = data::table_kind_name(owner);
  const bool present = r.get(key) != nullptr;
  if (kind != owner) {
    if (!present) return Status::ok();
    return r.error(key, "only " + owner_name + " tables have it, and this one is " + data::table_kind_name(kind),
                   "remove it, or set kind = \"" + owner_name + "\"");
  }
  if (!present) return r.error(key, "required for a " + owner_name + " table", fix);
  EZONE_TRY(r.string(key, true, out, fix));
  if (out->empty()) return r.error(key, "is empty", fix);
  return Status::ok();
}

// A table or column name is spliced into SQL, so it must be plain.
Status check_identifier(const TableReader& r, const std::string& key, const std::string& value,
                        const std::string& fix) {
  if (data::is_plain_identifier(value)) return Status::ok();
  return r.error(key, "'" + value + "' is not 1-64 characters of [A-Za-z0-9_] starting with a letter or '_'", fix);
}

Status read_conflict(TableReader& r, TableKind kind, data::ConflictPolicy* out) {
  const std::string fix = "use \"last-writer-wins\" (the default) or \"first-writer-wins\"";
  if (!r.get("conflict")) return Status::ok();  // the default policy
  std::string text;
  EZONE_TRY(r.string("conflict", true, &text, fix));
  if (kind == TableKind::local)
    return r.error("conflict", "a local table never replicates, so it has no conflict policy",
                   "remove it, or make the table sharding-zone or global-zone");
  auto policy = data::parse_conflict_policy(text);
  if (!policy) return r.error("conflict", policy.status().message(), fix);
  *out = *policy;
  return Status::ok();
}

Status read_name(TableReader& r, std::string* out) {
  const std::string fix = "name the SQLite table, e.g. name = \"orders\"";
  EZONE_TRY(r.string("name", true, out, fix));
  EZONE_TRY(check_identifier(r, "name", *out, fix));
  if (out->rfind(data::kReservedTablePrefix, 0) == 0)
    return r.error("name", std::string("names starting with '") + data::kReservedTablePrefix + "' are the DAL's own",
                   "rename the table");
  return Status::ok();
}

Status read_kind(TableReader& r, TableKind* out) {
  const std::string fix = "set kind to \"sharding-zone\", \"global-zone\" or \"local\"";
  std::string text;
  EZONE_TRY(r.string("kind", true, &text, fix));
  auto kind = data::parse_table_kind(text);
  if (!kind) return r.error("kind", kind.status().message(), fix);
  *out = *kind;
  return Status::ok();
}

// [[table.migration]]: each holds one of add_column = "name TYPE ...",
// drop_column = "name", create_index = "name (col, ...)", drop_index = "name".
Status read_migrations(TableReader& r, const std::string& where, std::vector<data::Migration>* out) {
  using Kind = data::Migration::Kind;
  const std::string fix =
      "write each as [[table.migration]] with one of add_column = \"tip INTEGER NOT NULL DEFAULT 0\", "
      "drop_column = \"tip\", create_index = \"orders_by_user (user_id)\", drop_index = \"orders_by_user\"";
  const toml::node* node = r.get("migration");
  if (!node) return Status::ok();
  const toml::array* items = node->as_array();
  if (!items) return r.error("migration", "must be an array of tables", fix);
  for (size_t i = 0; i < items->size(); ++i) {
    const toml::table* item = items->get(i)->as_table();
    const std::string place = where + ": migration[" + std::to_string(i) + "]";
    if (!item) return config_error(place, "migration", "must be a table", fix);
    TableReader m(item, "", place);
    data::Migration migration;
    std::string key;
    for (Kind kind : {Kind::add_column, Kind::drop_column, Kind::create_index, Kind::drop_index}) {
      const std::string k = data::migration_kind_name(kind);
      if (!m.get(k)) continue;
      if (!key.empty()) return m.error(k, "comes with " + key + "; a migration does one thing", fix);
      key = k;
      migration.kind = kind;
    }
    if (key.empty()) return m.error("add_column", "missing (or drop_column, create_index, drop_index)", fix);
    std::string text;
    EZONE_TRY(m.string(key, true, &text, fix));
    EZONE_TRY(m.no_unknown_keys(kMigrationKeys));
    const bool defined = migration.kind == Kind::add_column || migration.kind == Kind::create_index;
    const size_t space = text.find_first_of(" \t\n(");
    migration.name = defined ? text.substr(0, space) : text;
    if (defined) {
      // One space after the name, so the stored text compares plainly.
      const size_t rest = space == std::string::npos ? text.size() : text.find_first_not_of(" \t\n", space);
      migration.definition = migration.name + (rest >= text.size() ? "" : " " + text.substr(rest));
    }
    if (!data::is_plain_identifier(migration.name))
      return m.error(key, "'" + migration.name + "' is not a plain name (1-64 characters of [A-Za-z0-9_])", fix);
    out->push_back(std::move(migration));
  }
  return Status::ok();
}

// Reads [[table]] number index. names maps each table name read so far to
// its index, to report a duplicate with both places.
Status read_table(const toml::node& node, size_t index, const std::string& source,
                  std::map<std::string, size_t>& names, std::vector<data::TableSpec>& specs) {
  const toml::table* table = node.as_table();
  if (!table)
    return config_error(source, "table[" + std::to_string(index) + "]", "must be a table",
                        "write each table as a [[table]] section");
  TableReader r(table, "", table_where(source, index, *table));
  data::TableSpec spec;
  EZONE_TRY(read_name(r, &spec.name));
  EZONE_TRY(read_kind(r, &spec.kind));
  const std::string shard_fix = "name the column that holds each row's shard, e.g. shard_column = \"shard\"";
  EZONE_TRY(read_kind_key(r, "shard_column", TableKind::sharding, spec.kind, &spec.shard_column, shard_fix));
  if (spec.kind == TableKind::sharding) EZONE_TRY(check_identifier(r, "shard_column", spec.shard_column, shard_fix));
  EZONE_TRY(read_kind_key(r, "master", TableKind::global, spec.kind, &spec.master_ezone,
                          "name the ezone where the table is written, e.g. master = \"bj\""));
  EZONE_TRY(read_conflict(r, spec.kind, &spec.conflict));
  const std::string ddl_fix = "give its CREATE TABLE statement, e.g. ddl = \"\"\"CREATE TABLE ...\"\"\"";
  EZONE_TRY(r.string("ddl", true, &spec.ddl, ddl_fix));
  if (spec.ddl.empty()) return r.error("ddl", "is empty", ddl_fix);
  EZONE_TRY(read_migrations(r, table_where(source, index, *table), &spec.migrations));
  EZONE_TRY(r.no_unknown_keys(kTableKeys));
  auto [it, fresh] = names.emplace(spec.name, index);
  if (!fresh)
    return r.error("name", "'" + spec.name + "' is already declared by table[" + std::to_string(it->second) + "]",
                   "declare each table once; remove or rename one of them");
  specs.push_back(std::move(spec));
  return Status::ok();
}

Status check_schema_top_level(const toml::table& root, const std::string& source) {
  for (const auto& [k, v] : root) {
    std::string name(k.str());
    if (name != "table")
      return config_error(source, name, "unknown key",
                          "remove it or correct its spelling; a schema file holds only [[table]] sections");
  }
  return Status::ok();
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

Result<data::Schema> parse_schema_toml(const std::string& text, const std::string& source_name) {
  auto root = config_internal::parse_toml(text, source_name);
  if (!root) return root.status();
  EZONE_TRY(check_schema_top_level(*root, source_name));
  const std::string tables_fix = "declare each table in a [[table]] section with name, kind and ddl";
  const toml::node* node = root->get("table");
  if (!node) return config_error(source_name, "table", "missing: the schema declares no tables", tables_fix);
  const toml::array* tables = node->as_array();
  if (!tables || tables->empty())
    return config_error(source_name, "table", "must be a non-empty array of tables", tables_fix);
  std::map<std::string, size_t> names;
  std::vector<data::TableSpec> specs;
  for (size_t i = 0; i < tables->size(); ++i) EZONE_TRY(read_table(*tables->get(i), i, source_name, names, specs));
  // The rules no key check covers (identifier syntax, reserved names).
  auto schema = data::Schema::create(std::move(specs));
  if (!schema)
    return Status(Errc::invalid_argument,
                  source_name + ": " + schema.status().message() + ". Fix: correct that table in the file");
  return schema;
}

Result<data::Schema> load_schema_file(const std::string& path) {
  auto text = read_text_file(path, "schema file", "pass an existing, readable schema file");
  if (!text) return text.status();
  return parse_schema_toml(*text, path);
}

Result<data::Schema> load_node_schema(const NodeConfig& config) {
  if (!config.dal.enabled)
    return config_error(config.source, "dal", "missing: this node has no DAL",
                        "add a [dal] section with schema_file");
  auto text = read_text_file(config.dal.schema_file, "schema file",
                                              "correct dal.schema_file in " + config.source);
  if (!text) return text.status();
  auto schema = parse_schema_toml(*text, config.dal.schema_file);
  if (!schema) return schema;
  std::vector<std::string> ezones{config.ezone};
  for (const PeerConfig& peer : config.peers) ezones.push_back(peer.ezone);
  const std::vector<data::TableSpec>& tables = schema->tables();
  for (size_t i = 0; i < tables.size(); ++i) {
    const data::TableSpec& t = tables[i];
    if (t.kind != TableKind::global) continue;
    bool known = false;
    for (const std::string& ezone : ezones) known = known || ezone == t.master_ezone;
    if (!known)
      return config_error(config.dal.schema_file + ": table[" + std::to_string(i) + "] '" + t.name + "'", "master",
                          "'" + t.master_ezone + "' is not an ezone of this cluster (" + config.source +
                              " knows " + join(ezones) + ")",
                          "set master to one of " + join(ezones) + ", or add that ezone as a [[peers]] entry");
  }
  return schema;
}

}  // namespace ezone
