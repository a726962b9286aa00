// Gzs (Global Zone Service): holds the geo-fences, the merchant map and the
// route table of one node, and answers "which shard, which owner?" from an
// immutable snapshot, so the router's hot path never waits on a mailbox or
// a lock held for more than a pointer copy.
//
// Lifecycle of the route table on a node:
//
//   start --LMDB cache--> known (last table this node saw; it may be stale)
//     |                     |
//     +--etcd bootstrap/load+--> current --watch: newer epoch--> current'
//                                   (each install is also saved to LMDB and
//                                    reported to the cluster actor)
//
// Only tables committed in etcd (an epoch compare-and-swap) are installed:
// the cluster agreed on them. An older epoch is never installed.
//
// It is a component, not an actor: its reads are lock-free snapshot loads
// on I/O threads and its writes come from the etcd watch thread; an actor
// would add a mailbox hop to both without owning any state the others race on.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/node_config.hpp"
#include "core/metrics.hpp"
#include "core/status.hpp"
#include "storage/meta/meta_store.hpp"
#include "zones/resolution.hpp"
#include "zones/routing/merchant_map.hpp"
#include "zones/routing/route_table.hpp"

namespace spdlog {
class logger;
}

namespace ezone {

namespace geo {
struct GeoFences;
}  // namespace geo

struct GzsOptions {
  // Called (from the watch thread) after each newly installed epoch.
  std::function<void(Epoch)> on_epoch;
};

class Gzs {
 public:
  // Loads fences and shards (config.gzs), the merchant map, the LMDB cache
  // under <data_dir>/lmdb, then bootstraps or loads the route table from
  // etcd and watches it. If etcd cannot be reached the node starts with its
  // cached table (or none) and the watch keeps trying. Fails on bad data
  // files (clear error naming the file) or an unusable data dir.
  // store, metrics and logger must outlive the Gzs.
  static Result<std::unique_ptr<Gzs>> start(const NodeConfig& config, meta::MetaStore& store,
                                            Metrics& metrics, std::shared_ptr<spdlog::logger> logger,
                                            GzsOptions options = {});
  ~Gzs();
  void stop();  // stops the watch; idempotent

  // Hot path: thread-safe, never blocks. Errors as in zones/resolution.hpp.
  Result<Resolution> resolve(const ShardingKey& key) const;
  Resolver resolver() const;

  std::shared_ptr<const RouteTable> routes() const;  // nullptr before the first table
  Epoch epoch() const;
  size_t fence_count() const;
  size_t merchant_count() const;

  // Admin operations (they block on etcd: admin threads only).
  // Moves shards (names or decimal ids) to ezone `to` by an epoch CAS.
  // expected_epoch 0 = the epoch this node holds. conflict when the epoch
  // has moved; invalid_argument for unknown shards or ezones.
  Result<RouteTable> move(const std::vector<std::string>& shards, const std::string& to,
                          Epoch expected_epoch);
  // Sets a merchant's shard (and optionally fence) on this node.
  Status set_merchant(const MerchantRoute& route);

  // A new order id for `shard` (layout: zones/routing/order_id.hpp), minted
  // with [gzs] minter_id. Unique across restarts: before an id's time field
  // passes the point saved in LMDB, a new point (a couple of seconds ahead)
  // is saved durably, and the next incarnation starts after it. Thread-safe;
  // usually lock-free, one fsync every few seconds. Errors: invalid_argument
  // for a bad shard; unavailable when the minter is exhausted or the point
  // cannot be saved (no id is returned that a restart could reissue).
  Result<uint64_t> mint_order_id(ShardId shard);

 private:
  struct Impl;
  explicit Gzs(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ezone
