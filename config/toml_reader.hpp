// Internal to config/: what every TOML file reader here shares, so that the
// node config and the schema file word their errors the same way:
//   "<where>: key '<key>': <problem>. Fix: <fix>"
// where <where> is the file ("bj.toml") or a place in it
// ("takeout.toml: table[2] 'users'"). Not installed, not for other modules:
// it includes toml++, which only config/ links.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include <toml++/toml.h>

#include "core/status.hpp"
#include "core/text_file.hpp"  // read_text_file, for the config readers
#include "storage/net/tls.hpp"

namespace ezone {
struct NodeConfig;
}

namespace ezone::config_internal {

#define EZONE_TRY(expr)          \
  do {                           \
    Status _s = (expr);          \
    if (!_s) return _s;          \
  } while (false)

// invalid_argument "<where>: key '<key>': <problem>. Fix: <fix>".
Status config_error(const std::string& where, const std::string& key, const std::string& problem,
                    const std::string& fix);

// Parses TOML text. A syntax error is parse_error naming source, the line and
// column, and the problem.
Result<toml::table> parse_toml(const std::string& text, const std::string& source);


// Relative paths in a file are relative to that file (source), so a config
// works from any working directory. Empty and absolute paths stay as they are.
void resolve_path(const std::string& source, std::string* path);

// Finds the optional section [name] of root: *out is nullptr when it is
// absent; invalid_argument when name is there but is not a table.
Status optional_section(const toml::table& root, const std::string& name, const std::string& source,
                        const toml::table** out);

// Reads one TOML table, remembering which keys were consumed so that
// leftovers can be reported as unknown keys (a typo must never be ignored).
// A null table reads as empty: every key is absent.
class TableReader {
 public:
  // path prefixes key names in errors ("node" gives "node.http"; "" gives
  // "http"); where is the file or place the errors start with.
  TableReader(const toml::table* table, std::string path, std::string where)
      : table_(table), path_(std::move(path)), where_(std::move(where)) {}

  std::string key(const std::string& name) const {
    return path_.empty() ? name : path_ + "." + name;
  }

  // Returns the node for name (nullptr if absent) and marks it known.
  const toml::node* get(const std::string& name);

  // Absent: an error if required, else out is left alone.
  Status string(const std::string& name, bool required, std::string* out, const std::string& fix);

  Status integer(const std::string& name, int64_t* out, int64_t min, int64_t max);
  template <class Int>
  Status integer(const std::string& name, Int* out, int64_t min, int64_t max) {
    int64_t value = *out;
    EZONE_TRY(integer(name, &value, min, max));
    *out = static_cast<Int>(value);
    return Status::ok();
  }

  Status boolean(const std::string& name, bool* out);

  Status error(const std::string& name, const std::string& problem, const std::string& fix) const {
    return config_error(where_, key(name), problem, fix);
  }

  // An error naming the first key of the table that no getter asked for.
  Status no_unknown_keys(const std::string& allowed) const;

 private:
  const toml::table* table_;
  std::string path_;
  std::string where_;
  std::set<std::string> known_;
};

// The optional [soa] section of a node config (config/soa_config.hpp), read
// after [node] and [[peers]], whose ezones it checks names against.
Status read_soa(const toml::table& root, NodeConfig& c);
// The optional [incident] section (config/incident_config.cpp).
Status read_incident(const toml::table& root, NodeConfig& c);
// The optional [tracing] section (config/tracing_config.cpp).
Status read_tracing(const toml::table& root, NodeConfig& c);
Status read_tls(const toml::table& root, NodeConfig& c);
// A client's TLS keys (ca_file, cert_file, key_file) in the section r reads
// ([etcd], [soa]; config/tls_config.cpp), resolved beside source. whose
// names the servers whose certificates ca_file signed ("etcd's"). When
// required_because is not empty, ca_file is required, and that is why.
Status read_client_tls(TableReader& r, const std::string& source, const std::string& whose,
                       const std::string& required_because, net::ClientTls* out);
// The optional [cache] section (config/cache_config.cpp); after [dal].
Status read_cache(const toml::table& root, NodeConfig& c);

}  // namespace ezone::config_internal
