#include "storage/meta/memory_meta_store.hpp"

#include <algorithm>

#include "storage/meta/watch_hub.hpp"

namespace ezone::meta {
namespace {

Status missing_key() { return Status(Errc::invalid_argument, "meta store: key is empty"); }

Status lease_not_found(int64_t lease_id) {
  return Status(Errc::not_found, "lease " + std::to_string(lease_id) + " not found (expired or revoked)");
}

bool in_range(const std::string& candidate, const std::string& key, bool prefix) {
  return prefix ? candidate.compare(0, key.size(), key) == 0 : candidate == key;
}

}  // namespace

MemoryMetaStore::MemoryMetaStore(const Clock& clock, MemoryMetaStoreOptions options)
    : clock_(clock),
      options_(options),
      hub_(std::make_shared<WatchHub>(options.history_events_max)) {}

MemoryMetaStore::~MemoryMetaStore() = default;

Status MemoryMetaStore::check_available_locked() const {
  if (available_) return Status::ok();
  return Status(Errc::unavailable, "memory meta store is marked unavailable");
}

void MemoryMetaStore::publish_locked(Events& events) {
  hub_->publish(events);
  events.clear();
}

// Each expired lease is revoked in a revision of its own, in deadline order,
// as etcd's lessor does.
void MemoryMetaStore::expire_locked(Events& events) {
  int64_t now_ms = clock_.now_ms();
  std::vector<std::pair<int64_t, int64_t>> expired;  // (expiry_ms, id)
  for (const auto& [id, lease] : leases_)
    if (now_ms >= lease.expiry_ms) expired.emplace_back(lease.expiry_ms, id);
  std::sort(expired.begin(), expired.end());
  for (const auto& entry : expired) revoke_locked(entry.second, events);
}

void MemoryMetaStore::revoke_locked(int64_t lease_id, Events& events) {
  auto it = leases_.find(lease_id);
  if (it == leases_.end()) return;
  std::set<std::string> keys = std::move(it->second.keys);
  leases_.erase(it);
  int64_t revision = revision_ + 1;
  for (const auto& key : keys) delete_locked(key, revision, events);
  if (events.empty()) return;
  revision_ = revision;
  publish_locked(events);
}

void MemoryMetaStore::put_locked(const std::string& key, const std::string& value,
                                 int64_t lease, int64_t revision, Events& events) {
  KeyValue& kv = kvs_[key];
  if (kv.version == 0) {
    kv.key = key;
    kv.create_revision = revision;
  }
  if (kv.lease != 0 && kv.lease != lease) {
    auto old = leases_.find(kv.lease);
    if (old != leases_.end()) old->second.keys.erase(key);
  }
  if (lease != 0) leases_.at(lease).keys.insert(key);
  kv.value = value;
  kv.mod_revision = revision;
  kv.version += 1;
  kv.lease = lease;
  events.push_back({WatchEvent::Type::put, kv});
}

bool MemoryMetaStore::delete_locked(const std::string& key, int64_t revision, Events& events) {
  auto it = kvs_.find(key);
  if (it == kvs_.end()) return false;
  if (it->second.lease != 0) {
    auto lease = leases_.find(it->second.lease);
    if (lease != leases_.end()) lease->second.keys.erase(key);
  }
  WatchEvent event;
  event.type = WatchEvent::Type::del;
  event.kv.key = key;
  event.kv.mod_revision = revision;
  events.push_back(std::move(event));
  kvs_.erase(it);
  return true;
}

Result<RangeResult> MemoryMetaStore::range(const std::string& key, bool prefix) {
  if (key.empty() && !prefix) return missing_key();
  Events events;
  RangeResult result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status up = check_available_locked(); !up) return up;
    expire_locked(events);
    for (auto it = kvs_.lower_bound(key); it != kvs_.end() && in_range(it->first, key, prefix); ++it)
      result.kvs.push_back(it->second);
    result.revision = revision_;
  }
  hub_->flush();
  return result;
}

