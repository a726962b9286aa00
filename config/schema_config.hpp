// Schema files: the DAL's table classes (zones/data/table_schema.hpp) in TOML.
// A node names its schema file in [dal] schema_file; config/schemas/ holds
// the shipped ones. One [[table]] per table, in the order the DAL creates
// them:
//
//   [[table]]
//   name = "orders"                  # the SQLite table, [A-Za-z0-9_]
//   kind = "sharding-zone"           # sharding-zone | global-zone | local
//   shard_column = "shard"           # sharding-zone only, and required there
//   conflict = "last-writer-wins"    # optional; or "first-writer-wins";
//                                    # replicated (non-local) tables only
//   ddl = """CREATE TABLE orders(...)"""   # run when the table is missing
//
//   [[table.migration]]              # optional, any number, in order: later
//   add_column = "tip INTEGER NOT NULL DEFAULT 0"   # changes to the table,
//   [[table.migration]]              # each run once per site when its node
//   drop_column = "legacy_note"      # starts (append-only; see Migration in
//   [[table.migration]]              # zones/data/table_schema.hpp)
//   create_index = "orders_by_user (user_id, created_ms DESC)"
//   [[table.migration]]
//   drop_index = "orders_by_user"
//
//   [[table]]
//   name = "users"
//   kind = "global-zone"
//   master = "bj"                    # global-zone only, and required there
//   ddl = "..."
//
// Errors are invalid_argument (parse_error for bad TOML, not_found/io_error
// for an unreadable file) naming the file, the table's index and name, the
// key and a fix, e.g.
//   "takeout.toml: table[2] 'users': key 'master': required for a
//    global-zone table. Fix: ..."
// Unknown keys are errors: a misspelt key must never be silently ignored.
#pragma once

#include <string>

#include "config/node_config.hpp"
#include "core/status.hpp"
#include "zones/data/table_schema.hpp"

namespace ezone {

// Reads and validates a schema file (format above). Does not know the
// cluster, so a global-zone master is only checked to be non-empty.
Result<data::Schema> load_schema_file(const std::string& path);

// Same, from text already in memory; source_name names it in errors.
Result<data::Schema> parse_schema_toml(const std::string& text, const std::string& source_name);

// The schema of a node: load_schema_file(config.dal.schema_file), plus the
// cluster check that every global-zone table's master is config.ezone or one
// of its [[peers]]; an error names the table and the known ezones. Requires
// config.dal.enabled (invalid_argument otherwise). load_node_config already
// runs this once; the DAL calls it to get the Schema it opens with.
Result<data::Schema> load_node_schema(const NodeConfig& config);

}  // namespace ezone
