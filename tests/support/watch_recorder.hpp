// WatchRecorder: collects what a MetaStore watch delivers, so tests can wait
// (bounded) for events and statuses from whichever thread delivers them. It
// also checks the store's promise that callbacks never overlap.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <vector>

#include "storage/meta/meta_store.hpp"

namespace ezone::test {

class WatchRecorder {
 public:
  // Callbacks that record into this object, which must outlive the watch.
  meta::WatchCallbacks callbacks();

  // Wait until at least n events in total (or a status with code) have
  // arrived; false when timeout_ms passed first.
  bool wait_events(size_t n, int64_t timeout_ms);
  bool wait_status(Errc code, int64_t timeout_ms);
  // Number of statuses with this code seen so far.
  size_t status_count(Errc code);

  std::vector<meta::WatchEvent> events();
  std::vector<Status> statuses();
  // Number of on_events calls (batches) so far.
  size_t batches();
  // True if two callbacks ever ran at the same time.
  bool saw_overlap();

 private:
  void enter();
  void leave();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<meta::WatchEvent> events_;
  std::vector<Status> statuses_;
  size_t batches_ = 0;
  int in_flight_ = 0;
  bool overlap_ = false;
};

}  // namespace ezone::test
