// The DAL's table classes (DESIGN.md, "Vocabulary"): what kind of data each
// table holds, which decides where it may be written and how it replicates.
//
//   sharding-zone  every row carries its shard in `shard_column`; writable
//                  only in the ezone that owns that shard; replicated.
//   global-zone    one master ezone; writable only there; replicated.
//   local          this site only; never checked against routes, never
//                  replicated (sessions, caches, scratch).
//
// Tables not named in the schema are refused by the DAL's HTTP API and, when
// an in-process handler writes them, by the commit check: an unclassified
// table is a mistake, and a silent default would hide it.
#pragma once

#include <string>
#include <vector>

#include "core/status.hpp"
#include "zones/data/conflict_policy.hpp"

namespace ezone::data {

enum class TableKind { sharding, global, local };

// "sharding-zone", "global-zone", "local".
const char* table_kind_name(TableKind kind);
// Inverse of table_kind_name; invalid_argument listing the spellings.
Result<TableKind> parse_table_kind(const std::string& text);

// One change to an existing table's columns or indexes (a "migration"). A site runs
// each of its table's migrations once, in order, when its DAL opens
// (storage/dal/dal_schema.cpp). The list is append-only: a database that ran
// migration n refuses a schema file whose n-th migration is another.
//
// Sites run them one at a time (a rolling change). Meanwhile replication
// maps columns by name (zones/data/column_map.hpp): rows from a site with
// fewer columns leave the others alone, rows that carry a column this site
// lacks wait (parked) until it has it, and a column this site dropped is
// ignored. So the usual order is: add a column everywhere, then write it;
// stop writing a column everywhere, then drop it.
//
// Indexes change nothing that replicates: create_index and drop_index run
// at each site on their own (a site's indexes are its own business).
struct Migration {
  enum class Kind { add_column, drop_column, create_index, drop_index } kind = Kind::add_column;
  std::string name;        // the column's or the index's
  // add_column: "name TYPE [constraints]", as after ADD COLUMN;
  // create_index: "name (col [ASC|DESC], ...)"; empty for the drops.
  std::string definition;
};
// "add_column", "drop_column", "create_index", "drop_index".
const char* migration_kind_name(Migration::Kind kind);

struct TableSpec {
  std::string name;
  TableKind kind = TableKind::local;
  std::string shard_column;   // sharding-zone only
  std::string master_ezone;   // global-zone only
  ConflictPolicy conflict = ConflictPolicy::last_writer_wins;
  // The CREATE TABLE statement. The DAL runs it when the table is missing and
  // otherwise leaves the table alone; later changes are `migrations`, run
  // after it (also on a table the ddl has just created).
  std::string ddl;
  std::vector<Migration> migrations;
};

// Names the DAL keeps for itself (outbox, cursors, conflicts, ...).
constexpr const char* kReservedTablePrefix = "_ezone_";

class Schema {
 public:
  // Validates: at least one table; names of 1..64 bytes of [A-Za-z0-9_] that
  // do not start with a digit or kReservedTablePrefix, each once; a
  // shard_column for sharding-zone tables and none elsewhere; a master_ezone
  // for global-zone tables and none elsewhere; a non-empty ddl; migrations
  // that name a plain column or index (a definition starts with it; an
  // add_column's holds no ';', a create_index's lists plain columns), never
  // drop the shard column, and give indexes names not reserved. Returns
  // invalid_argument naming the table and the rule.
  static Result<Schema> create(std::vector<TableSpec> tables);

  const std::vector<TableSpec>& tables() const { return tables_; }
  // nullptr for a table that is not in the schema.
  const TableSpec* find(const std::string& name) const;
  // Sharding- and global-zone tables: the ones that replicate.
  std::vector<const TableSpec*> replicated() const;

 private:
  std::vector<TableSpec> tables_;
};

// True for [A-Za-z_][A-Za-z0-9_]{0,63}: safe to splice into SQL unquoted.
bool is_plain_identifier(const std::string& name);

}  // namespace ezone::data
