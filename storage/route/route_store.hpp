// RouteStore: the route table's source of truth in etcd (DESIGN.md,
// "Agreement"), over the MetaStore interface, so it runs the same on etcd
// and on MemoryMetaStore (unit tests, simulator).
//
// etcd key layout (all under /ezone/v1/routes/):
//
//   /ezone/v1/routes/table   the whole route table as one JSON document
//                            (route_table.hpp, "JSON"), written only by
//                            bootstrap() and commit()
//
// One key for the whole table makes every change one atomic compare-and-swap
// and every watch event one complete table: a node never sees half a change.
// A full table (1024 shards) is ~100 KiB, well under etcd's 1.5 MiB request
// limit. JSON rather than binary so operators can read it with etcdctl.
//
// The change rule: a commit reads the table, checks that its epoch is the
// epoch the caller based its change on, and writes the next table with a
// compare-and-swap on the key's mod_revision. So a change computed from a
// stale table fails with conflict instead of overwriting a newer decision,
// and two concurrent commits on one epoch cannot both win.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "core/status.hpp"
#include "storage/meta/meta_store.hpp"
#include "zones/routing/route_table.hpp"

namespace ezone {

constexpr const char* kRouteKeyPrefix = "/ezone/v1/routes/";
constexpr const char* kRouteTableKey = "/ezone/v1/routes/table";

// A route table as read from etcd, with the revision it was written at.
struct StoredRouteTable {
  RouteTable table;
  int64_t mod_revision = 0;
};

// Decodes the value of the table key. parse_error naming the key and its
// mod_revision plus the JSON problem (decode_route_table_json).
Result<RouteTable> decode_stored_route_table(const meta::KeyValue& kv);

class RouteWatcher;
struct RouteWatchOptions;
struct RouteWatchCallbacks;

class RouteStore {
 public:
  // store and metrics (optional) must outlive the RouteStore and every
  // watcher it creates.
  explicit RouteStore(meta::MetaStore& store, Metrics* metrics = nullptr);

  // The current table. not_found when none was bootstrapped; parse_error
  // when the stored document is malformed; the store's errors (unavailable,
  // timeout) otherwise.
  Result<RouteTable> load();
  Result<StoredRouteTable> load_stored();

  // Creates the table from `initial` if etcd has none (compare-and-swap on
  // absence) and returns it; if a table already exists, returns that one
  // unchanged (whatever its epoch), so every node can call this at start-up.
  // parse_error if the existing document is malformed. Note: after the key
  // was deleted, nodes ignore a bootstrapped epoch lower than their own;
  // use repair to restore a table with a higher epoch.
  Result<RouteTable> bootstrap(const RouteTable& initial);

  // Replaces the table at expected_epoch with next. Requires next.epoch() ==
  // expected_epoch + 1 (invalid_argument otherwise). Fails with
  //   conflict     the stored epoch is not expected_epoch, or another commit
  //                won the race: "route table epoch moved: expected 7, now 9;
  //                re-read and retry"
  //   not_found    no table exists yet (bootstrap first)
  //   parse_error  the stored document is malformed (see repair)
  //   unavailable / timeout from the store; after a timeout the table is
  //                re-read once, and if it already equals next (the write
  //                did land) the commit succeeds.
  // `also` adds compares that must hold in the same transaction (e.g. "the
  // dead ezone's registration is still absent"); when one fails, conflict.
  // Returns next on success.
  Result<RouteTable> commit(Epoch expected_epoch, const RouteTable& next,
                            const std::vector<meta::Compare>& also = {});

  // The operator's way out when the stored document is malformed or was
  // deleted (commit cannot help: it needs a valid table to compare with).
  // Writes next in its place with a compare-and-swap on what is there, so
  // a concurrent repair or commit makes it fail with conflict. Requires
  // next.epoch() above every epoch a node has installed (e.g. the highest
  // epoch `ezctl status` reports, plus one): watchers ignore older epochs.
  // Returns conflict when the stored table is valid (use commit), plus the
  // store's errors.
  Result<RouteTable> repair(const RouteTable& next);

  // Starts a watcher (route_watcher.hpp) on the table key. Requires
  // callbacks.on_table; invalid_argument otherwise.
  Result<std::unique_ptr<RouteWatcher>> watch(const RouteWatchOptions& options,
                                              RouteWatchCallbacks callbacks);

  // Commits refused with conflict since construction (also the metric
  // ezone_route_commit_conflicts_total when metrics are given).
  uint64_t conflict_count() const { return conflicts_.value(); }

 private:
  Status moved(Epoch expected, Epoch now);
  Result<RouteTable> confirm_uncertain_commit(const RouteTable& next, const Status& failure);

  meta::MetaStore& store_;
  Metrics* metrics_;
  Counter conflicts_;
  Counter* conflicts_metric_ = nullptr;
};

}  // namespace ezone
