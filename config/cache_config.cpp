// The optional [cache] section of a node config: the site's row cache in
// LMDB, kept coherent by the change feed (storage/cache/row_cache.hpp).
//
//   [cache]
//   tables = ["orders"]          # replicated tables whose rows apps may cache; [] or absent = no cache
//   entries_max = 100000         # 1..100000000
//   bytes_max_mb = 256           # LMDB pages of the entries, 1..65536
//   value_bytes_max = 65536      # the largest cached value, 1..16777216
//   recent_max = 100000          # invalidations remembered for fills in flight, 1..10000000
//
// Needs [dal]. load_node_config checks that each table is in the schema
// and replicated (sharding-zone or global-zone).
#include <set>

#include "config/node_config.hpp"
#include "config/toml_reader.hpp"

namespace ezone::config_internal {

Status read_cache(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "cache", c.source, &table));
  if (!table) return Status::ok();
  TableReader r(table, "cache", c.source);
  CacheSettings& s = c.cache;
  const std::string fix = "write an array of table names from the schema, e.g. [\"orders\"]";
  if (const toml::node* node = r.get("tables")) {
    const toml::array* list = node->as_array();
    if (!list) return r.error("tables", "must be an array of table names", fix);
    std::set<std::string> seen;
    for (const toml::node& item : *list) {
      auto name = item.value<std::string>();
      if (!name || name->empty()) return r.error("tables", "holds something that is not a table name", fix);
      if (!seen.insert(*name).second) return r.error("tables", "names '" + *name + "' twice", "list each table once");
      s.tables.push_back(*name);
    }
  }
  EZONE_TRY(r.integer("entries_max", &s.entries_max, 1, 100000000));
  EZONE_TRY(r.integer("bytes_max_mb", &s.bytes_max_mb, 1, 65536));
  EZONE_TRY(r.integer("value_bytes_max", &s.value_bytes_max, 1, 16 << 20));
  EZONE_TRY(r.integer("recent_max", &s.recent_max, 1, 10000000));
  if (!s.tables.empty() && !c.dal.enabled)
    return r.error("tables", "needs a [dal] section: the cache holds rows of the site's database",
                   "add [dal] or remove [cache]");
  return r.no_unknown_keys("tables, entries_max, bytes_max_mb, value_bytes_max, recent_max");
}

}  // namespace ezone::config_internal
