#include "storage/route/route_store.hpp"

#include <limits>

#include "storage/route/route_watcher.hpp"

namespace ezone {
namespace {

Status not_bootstrapped() {
  return Status(Errc::not_found, std::string("no route table at ") + kRouteTableKey +
                                     "; bootstrap one first");
}

}  // namespace

Result<RouteTable> decode_stored_route_table(const meta::KeyValue& kv) {
  auto table = decode_route_table_json(kv.value);
  if (!table.ok())
    return Status(Errc::parse_error, "etcd key " + kv.key + " (mod_revision " +
                                         std::to_string(kv.mod_revision) +
                                         "): " + table.status().message());
  return table;
}

RouteStore::RouteStore(meta::MetaStore& store, Metrics* metrics)
    : store_(store), metrics_(metrics) {
  if (metrics_ != nullptr)
    conflicts_metric_ = &metrics_->counter(
        "ezone_route_commit_conflicts_total",
        "Route table commits refused because the epoch moved (stale change)");
}

Result<StoredRouteTable> RouteStore::load_stored() {
  auto range = store_.range(kRouteTableKey);
  if (!range.ok()) return range.status();
  if (range->kvs.empty()) return not_bootstrapped();
  const meta::KeyValue& kv = range->kvs.front();
  auto table = decode_stored_route_table(kv);
  if (!table.ok()) return table.status();
  return StoredRouteTable{std::move(table).value(), kv.mod_revision};
}

Result<RouteTable> RouteStore::load() {
  auto stored = load_stored();
  if (!stored.ok()) return stored.status();
  return std::move(stored->table);
}

Result<RouteTable> RouteStore::bootstrap(const RouteTable& initial) {
  auto result = store_.cas(kRouteTableKey, 0, encode_route_table_json(initial));
  if (!result.ok()) return result.status();
  if (result->succeeded) return initial;
  for (const auto& kv : result->current)
    if (kv.key == kRouteTableKey) return decode_stored_route_table(kv);
  return load();  // deleted again since the compare failed: read what is there now
}

Status RouteStore::moved(Epoch expected, Epoch now) {
  conflicts_.inc();
  if (conflicts_metric_ != nullptr) conflicts_metric_->inc();
  if (now == expected)
    return Status(Errc::conflict, "route table was rewritten under epoch " +
                                      std::to_string(expected) +
                                      " by another writer; re-read and retry");
  return Status(Errc::conflict, "route table epoch moved: expected " + std::to_string(expected) +
                                    ", now " + std::to_string(now) + "; re-read and retry");
}

Result<RouteTable> RouteStore::commit(Epoch expected_epoch, const RouteTable& next,
                                      const std::vector<meta::Compare>& also) {
  if (expected_epoch < 1 || expected_epoch == std::numeric_limits<Epoch>::max())
    return Status(Errc::invalid_argument,
                  "expected epoch " + std::to_string(expected_epoch) + " is not a valid epoch");
  if (next.epoch() != expected_epoch + 1)
    return Status(Errc::invalid_argument,
                  "the next route table has epoch " + std::to_string(next.epoch()) +
                      "; a change on top of epoch " + std::to_string(expected_epoch) +
                      " must carry epoch " + std::to_string(expected_epoch + 1));
  auto current = load_stored();
  if (!current.ok()) return current.status();
  if (current->table.epoch() != expected_epoch)
    return moved(expected_epoch, current->table.epoch());
  meta::TxnRequest txn;
  txn.compares.push_back(
      meta::Compare{kRouteTableKey, meta::Compare::Target::mod_revision, current->mod_revision, ""});
  txn.compares.insert(txn.compares.end(), also.begin(), also.end());
  txn.success.push_back(meta::Op{meta::Op::Kind::put, kRouteTableKey, encode_route_table_json(next), 0});
  auto result = store_.txn(txn);
  if (!result.ok()) return confirm_uncertain_commit(next, result.status());
  if (result->succeeded) return next;
  for (const auto& kv : result->current) {
    if (kv.key != kRouteTableKey) continue;
    auto now = decode_stored_route_table(kv);
    if (!now.ok()) return now.status();
    if (kv.mod_revision == current->mod_revision) break;  // the table held: a condition in `also` failed
    return moved(expected_epoch, now->epoch());
  }
  if (!also.empty())
    return Status(Errc::conflict, "route table commit on epoch " + std::to_string(expected_epoch) +
                                      " refused: a condition of the change no longer holds; re-read and decide again");
  return not_bootstrapped();  // the key was deleted under us
}

// A timed-out write may or may not have been applied. One re-read tells:
// if the stored table is exactly `next`, it landed (and nobody else can
// have written that epoch, since commits need the previous one).
Result<RouteTable> RouteStore::confirm_uncertain_commit(const RouteTable& next,
                                                       const Status& failure) {
  if (failure.code() != Errc::timeout && failure.code() != Errc::unavailable) return failure;
  auto stored = load();
  if (stored.ok() && *stored == next) return next;
  return Status(failure.code(), failure.message() +
                                    " (the route table commit may or may not have landed; "
                                    "re-read before retrying)");
}

Result<RouteTable> RouteStore::repair(const RouteTable& next) {
  auto range = store_.range(kRouteTableKey);
  if (!range.ok()) return range.status();
  int64_t mod_revision = 0;  // absent
  if (!range->kvs.empty()) {
    const meta::KeyValue& kv = range->kvs.front();
    auto stored = decode_stored_route_table(kv);
    if (stored.ok())
      return Status(Errc::conflict, "the stored route table is valid (epoch " +
                                        std::to_string(stored->epoch()) +
                                        "); change it with a commit, not a repair");
    mod_revision = kv.mod_revision;
  }
  auto result = store_.cas(kRouteTableKey, mod_revision, encode_route_table_json(next));
  if (!result.ok()) return result.status();
  if (!result->succeeded)
    return Status(Errc::conflict, "the route table key changed during the repair; re-read and retry");
  return next;
}

Result<std::unique_ptr<RouteWatcher>> RouteStore::watch(const RouteWatchOptions& options,
                                                        RouteWatchCallbacks callbacks) {
  if (!callbacks.on_table)
    return Status(Errc::invalid_argument, "a route watch needs an on_table callback");
  return std::unique_ptr<RouteWatcher>(
      new RouteWatcher(store_, metrics_, options, std::move(callbacks)));
}

}  // namespace ezone
