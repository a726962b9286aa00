// How a peer's rows of a table fit this site's table while the two run
// different versions of its schema (a rolling migration; Migration in
// zones/data/table_schema.hpp).
//
// Each batch names, per table, the origin's columns at the batch's first
// entry (its fingerprint: "name type pk;..." of PRAGMA table_info), and a
// schema record in the outbox marks where they change. Columns are matched
// by name. A peer's rows fit when:
//   - the primary keys are the same columns of the same types, in order;
//   - every column the origin sends exists here with the same type, or was
//     dropped by one of this site's migrations (its value is ignored);
//   - every column here that the origin does not send takes NULL or has a
//     default (a row inserted from the origin gets it; an update leaves it);
//   - the origin sends the shard column (sharding-zone tables).
// Otherwise the rows wait, parked, until one side's migrations make them fit.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace ezone::data {

struct ColumnDef {
  std::string name;
  std::string type;  // as declared, compared without case
  int pk = 0;        // position in the primary key, 1-based; 0: not in it
  bool fillable = true;  // NULL allowed, or a default: an insert may omit it
};

// The columns of a fingerprint; parse_error when it is malformed.
Result<std::vector<ColumnDef>> parse_fingerprint(const std::string& fingerprint);
std::string fingerprint_of(const std::vector<ColumnDef>& columns);

struct ColumnMap {
  bool identity = false;       // the same columns in the same order
  std::vector<int> local_of;   // per origin column: the column here, -1: dropped here
  int shard_at = -1;           // the origin column holding the shard, -1: none
};

// The map of `origin`'s columns onto `local`'s. `dropped`: columns that this
// site's migrations dropped; shard_column: empty for global-zone tables.
// invalid_argument naming the first reason the rows do not fit, and what
// makes them fit.
Result<ColumnMap> map_columns(const std::string& table, const std::string& origin_ezone,
                              const std::vector<ColumnDef>& local, const std::set<std::string>& dropped,
                              const std::string& shard_column, const std::vector<ColumnDef>& origin);

}  // namespace ezone::data
