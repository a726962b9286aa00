// MetaStore: the cluster's memory. Route-table epochs, ownership leases and
// workflow journals are decisions of the cluster and live here (DESIGN.md,
// "Agreement"). Two implementations share these semantics exactly:
//   - EtcdMetaStore (storage/etcd): etcd v3 through its JSON gateway;
//   - MemoryMetaStore (storage/meta): in-process, on an injected Clock, for
//     unit tests and the deterministic simulator.
//
// Semantics follow etcd v3: one store-wide revision that every mutation bumps
// by one; per key create_revision, mod_revision, version and lease; leases
// with a TTL in seconds whose expiry deletes their keys; watches that deliver
// every event after a start revision in revision order.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace ezone::meta {

struct KeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;  // number of puts since creation; 0 = absent
  int64_t lease = 0;    // 0 = no lease
};

struct RangeResult {
  std::vector<KeyValue> kvs;  // sorted by key
  int64_t revision = 0;       // store revision when the read was served
};

// A compare in a transaction. All compares test equality.
struct Compare {
  enum class Target { mod_revision, version, value };
  std::string key;
  Target target = Target::mod_revision;
  int64_t number = 0;   // for mod_revision / version (0 = key absent)
  std::string value;    // for value
};

struct Op {
  enum class Kind { put, del };
  Kind kind = Kind::put;
  std::string key;
  std::string value;
  int64_t lease = 0;
};

struct TxnRequest {
  std::vector<Compare> compares;
  std::vector<Op> success;  // applied atomically if every compare holds
  std::vector<Op> failure;  // applied atomically otherwise
};

struct TxnResult {
  bool succeeded = false;
  int64_t revision = 0;            // store revision after the transaction
  std::vector<KeyValue> current;   // compared keys as they are after it (absent keys omitted)
};

// The longest lease TTL etcd grants (its MaxLeaseTTL).
constexpr int64_t kLeaseTtlMaxS = 9'000'000'000;

struct LeaseGrant {
  int64_t id = 0;
  int64_t ttl_s = 0;  // as granted (etcd may raise a tiny TTL to its minimum)
};

struct WatchEvent {
  enum class Type { put, del };
  Type type = Type::put;
  KeyValue kv;  // for del: key and mod_revision (the deletion's revision)
};

// Callbacks of a watch. They may run on any thread (a store-owned thread for
// etcd; the mutating caller's thread for memory), never concurrently for one
// watch, and must not block for long or throw.
struct WatchCallbacks {
  std::function<void(const std::vector<WatchEvent>&)> on_events;
  // Called when the watch breaks (store unreachable: unavailable) and when it
  // recovers (ok). The watch resumes by itself from the last revision seen,
  // so no event is lost across a reconnect unless compacted (then an error
  // with code not_found is reported and the caller must re-read).
  std::function<void(const Status&)> on_status;
};

// Owning handle: destroying it cancels the watch and waits until no
// callback of it runs any more. A callback may destroy its own watch; that
// destruction cannot wait for itself, and nothing is delivered afterwards.
class Watch {
 public:
  virtual ~Watch() = default;
};

class MetaStore {
 public:
  virtual ~MetaStore() = default;

  // Reads one key, or every key with that prefix when prefix is true.
  virtual Result<RangeResult> range(const std::string& key, bool prefix = false) = 0;
  // Writes a key, attached to lease (0 = none). Returns the new revision.
  // Fails with not_found if the lease does not exist or has expired.
  virtual Result<int64_t> put(const std::string& key, const std::string& value,
                              int64_t lease = 0) = 0;
  // Deletes a key, or every key with that prefix. Returns how many went.
  virtual Result<int64_t> del(const std::string& key, bool prefix = false) = 0;
  virtual Result<TxnResult> txn(const TxnRequest& request) = 0;

  // Grants a lease. A TTL below the store's minimum is raised to it; one
  // above kLeaseTtlMaxS is invalid_argument.
  virtual Result<LeaseGrant> lease_grant(int64_t ttl_s) = 0;
  // Renews a lease. Returns the remaining TTL in seconds; not_found when the
  // lease has expired or was revoked (the holder has lost it).
  virtual Result<int64_t> lease_keepalive(int64_t lease_id) = 0;
  // A lease's remaining TTL in whole seconds (etcd truncates: the lease
  // expires in under that plus one second), without renewing it; not_found
  // when it has expired or was revoked.
  virtual Result<int64_t> lease_time_to_live(int64_t lease_id) = 0;
  // Revokes a lease and deletes its keys. Revoking an unknown lease is ok.
  virtual Status lease_revoke(int64_t lease_id) = 0;

  // Watches a key (or prefix), delivering every event with revision >=
  // start_revision (0 = every event after the call returns). Fails with
  // unavailable when the store cannot be reached to set the watch up.
  virtual Result<std::unique_ptr<Watch>> watch(const std::string& key, bool prefix,
                                               int64_t start_revision,
                                               WatchCallbacks callbacks) = 0;

  // Cheap liveness probe of the store (etcd: the server answers and has a
  // leader). Returns unavailable with the reason otherwise.
  virtual Status health() = 0;

  // Compare-and-swap on one key: writes value only if the key's mod_revision
  // equals expected_mod_revision (0 = the key must not exist). On a lost race
  // returns a TxnResult with succeeded = false and the key's current value.
  Result<TxnResult> cas(const std::string& key, int64_t expected_mod_revision,
                        const std::string& value, int64_t lease = 0);
};

}  // namespace ezone::meta
