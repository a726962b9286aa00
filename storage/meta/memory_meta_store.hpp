// MemoryMetaStore: an in-process MetaStore with etcd v3's semantics, for unit
// tests and the deterministic simulator (DESIGN.md, "Agreement").
//
// What it copies from etcd 3.4 on purpose, so code tested here behaves the
// same against the real thing:
//   - the revision starts at 1; every write request that changes something
//     (a put, a delete that removes keys, a transaction with writes, a lease
//     expiry or revoke that removes keys) bumps it by exactly one, and all
//     its events carry that revision;
//   - a compare on an absent key sees mod_revision 0 and version 0, and a
//     value compare on an absent key is always false;
//   - a transaction branch may not put one key twice, nor put and delete it
//     (invalid_argument);
//     a put naming an unknown lease fails with not_found and changes nothing;
//   - a lease TTL below the minimum is raised to it; a put moves a key off
//     its previous lease;
//   - a delete event carries only the key and the deletion's revision.
//
// Time comes from the injected Clock. Expired leases are removed at the start
// of every call and by tick(), so a simulator that advances a ManualClock
// calls tick() to make expiries (and their delete events) happen.
//
// Watch callbacks run on the thread whose call produced the events (or on
// the thread calling watch() for replays), after the store's lock is
// released. See WatchHub for the ordering guarantees.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>

#include "core/clock.hpp"
#include "storage/meta/meta_store.hpp"

namespace ezone::meta {

class WatchHub;

struct MemoryMetaStoreOptions {
  int64_t lease_ttl_min_s = 1;  // etcd derives its minimum from the election timeout
  // Events kept for watches that start in the past; older starts are
  // reported as compacted. Must be > 0.
  size_t history_events_max = 100000;
};

class MemoryMetaStore final : public MetaStore {
 public:
  // The clock must outlive the store.
  explicit MemoryMetaStore(const Clock& clock, MemoryMetaStoreOptions options = {});
  ~MemoryMetaStore() override;

  Result<RangeResult> range(const std::string& key, bool prefix = false) override;
  Result<int64_t> put(const std::string& key, const std::string& value,
                      int64_t lease = 0) override;
  Result<int64_t> del(const std::string& key, bool prefix = false) override;
  Result<TxnResult> txn(const TxnRequest& request) override;
  Result<LeaseGrant> lease_grant(int64_t ttl_s) override;
  Result<int64_t> lease_keepalive(int64_t lease_id) override;
  Result<int64_t> lease_time_to_live(int64_t lease_id) override;
  Status lease_revoke(int64_t lease_id) override;
  Result<std::unique_ptr<Watch>> watch(const std::string& key, bool prefix,
                                       int64_t start_revision,
                                       WatchCallbacks callbacks) override;
  Status health() override;

  // Expires every lease whose deadline has passed on the clock and delivers
  // the resulting delete events.
  void tick();
  // Forgets history before `revision`, as etcd's compaction does: watches
  // that start earlier get not_found. For tests of the compaction path.
  void compact(int64_t revision);
  // Marks the store down (health() and every call return unavailable) or up
  // again, so tests and the simulator can model an unreachable etcd. Watches
  // get on_status(unavailable) and later on_status(ok). While down no lease
  // expires; coming back renews every lease for a full TTL, as etcd does
  // when a new leader takes over.
  void set_available(bool available);
  int64_t revision() const;

 private:
  struct Lease {
    int64_t ttl_s = 0;
    int64_t expiry_ms = 0;
    std::set<std::string> keys;
  };
  using Events = std::vector<WatchEvent>;
  // A lease's TTL: renewed (keepalive) or as it stands (time-to-live).
  Result<int64_t> lease_ttl(int64_t lease_id, bool renew);

  Status check_available_locked() const;
  void expire_locked(Events& events);
  void publish_locked(Events& events);
  Status validate_ops(const std::vector<Op>& ops) const;
  Status check_leases_locked(const std::vector<Op>& ops) const;
  bool compare_holds_locked(const Compare& compare) const;
  void put_locked(const std::string& key, const std::string& value, int64_t lease,
                  int64_t revision, Events& events);
  bool delete_locked(const std::string& key, int64_t revision, Events& events);
  void revoke_locked(int64_t lease_id, Events& events);
  std::vector<KeyValue> current_locked(const std::vector<Compare>& compares) const;

  const Clock& clock_;
  const MemoryMetaStoreOptions options_;
  const std::shared_ptr<WatchHub> hub_;

  mutable std::mutex mutex_;  // guards the fields below
  bool available_ = true;
  int64_t revision_ = 1;
  int64_t next_lease_id_ = 1;
  std::map<std::string, KeyValue> kvs_;
  std::map<int64_t, Lease> leases_;
};

}  // namespace ezone::meta
