// RouteWatcher: delivers every new route table from etcd to this node
// (DESIGN.md: "every node watches it and swaps in the new snapshot").
//
//            start / re-arm                      table put
//   arming ----------------> watching ------------------------> on_table
//     ^  |  range the key,     |   |      (valid, epoch newer than
//     |  |  deliver it, watch  |   |       the last delivered one)
//     |  |  from revision+1    |   |
//     |  | store down:         |   | history compacted (not_found):
//     |  | retry with backoff  |   | on_status(not_found), re-arm
//     +--+                     |   |
//     +------------------------+---+
//
// - A store outage is ridden out by the MetaStore watch itself (it resumes
//   from the last revision seen); on_status reports unavailable / ok.
// - When the watch's history was compacted, events may have been missed, so
//   the watcher re-reads the key and starts a new watch; the table read is
//   delivered if it is newer.
// - If the store is down when the watcher starts, it keeps retrying with a
//   doubling backoff (retry_min_ms .. retry_max_ms) on its own thread.
// - A malformed document, a deleted key, or a table whose epoch is not newer
//   than the last delivered one (a raw write by hand) is ignored: it is
//   counted, logged, and reported through on_status (parse_error, not_found,
//   conflict respectively), and the node keeps its current table.
//
// Threads: one worker thread per watcher (arming and retries), plus the
// MetaStore's delivery thread. Callbacks never run concurrently with each
// other and never after the destructor returns.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "core/metrics.hpp"
#include "storage/meta/meta_store.hpp"
#include "zones/routing/route_table.hpp"

namespace ezone {

struct RouteWatchOptions {
  // Deliver only tables with an epoch above this one, e.g. the epoch this
  // node already installed from its LMDB cache. 0 = deliver the first table.
  Epoch after_epoch = 0;
  int64_t retry_min_ms = 100;   // first delay before re-arming after a failure
  int64_t retry_max_ms = 2000;  // the delay doubles up to this
};

struct RouteWatchCallbacks {
  // Each new valid table, epochs strictly increasing. Must not block for
  // long, throw, or destroy the watcher (its getters are fine).
  std::function<void(std::shared_ptr<const RouteTable>)> on_table;
  // Optional: watch health and ignored documents (see above). Same rules.
  std::function<void(const Status&)> on_status;
};

class RouteWatcher {
 public:
  // Stops the worker and the store watch; waits for a running callback.
  ~RouteWatcher();
  RouteWatcher(const RouteWatcher&) = delete;
  RouteWatcher& operator=(const RouteWatcher&) = delete;

  // Epoch of the last table delivered (after_epoch before the first).
  Epoch delivered_epoch() const;
  // Documents ignored because they did not decode or validate.
  uint64_t malformed_count() const { return malformed_.load(); }
  // Tables ignored because their epoch was not newer.
  uint64_t stale_count() const { return stale_.load(); }
  // Successful (re-)arms: 1 after the start, +1 per compaction recovery.
  uint64_t arm_count() const { return arms_.load(); }

 private:
  friend class RouteStore;
  RouteWatcher(meta::MetaStore& store, Metrics* metrics, RouteWatchOptions options,
               RouteWatchCallbacks callbacks);
  void run();
  bool arm();
  meta::WatchCallbacks store_callbacks();
  void on_events(const std::vector<meta::WatchEvent>& events);
  void on_store_status(const Status& status);
  void deliver_locked(const meta::KeyValue& kv);
  void ignore_locked(const Status& status, Counter* metric);
  void report(const Status& status);

  meta::MetaStore& store_;
  const RouteWatchOptions options_;
  const RouteWatchCallbacks callbacks_;
  Counter* malformed_metric_ = nullptr;
  Counter* stale_metric_ = nullptr;
  Counter* deleted_metric_ = nullptr;
  std::atomic<uint64_t> malformed_{0};
  std::atomic<uint64_t> stale_{0};
  std::atomic<uint64_t> arms_{0};

  // Serialises callbacks to the user and their decisions on delivered_.
  std::mutex deliver_mutex_;
  // Written under deliver_mutex_; atomic so delivered_epoch() never waits
  // (a callback may call it).
  std::atomic<Epoch> delivered_;

  std::mutex mutex_;  // guards the three flags below
  std::condition_variable wake_;
  bool stopping_ = false;
  bool rearm_ = true;
  std::atomic<bool> stopped_{false};  // read by callbacks without mutex_

  std::unique_ptr<meta::Watch> watch_;  // only the worker thread touches it until joined
  std::thread thread_;
};

}  // namespace ezone
