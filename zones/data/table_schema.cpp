#include "zones/data/table_schema.hpp"

#include <set>

namespace ezone::data {

const char* table_kind_name(TableKind kind) {
  switch (kind) {
    case TableKind::sharding: return "sharding-zone";
    case TableKind::global: return "global-zone";
    case TableKind::local: return "local";
  }
  return "?";
}

Result<TableKind> parse_table_kind(const std::string& text) {
  if (text == "sharding-zone") return TableKind::sharding;
  if (text == "global-zone") return TableKind::global;
  if (text == "local") return TableKind::local;
  return Status(Errc::invalid_argument,
                "'" + text + "' is not a table kind (expected 'sharding-zone', 'global-zone' or 'local')");
}

bool is_plain_identifier(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  if (name[0] >= '0' && name[0] <= '9') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!ok) return false;
  }
  return true;
}

const char* migration_kind_name(Migration::Kind kind) {
  return kind == Migration::Kind::add_column ? "add_column" : "drop_column";
}

namespace {

Status check_migration(const TableSpec& t, size_t index, const Migration& m) {
  auto bad = [&](const std::string& why) {
    return Status(Errc::invalid_argument, "table '" + t.name + "': migration[" + std::to_string(index) + "] (" +
                                              migration_kind_name(m.kind) + "): " + why);
  };
  if (!is_plain_identifier(m.column)) return bad("'" + m.column + "' is not a plain column name");
  if (m.kind == Migration::Kind::drop_column) {
    if (m.column == t.shard_column) return bad("the shard column '" + m.column + "' cannot be dropped");
    return Status::ok();
  }
  const std::string& d = m.definition;
  if (d.compare(0, m.column.size(), m.column) != 0 || d.size() == m.column.size() || d[m.column.size()] != ' ')
    return bad("the definition '" + d + "' must start with the column's name and its type, e.g. 'tip INTEGER'");
  if (d.find(';') != std::string::npos) return bad("the definition '" + d + "' holds a ';'");
  return Status::ok();
}

Status check_table(const TableSpec& t) {
  auto bad = [&](const std::string& why) {
    return Status(Errc::invalid_argument, "table '" + t.name + "': " + why);
  };
  if (!is_plain_identifier(t.name)) return bad("the name must be 1-64 characters of [A-Za-z0-9_], not starting with a digit");
  if (t.name.rfind(kReservedTablePrefix, 0) == 0) return bad(std::string("names starting with '") + kReservedTablePrefix + "' are reserved for the DAL");
  if (t.ddl.empty()) return bad("'ddl' (its CREATE TABLE statement) is missing");
  const bool sharding = t.kind == TableKind::sharding;
  if (sharding && !is_plain_identifier(t.shard_column)) return bad("a sharding-zone table needs 'shard_column', a column name");
  if (!sharding && !t.shard_column.empty()) return bad("only sharding-zone tables have a 'shard_column'");
  const bool global = t.kind == TableKind::global;
  if (global && t.master_ezone.empty()) return bad("a global-zone table needs 'master', the ezone where it is written");
  if (!global && !t.master_ezone.empty()) return bad("only global-zone tables have a 'master'");
  for (size_t i = 0; i < t.migrations.size(); ++i) {
    if (Status s = check_migration(t, i, t.migrations[i]); !s) return s;
  }
  return Status::ok();
}

}  // namespace

Result<Schema> Schema::create(std::vector<TableSpec> tables) {
  if (tables.empty()) return Status(Errc::invalid_argument, "the schema declares no tables");
  std::set<std::string> names;
  for (const TableSpec& t : tables) {
    if (Status s = check_table(t); !s) return s;
    if (!names.insert(t.name).second) return Status(Errc::invalid_argument, "table '" + t.name + "' is declared twice");
  }
  Schema schema;
  schema.tables_ = std::move(tables);
  return schema;
}

const TableSpec* Schema::find(const std::string& name) const {
  for (const TableSpec& t : tables_) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

std::vector<const TableSpec*> Schema::replicated() const {
  std::vector<const TableSpec*> out;
  for (const TableSpec& t : tables_) {
    if (t.kind != TableKind::local) out.push_back(&t);
  }
  return out;
}

}  // namespace ezone::data
