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
  switch (kind) {
    case Migration::Kind::add_column: return "add_column";
    case Migration::Kind::drop_column: return "drop_column";
    case Migration::Kind::create_index: return "create_index";
    case Migration::Kind::drop_index: return "drop_index";
  }
  return "?";
}

namespace {

// "(a, b DESC)": plain column names, each optionally ASC or DESC.
bool is_index_columns(const std::string& text) {
  if (text.size() < 3 || text.front() != '(' || text.back() != ')') return false;
  const std::string inner = text.substr(1, text.size() - 2);
  size_t start = 0;
  for (;;) {
    const size_t comma = inner.find(',', start);
    std::string item = inner.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    std::vector<std::string> words;
    for (size_t i = 0; i < item.size();) {
      const size_t from = item.find_first_not_of(' ', i);
      if (from == std::string::npos) break;
      const size_t to = item.find(' ', from);
      words.push_back(item.substr(from, to == std::string::npos ? std::string::npos : to - from));
      i = to == std::string::npos ? item.size() : to;
    }
    const bool order = words.size() == 2 && (words[1] == "ASC" || words[1] == "DESC" || words[1] == "asc" ||
                                             words[1] == "desc");
    if (words.empty() || words.size() > 2 || !is_plain_identifier(words[0]) || (words.size() == 2 && !order)) return false;
    if (comma == std::string::npos) return true;
    start = comma + 1;
  }
}

Status check_migration(const TableSpec& t, size_t index, const Migration& m) {
  auto bad = [&](const std::string& why) {
    return Status(Errc::invalid_argument, "table '" + t.name + "': migration[" + std::to_string(index) + "] (" +
                                              migration_kind_name(m.kind) + "): " + why);
  };
  const bool index_kind = m.kind == Migration::Kind::create_index || m.kind == Migration::Kind::drop_index;
  if (!is_plain_identifier(m.name))
    return bad("'" + m.name + "' is not a plain " + (index_kind ? "index" : "column") + " name");
  if (index_kind && (m.name.rfind(kReservedTablePrefix, 0) == 0 || m.name.rfind("sqlite_", 0) == 0))
    return bad("index names starting with '" + std::string(kReservedTablePrefix) + "' or 'sqlite_' are reserved");
  if (m.kind == Migration::Kind::drop_column && m.name == t.shard_column)
    return bad("the shard column '" + m.name + "' cannot be dropped");
  if (m.kind == Migration::Kind::drop_column || m.kind == Migration::Kind::drop_index) return Status::ok();
  const std::string& d = m.definition;
  if (d.compare(0, m.name.size(), m.name) != 0 || d.size() == m.name.size() || d[m.name.size()] != ' ') {
    return bad(m.kind == Migration::Kind::add_column
                   ? "the definition '" + d + "' must start with the column's name and its type, e.g. 'tip INTEGER'"
                   : "the definition '" + d + "' must be the index's name and its columns, e.g. 'orders_by_user (user_id)'");
  }
  if (m.kind == Migration::Kind::create_index && !is_index_columns(d.substr(m.name.size() + 1)))
    return bad("'" + d.substr(m.name.size() + 1) + "' is not a list of plain columns, e.g. '(user_id, created_ms DESC)'");
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
