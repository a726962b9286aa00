// RouteTable: shard -> {owner ezone, state} plus ezone -> site address, at
// one epoch (DESIGN.md, "route table"). It is the answer to "who serves shard
// S right now", read on every request.
//
// A RouteTable is an immutable value. The only ways to get one are
// RouteTable::create, decode_route_table_json and the change functions below,
// and all of them validate, so every RouteTable that exists satisfies
// validate(). Changes never edit a table: they build the next one at epoch+1,
// which the caller commits through etcd (storage/route/route_store.hpp) and
// every node then installs into its RouteTableHolder.
//
// Thread-safety: a RouteTable is immutable, so any number of threads may read
// one at once. RouteTableHolder is safe for concurrent readers and writers.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/ids.hpp"
#include "core/status.hpp"

namespace ezone {

// `write-forbidden` means the shard is moving (DESIGN.md, "Planned
// switchover"): routers answer 503 or buffer, and no DAL commits writes to it.
enum class ShardState { active, write_forbidden };

// "active" or "write-forbidden": the spelling in JSON, logs and ezctl.
const char* shard_state_name(ShardState state);
// Inverse of shard_state_name. Returns invalid_argument naming the accepted
// spellings for anything else (case-sensitive).
Result<ShardState> parse_shard_state(const std::string& text);

struct ShardRoute {
  ShardId shard = 0;
  std::string name;   // human name (e.g. a province), unique within a table
  std::string owner;  // the owning ezone; always a key of the table's sites
  ShardState state = ShardState::active;

  bool operator==(const ShardRoute& o) const {
    return shard == o.shard && name == o.name && owner == o.owner && state == o.state;
  }
  bool operator!=(const ShardRoute& o) const { return !(*this == o); }
};

// Limits on what a table may hold. They keep a hostile or broken document
// from etcd or disk from costing unbounded memory, and keep names printable
// in logs, metric labels and URLs.
// kEzoneNameBytesMax (core/ids.hpp): [a-z0-9_-]+
constexpr size_t kShardNameBytesMax = 64;   // printable ASCII, no spaces at the ends
constexpr size_t kEzonesMax = 64;

class RouteTable {
 public:
  // Builds and validates a table. Requires epoch >= 1; at least one ezone and
  // one shard; ezone names of 1..kEzoneNameBytesMax bytes of [a-z0-9_-]; at
  // most kEzonesMax ezones; site addresses with a concrete host (no
  // wildcard) and a port; shard ids <= kShardIdMax, each once; shard names
  // non-empty, printable, unique; every owner a known ezone. Returns
  // invalid_argument naming the first offending shard or ezone.
  static Result<RouteTable> create(Epoch epoch, std::vector<ShardRoute> shards,
                                   std::map<std::string, HostPort> sites);

  Epoch epoch() const { return epoch_; }
  // Every shard, sorted by id.
  const std::vector<ShardRoute>& shards() const { return shards_; }
  // ezone -> its router's HTTP address (where other sites forward requests).
  const std::map<std::string, HostPort>& sites() const { return sites_; }

  // O(1). nullptr when the shard is not in the table. The pointer lives as
  // long as this table (hold the shared_ptr from RouteTableHolder).
  const ShardRoute* find(ShardId shard) const;
  // O(log n) over names; nullptr when no shard has that name.
  const ShardRoute* find_by_name(const std::string& name) const;
  // nullptr for an unknown ezone.
  const HostPort* site(const std::string& ezone) const;
  bool has_ezone(const std::string& ezone) const { return sites_.count(ezone) > 0; }
  // A shard by name, or by decimal id. invalid_argument naming the text
  // when the table has no such shard.
  Result<ShardId> find_shard(const std::string& name_or_id) const;
  // Ids of the shards this ezone owns, ascending.
  std::vector<ShardId> shards_owned_by(const std::string& ezone) const;

  // Checks every rule listed at create(). Always ok for a table that exists;
  // it is public so decoders and tests can state that explicitly.
  Status validate() const;

  bool operator==(const RouteTable& o) const {
    return epoch_ == o.epoch_ && shards_ == o.shards_ && sites_ == o.sites_;
  }
  bool operator!=(const RouteTable& o) const { return !(*this == o); }

 private:
  RouteTable() = default;
  void build_index();