Result<int64_t> MemoryMetaStore::put(const std::string& key, const std::string& value,
                                     int64_t lease) {
  if (key.empty()) return missing_key();
  Events events;
  int64_t revision = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status up = check_available_locked(); !up) return up;
    expire_locked(events);
    if (lease != 0 && leases_.count(lease) == 0) return lease_not_found(lease);
    revision = revision_ + 1;
    put_locked(key, value, lease, revision, events);
    revision_ = revision;
    publish_locked(events);
  }
  hub_->flush();
  return revision;
}

Result<int64_t> MemoryMetaStore::del(const std::string& key, bool prefix) {
  if (key.empty() && !prefix) return missing_key();
  Events events;
  int64_t deleted = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status up = check_available_locked(); !up) return up;
    expire_locked(events);
    std::vector<std::string> doomed;
    for (auto it = kvs_.lower_bound(key); it != kvs_.end() && in_range(it->first, key, prefix); ++it)
      doomed.push_back(it->first);
    int64_t revision = revision_ + 1;
    for (const auto& name : doomed) deleted += delete_locked(name, revision, events) ? 1 : 0;
    if (deleted > 0) revision_ = revision;
    publish_locked(events);
  }
  hub_->flush();
  return deleted;
}

// etcd rejects a branch that puts one key twice, or puts and deletes it,
// whichever branch runs (deleting a key twice is allowed).
Status MemoryMetaStore::validate_ops(const std::vector<Op>& ops) const {
  std::set<std::string> puts;
  std::set<std::string> dels;
  for (const auto& op : ops) {
    if (op.key.empty()) return missing_key();
    if (op.kind == Op::Kind::del) dels.insert(op.key);
  }
  for (const auto& op : ops) {
    if (op.kind != Op::Kind::put) continue;
    if (!puts.insert(op.key).second || dels.count(op.key) != 0)
      return Status(Errc::invalid_argument, "duplicate key '" + op.key + "' in a txn branch");
  }
  return Status::ok();
}

Status MemoryMetaStore::check_leases_locked(const std::vector<Op>& ops) const {
  for (const auto& op : ops)
    if (op.kind == Op::Kind::put && op.lease != 0 && leases_.count(op.lease) == 0)
      return lease_not_found(op.lease);
  return Status::ok();
}

bool MemoryMetaStore::compare_holds_locked(const Compare& compare) const {
  auto it = kvs_.find(compare.key);
  switch (compare.target) {
    case Compare::Target::mod_revision:
      return (it == kvs_.end() ? 0 : it->second.mod_revision) == compare.number;
    case Compare::Target::version:
      return (it == kvs_.end() ? 0 : it->second.version) == compare.number;
    case Compare::Target::value:
      // etcd: a value compare on an absent key always fails.
      return it != kvs_.end() && it->second.value == compare.value;
  }
  return false;
}

std::vector<KeyValue> MemoryMetaStore::current_locked(const std::vector<Compare>& compares) const {
  std::vector<KeyValue> out;
  std::set<std::string> seen;
  for (const auto& compare : compares) {
    if (!seen.insert(compare.key).second) continue;
    auto it = kvs_.find(compare.key);
    if (it != kvs_.end()) out.push_back(it->second);
  }
  return out;
}

Result<TxnResult> MemoryMetaStore::txn(const TxnRequest& request) {
  for (const auto& compare : request.compares)
    if (compare.key.empty()) return missing_key();
  if (Status valid = validate_ops(request.success); !valid) return valid;
  if (Status valid = validate_ops(request.failure); !valid) return valid;
  Events events;
  TxnResult result;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status up = check_available_locked(); !up) return up;
    expire_locked(events);
    result.succeeded = std::all_of(request.compares.begin(), request.compares.end(),
                                   [&](const Compare& c) { return compare_holds_locked(c); });
    const auto& ops = result.succeeded ? request.success : request.failure;
    if (Status leases = check_leases_locked(ops); !leases) return leases;
    int64_t revision = revision_ + 1;
    for (const auto& op : ops) {
      if (op.kind == Op::Kind::put) put_locked(op.key, op.value, op.lease, revision, events);
      else delete_locked(op.key, revision, events);
    }
    if (!events.empty()) revision_ = revision;
    publish_locked(events);
    result.revision = revision_;
    result.current = current_locked(request.compares);
  }
  hub_->flush();
  return result;
}

