#include "tests/support/watch_recorder.hpp"

#include <algorithm>
#include <chrono>

namespace ezone::test {

void WatchRecorder::enter() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (++in_flight_ > 1) overlap_ = true;
}

void WatchRecorder::leave() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    --in_flight_;
  }
  changed_.notify_all();
}

meta::WatchCallbacks WatchRecorder::callbacks() {
  meta::WatchCallbacks out;
  out.on_events = [this](const std::vector<meta::WatchEvent>& events) {
    enter();
    {
      std::lock_guard<std::mutex> lock(mutex_);
      events_.insert(events_.end(), events.begin(), events.end());
      ++batches_;
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

bool WatchRecorder::wait_events(size_t n, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                           [&] { return events_.size() >= n; });
}

bool WatchRecorder::wait_status(Errc code, int64_t timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return changed_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return std::any_of(statuses_.begin(), statuses_.end(),
                       [&](const Status& s) { return s.code() == code; });
  });
}

size_t WatchRecorder::status_count(Errc code) {
  std::lock_guard<std::mutex> lock(mutex_);
  return static_cast<size_t>(std::count_if(statuses_.begin(), statuses_.end(),
                                           [&](const Status& s) { return s.code() == code; }));
}

std::vector<meta::WatchEvent> WatchRecorder::events() {
  std::lock_guard<std::mutex> lock(mutex_);
  return events_;
}

std::vector<Status> WatchRecorder::statuses() {
  std::lock_guard<std::mutex> lock(mutex_);
  return statuses_;
}

size_t WatchRecorder::batches() {
  std::lock_guard<std::mutex> lock(mutex_);
  return batches_;
}

bool WatchRecorder::saw_overlap() {
  std::lock_guard<std::mutex> lock(mutex_);
  return overlap_;
}

}  // namespace ezone::test
