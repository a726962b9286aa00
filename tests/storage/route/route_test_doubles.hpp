// Test doubles for RouteStore tests: the two MetaStore backends behind one
// Harness, a HookedStore that injects faults between RouteStore and the
// backend, and a TableRecorder that collects what a RouteWatcher delivers.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>

#include "core/clock.hpp"
#include "storage/etcd/etcd_meta_store.hpp"
#include "storage/meta/memory_meta_store.hpp"
#include "storage/route/route_store.hpp"
#include "storage/route/route_watcher.hpp"
#include "tests/support/etcd_process.hpp"

namespace ezone::test {

constexpr int64_t kRouteWaitMs = 15000;  // generous: a slow machine never fails a test

// ---- backends ----

class Harness {
 public:
  virtual ~Harness() = default;
  virtual meta::MetaStore& store() = 0;
  virtual Status compact(int64_t revision) = 0;
  // Makes the store unreachable (true) or brings it back (false).
  virtual void outage(bool down) = 0;
};

class MemoryHarness final : public Harness {
 public:
  meta::MetaStore& store() override { return store_; }
  Status compact(int64_t revision) override {
    store_.compact(revision);
    return Status::ok();
  }
  void outage(bool down) override { store_.set_available(!down); }

 private:
  ManualClock clock_;
  meta::MemoryMetaStore store_{clock_};
};

class EtcdHarness final : public Harness {
 public:
  explicit EtcdHarness(std::unique_ptr<EtcdProcess> etcd) : etcd_(std::move(etcd)) {
    meta::EtcdMetaStoreConfig config;
    config.endpoints = {etcd_->endpoint()};
    config.request_timeout_ms = 1000;
    auto store = meta::EtcdMetaStore::create(config);
    EXPECT_TRUE(store.ok()) << store.status().to_string();
    store_ = std::move(store).value();
  }
  meta::MetaStore& store() override { return *store_; }
  Status compact(int64_t revision) override { return store_->compact(revision); }
  void outage(bool down) override {
    if (down) {
      etcd_->stop();
      return;
    }
    Status up = etcd_->restart();
    EXPECT_TRUE(up.is_ok()) << up.to_string() << "\n" << etcd_->log_tail();
  }

 private:
  std::unique_ptr<EtcdProcess> etcd_;
  std::unique_ptr<meta::EtcdMetaStore> store_;
};

// ---- fault injection ----

enum class TxnFault { none, lose_race, apply_then_timeout, timeout_without_apply };

class HookedStore final : public meta::MetaStore {
 public:
  explicit HookedStore(meta::MetaStore& inner) : inner_(inner) {}

  // The next transaction suffers `fault`; race_value is what the racing
  // writer puts first (lose_race).
  void inject(TxnFault fault, std::string race_value = {}) {
    std::lock_guard<std::mutex> lock(mutex_);
    fault_ = fault;
    race_value_ = std::move(race_value);
  }
  // Runs once, just before the next watch is set up, with its start revision.
  void before_next_watch(std::function<void(int64_t)> hook) {
    std::lock_guard<std::mutex> lock(mutex_);
    before_watch_ = std::move(hook);
  }
  // While set, watches drop their events (as if missed).
  void suppress_events(bool suppress) { suppress_ = suppress; }
  int suppressed_batches() const { return suppressed_.load(); }
  // Delivers a status to the latest watch, as the store would.
  void deliver_status(const Status& status) {
    std::function<void(const Status&)> on_status;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      on_status = last_on_status_;
    }
    ASSERT_TRUE(on_status);
    on_status(status);
  }

  Result<meta::RangeResult> range(const std::string& key, bool prefix) override {
    return inner_.range(key, prefix);
  }
  Result<int64_t> put(const std::string& key, const std::string& value, int64_t lease) override {
    return inner_.put(key, value, lease);
  }
  Result<int64_t> del(const std::string& key, bool prefix) override { return inner_.del(key, prefix); }
  Result<meta::LeaseGrant> lease_grant(int64_t ttl_s) override { return inner_.lease_grant(ttl_s); }
  Result<int64_t> lease_keepalive(int64_t id) override { return inner_.lease_keepalive(id); }
  Result<int64_t> lease_time_to_live(int64_t id) override { return inner_.lease_time_to_live(id); }
  Status lease_revoke(int64_t id) override { return inner_.lease_revoke(id); }
  Status health() override { return inner_.health(); }

