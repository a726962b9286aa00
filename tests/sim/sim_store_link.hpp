// The coordinator's link to the metadata store: a MetaStore that forwards
// to the simulated store, but as a remote call does. Before and after each
// call the world may let simulated time pass and deliver other messages (so
// other clients' requests land between the engine's reads and its
// compare-and-swap), and the call may fail:
//   - the request is lost: unavailable, and nothing happened;
//   - the answer is lost: timeout, although the call took effect (the case
//     that RouteStore::commit and the journal must resolve by re-reading).
#pragma once

#include <functional>

#include "storage/meta/meta_store.hpp"

namespace ezone::sim {

class SimStoreLink final : public meta::MetaStore {
 public:
  // before(): runs before a request; returns false when the request is lost.
  // after(): runs before the answer; returns false when the answer is lost.
  SimStoreLink(meta::MetaStore& store, std::function<bool()> before, std::function<bool()> after)
      : store_(store), before_(std::move(before)), after_(std::move(after)) {}

  Result<meta::RangeResult> range(const std::string& key, bool prefix = false) override {
    return call([&] { return store_.range(key, prefix); });
  }
  Result<int64_t> put(const std::string& key, const std::string& value, int64_t lease = 0) override {
    return call([&] { return store_.put(key, value, lease); });
  }
  Result<int64_t> del(const std::string& key, bool prefix = false) override {
    return call([&] { return store_.del(key, prefix); });
  }
  Result<meta::TxnResult> txn(const meta::TxnRequest& request) override {
    return call([&] { return store_.txn(request); });
  }
  Result<meta::LeaseGrant> lease_grant(int64_t ttl_s) override {
    return call([&] { return store_.lease_grant(ttl_s); });
  }
  Result<int64_t> lease_keepalive(int64_t lease_id) override {
    return call([&] { return store_.lease_keepalive(lease_id); });
  }
  Result<int64_t> lease_time_to_live(int64_t lease_id) override {
    return call([&] { return store_.lease_time_to_live(lease_id); });
  }
  Status lease_revoke(int64_t lease_id) override {
    auto r = call([&]() -> Result<int> {
      Status s = store_.lease_revoke(lease_id);
      if (!s) return s;
      return 0;
    });
    return r ? Status::ok() : r.status();
  }
  Result<std::unique_ptr<meta::Watch>> watch(const std::string& key, bool prefix, int64_t start_revision,
                                             meta::WatchCallbacks callbacks) override {
    return store_.watch(key, prefix, start_revision, std::move(callbacks));
  }
  Status health() override {
    auto r = call([&]() -> Result<int> {
      Status s = store_.health();
      if (!s) return s;
      return 0;
    });
    return r ? Status::ok() : r.status();
  }

 private:
  template <class F>
  auto call(F&& f) -> decltype(f()) {
    if (!before_()) return Status(Errc::unavailable, "sim: the request to the store was lost");
    auto result = f();
    if (!after_()) return Status(Errc::timeout, "sim: the store's answer was lost");
    return result;
  }

  meta::MetaStore& store_;
  std::function<bool()> before_, after_;
};

}  // namespace ezone::sim