Result<LeaseGrant> MemoryMetaStore::lease_grant(int64_t ttl_s) {
  if (ttl_s > kLeaseTtlMaxS)
    return Status(Errc::invalid_argument, "lease TTL " + std::to_string(ttl_s) + " s is too large");
  Events events;
  LeaseGrant grant;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status up = check_available_locked(); !up) return up;
    expire_locked(events);
    grant.id = next_lease_id_++;
    grant.ttl_s = std::max(ttl_s, options_.lease_ttl_min_s);
    Lease& lease = leases_[grant.id];
    lease.ttl_s = grant.ttl_s;
    lease.expiry_ms = clock_.now_ms() + grant.ttl_s * 1000;
  }
  hub_->flush();
  return grant;
}

Result<int64_t> MemoryMetaStore::lease_ttl(int64_t lease_id, bool renew) {
  Events events;
  Result<int64_t> result = lease_not_found(lease_id);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status up = check_available_locked(); !up) return up;
    expire_locked(events);
    auto it = leases_.find(lease_id);
    if (it != leases_.end() && renew) {
      it->second.expiry_ms = clock_.now_ms() + it->second.ttl_s * 1000;
      result = it->second.ttl_s;
    } else if (it != leases_.end()) {
      result = std::max<int64_t>(0, (it->second.expiry_ms - clock_.now_ms()) / 1000);  // truncated, as etcd does
    }
  }
  hub_->flush();
  return result;
}

Result<int64_t> MemoryMetaStore::lease_keepalive(int64_t lease_id) { return lease_ttl(lease_id, true); }

Result<int64_t> MemoryMetaStore::lease_time_to_live(int64_t lease_id) { return lease_ttl(lease_id, false); }

Status MemoryMetaStore::lease_revoke(int64_t lease_id) {
  Events events;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status up = check_available_locked(); !up) return up;
    expire_locked(events);
    revoke_locked(lease_id, events);
  }
  hub_->flush();
  return Status::ok();
}

Result<std::unique_ptr<Watch>> MemoryMetaStore::watch(const std::string& key, bool prefix,
                                                      int64_t start_revision,
                                                      WatchCallbacks callbacks) {
  if (key.empty() && !prefix) return missing_key();
  if (start_revision < 0)
    return Status(Errc::invalid_argument, "watch start revision must be >= 0");
  Events events;
  std::unique_ptr<Watch> handle;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (Status up = check_available_locked(); !up) return up;
    expire_locked(events);
    handle = hub_->add(key, prefix, start_revision, std::move(callbacks));
  }
  hub_->flush();
  return handle;
}

Status MemoryMetaStore::health() {
  std::lock_guard<std::mutex> lock(mutex_);
  return check_available_locked();
}

void MemoryMetaStore::tick() {
  Events events;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!available_) return;  // a store that is down expires nothing
    expire_locked(events);
  }
  hub_->flush();
}

void MemoryMetaStore::compact(int64_t revision) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    hub_->compact(std::min(revision, revision_));
  }
  hub_->flush();
}

void MemoryMetaStore::set_available(bool available) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (available_ == available) return;
    available_ = available;
    // etcd's new leader renews every lease (lessor.Promote), so holders that
    // could not reach a store that was down do not lose their leases for it.
    int64_t now_ms = clock_.now_ms();
    if (available)
      for (auto& entry : leases_) entry.second.expiry_ms = now_ms + entry.second.ttl_s * 1000;
    hub_->publish_status(available ? Status::ok()
                                   : Status(Errc::unavailable, "memory meta store went down"));
  }
  hub_->flush();
}

int64_t MemoryMetaStore::revision() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return revision_;
}

}  // namespace ezone::meta