  Result<meta::TxnResult> txn(const meta::TxnRequest& request) override {
    TxnFault fault;
    std::string race_value;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      fault = std::exchange(fault_, TxnFault::none);
      race_value = race_value_;
    }
    switch (fault) {
      case TxnFault::none: return inner_.txn(request);
      case TxnFault::lose_race: {
        auto put = inner_.put(kRouteTableKey, race_value);
        EXPECT_TRUE(put.ok());
        return inner_.txn(request);
      }
      case TxnFault::apply_then_timeout: {
        auto applied = inner_.txn(request);
        EXPECT_TRUE(applied.ok());
        return Status(Errc::timeout, "injected timeout after the write");
      }
      case TxnFault::timeout_without_apply:
        return Status(Errc::timeout, "injected timeout before the write");
    }
    return Status(Errc::internal, "unreachable");
  }

  Result<std::unique_ptr<meta::Watch>> watch(const std::string& key, bool prefix,
                                             int64_t start_revision,
                                             meta::WatchCallbacks callbacks) override {
    std::function<void(int64_t)> hook;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      hook = std::exchange(before_watch_, nullptr);
    }
    if (hook) hook(start_revision);
    meta::WatchCallbacks wrapped;
    auto on_events = callbacks.on_events;
    wrapped.on_events = [this, on_events](const std::vector<meta::WatchEvent>& events) {
      if (suppress_) {
        suppressed_.fetch_add(1);
        return;
      }
      on_events(events);
    };
    wrapped.on_status = callbacks.on_status;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last_on_status_ = callbacks.on_status;
    }
    return inner_.watch(key, prefix, start_revision, std::move(wrapped));
  }

 private:
  meta::MetaStore& inner_;
  std::mutex mutex_;
  TxnFault fault_ = TxnFault::none;
  std::string race_value_;
  std::function<void(int64_t)> before_watch_;
  std::function<void(const Status&)> last_on_status_;
  std::atomic<bool> suppress_{false};
  std::atomic<int> suppressed_{0};
};

// Polls pred (bounded) for values that settle just after a callback.
template <class Pred>
bool eventually(Pred pred, int64_t timeout_ms = kRouteWaitMs) {
  for (int64_t waited = 0; waited < timeout_ms; waited += 10) {
    if (pred()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

// Collects what a RouteWatcher delivers; bounded waits; checks overlap.
class TableRecorder {
 public:
  RouteWatchCallbacks callbacks() {
    RouteWatchCallbacks out;
    out.on_table = [this](std::shared_ptr<const RouteTable> table) {
      enter();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        tables_.push_back(std::move(table));
      }
      leave();
    };
    out.on_status = [this](const Status& status) {
      enter();
      {
        std::lock_guard<std::mutex> lock(mutex_);
        statuses_.push_back(status);
      }
      leave();
    };
    return out;
  }
  bool wait_epoch(Epoch epoch, int64_t timeout_ms = kRouteWaitMs) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      return !tables_.empty() && tables_.back()->epoch() >= epoch;
    });
  }
  bool wait_status(Errc code, int64_t timeout_ms = kRouteWaitMs) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
      for (const auto& s : statuses_)
        if (s.code() == code) return true;
      return false;
    });
  }
  std::vector<Epoch> epochs() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::vector<Epoch> out;
    for (const auto& t : tables_) out.push_back(t->epoch());
    return out;
  }
  std::shared_ptr<const RouteTable> last() {
    std::lock_guard<std::mutex> lock(mutex_);
    return tables_.empty() ? nullptr : tables_.back();
  }
  std::string status_text(Errc code) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& s : statuses_)
      if (s.code() == code) return s.message();
    return "";
  }
  bool saw_overlap() {
    std::lock_guard<std::mutex> lock(mutex_);
    return overlap_;
  }

 private:
  void enter() {
    std::lock_guard<std::mutex> lock(mutex_);
    if (++in_flight_ > 1) overlap_ = true;
  }
  void leave() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --in_flight_;
    }
    changed_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::shared_ptr<const RouteTable>> tables_;
  std::vector<Status> statuses_;
  int in_flight_ = 0;
  bool overlap_ = false;
};

}  // namespace ezone::test