  Epoch epoch_ = 0;
  std::vector<ShardRoute> shards_;               // sorted by shard id
  std::map<std::string, HostPort> sites_;
  // shard id -> position in shards_ + 1 (0 = absent). 2 KiB, gives the hot
  // path a lookup without branches on tree nodes.
  std::array<uint16_t, kShardIdMax + 1> slot_{};
  std::map<std::string, ShardId> by_name_;
};

// ---- JSON (the form stored in etcd and shown by ezctl / the admin API) ----
//
//   {
//     "format": 1,
//     "epoch": 7,
//     "ezones": [ {"name": "bj", "site": "10.0.0.1:7100"}, ... ],
//     "shards": [ {"id": 0, "name": "beijing", "owner": "bj",
//                  "state": "active"}, ... ]
//   }
//
// Every field is required; unknown fields are rejected, so a typo in a
// hand-written table fails loudly instead of being ignored. Lists are arrays
// (not objects) so that a duplicated ezone or shard is an error instead of
// silently keeping the last one.
constexpr int kRouteTableJsonFormat = 1;
// A full table of 1024 shards is about 100 KiB; anything far larger is not a
// route table and is refused before parsing.
constexpr size_t kRouteTableJsonBytesMax = 4u << 20;

// Compact JSON text of the table (keys in the order shown above).
std::string encode_route_table_json(const RouteTable& table);
// Parses and validates. Never trusts its input: malformed JSON, wrong types,
// missing or unknown fields, an unsupported format, out-of-range numbers and
// duplicated object keys, text over kRouteTableJsonBytesMax and every
// RouteTable::create rule give parse_error with the JSON path of the problem
// (e.g. "route table JSON: shards[3].state: 'moving' is not a shard state...").
Result<RouteTable> decode_route_table_json(const std::string& text);

// ---- Changes: pure functions returning the table for epoch + 1 ----
//
// Each requires a non-empty shard list without duplicates, every shard in the
// table, and returns the new table or:
//   invalid_argument  empty or duplicated list, unknown shard, unknown ezone
//   conflict          the change would be a no-op for some listed shard
//                     (already owned by `to`, already in `state`): the caller
//                     asked for something that the table already says, which
//                     usually means it read an old table
//   internal          epoch overflow (cannot happen in practice)
// Messages name the shard (id and name) and the table's epoch.

// Gives the shards to ezone `to`. Each shard keeps its state unless
// `state_after` is given (a switchover's last step moves and re-activates in
// one epoch).
Result<RouteTable> move_shards(const RouteTable& table, const std::vector<ShardId>& shards,
                               const std::string& to,
                               std::optional<ShardState> state_after = std::nullopt);
// Sets the state of the shards, keeping their owners.
Result<RouteTable> set_shard_state(const RouteTable& table, const std::vector<ShardId>& shards,
                                   ShardState state);
// Adds an ezone or changes its site address. invalid_argument for a bad name
// or address; conflict when the ezone already has exactly that address.
Result<RouteTable> set_site(const RouteTable& table, const std::string& ezone,
                            const HostPort& site);

// ---- RouteTableHolder: the node's current table, swapped atomically ----
//
// Readers (router I/O threads) call current() and keep the returned pointer
// for the duration of one request: they see one consistent table and never
// wait for a writer longer than a pointer copy. Writers (the GZS after the
// cluster agreed, the LMDB cache at start-up) call install().
class RouteTableHolder {
 public:
  RouteTableHolder() = default;
  RouteTableHolder(const RouteTableHolder&) = delete;
  RouteTableHolder& operator=(const RouteTableHolder&) = delete;

  // The current table; nullptr until the first install.
  std::shared_ptr<const RouteTable> current() const;
  // Epoch of the current table; 0 before the first install.
  Epoch epoch() const;

  // Installs `table` if the holder is empty or its epoch is greater than the
  // current one, and returns true. Returns false (and counts it in
  // refused_count) for nullptr, an older epoch, or the same epoch again (a
  // redelivery: the epoch is the table's identity, since etcd changes it only
  // by a compare-and-swap that bumps it).
  bool install(std::shared_ptr<const RouteTable> table);
  uint64_t refused_count() const;

 private:
  mutable std::mutex mutex_;  // held only to copy or swap the pointer
  std::shared_ptr<const RouteTable> table_;
  uint64_t refused_ = 0;
};

}  // namespace ezone
