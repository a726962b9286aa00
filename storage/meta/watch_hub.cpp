#include "storage/meta/watch_hub.hpp"

#include <algorithm>
#include <condition_variable>
#include <optional>
#include <thread>

namespace ezone::meta {

// One queued delivery: either the events of one revision or a status.
struct QueuedItem {
  std::vector<WatchEvent> events;
  std::optional<Status> status;
};

struct WatchHub::Watcher {
  Watcher(std::string k, bool p, int64_t start, WatchCallbacks c)
      : key(std::move(k)), prefix(p), start_revision(start), callbacks(std::move(c)) {}
  bool matches(const WatchEvent& event) const {
    if (event.kv.mod_revision < start_revision) return false;
    return prefix ? event.kv.key.compare(0, key.size(), key) == 0 : event.kv.key == key;
  }

  const std::string key;
  const bool prefix;
  const int64_t start_revision;  // 0 = from registration on
  const WatchCallbacks callbacks;

  std::mutex mutex;  // guards the fields below
  std::condition_variable idle;
  std::deque<QueuedItem> queue;
  bool closed = false;      // takes no more events (compacted)
  bool cancelled = false;   // the handle is gone: deliver nothing more
  bool delivering = false;
  std::thread::id deliverer;
};

class WatchHub::Handle final : public Watch {
 public:
  Handle(std::shared_ptr<WatchHub> hub, std::shared_ptr<Watcher> watcher)
      : hub_(std::move(hub)), watcher_(std::move(watcher)) {}
  ~Handle() override { hub_->remove(watcher_); }

 private:
  std::shared_ptr<WatchHub> hub_;
  std::shared_ptr<Watcher> watcher_;
};

WatchHub::WatchHub(size_t history_events_max)
    : history_events_max_(std::max<size_t>(history_events_max, 1)) {}

std::unique_ptr<Watch> WatchHub::add(const std::string& key, bool prefix,
                                     int64_t start_revision, WatchCallbacks callbacks) {
  auto watcher = std::make_shared<Watcher>(key, prefix, start_revision, std::move(callbacks));
  std::lock_guard<std::mutex> lock(mutex_);
  if (start_revision > 0 && start_revision < compacted_revision_) {
    watcher->closed = true;
    watcher->queue.push_back(
        {{}, Status(Errc::not_found, "watch from revision " + std::to_string(start_revision) +
                                         " is compacted: history starts at " +
                                         std::to_string(compacted_revision_) + "; re-read")});
  } else if (start_revision > 0) {
    for (const auto& event : history_) {
      if (!watcher->matches(event)) continue;
      auto& queue = watcher->queue;
      if (queue.empty() || queue.back().events.back().kv.mod_revision != event.kv.mod_revision)
        queue.push_back({});
      queue.back().events.push_back(event);
    }
  }
  watchers_.push_back(watcher);
  return std::make_unique<Handle>(shared_from_this(), watcher);
}

void WatchHub::publish(const std::vector<WatchEvent>& events) {
  if (events.empty()) return;
  std::lock_guard<std::mutex> lock(mutex_);
  history_.insert(history_.end(), events.begin(), events.end());
  evict_to_limit();
  for (const auto& watcher : watchers_) {
    QueuedItem item;
    for (const auto& event : events)
      if (watcher->matches(event)) item.events.push_back(event);
    if (item.events.empty()) continue;
    std::lock_guard<std::mutex> watcher_lock(watcher->mutex);
    if (!watcher->closed && !watcher->cancelled) watcher->queue.push_back(std::move(item));
  }
}

void WatchHub::publish_status(const Status& status) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& watcher : watchers_) {
    std::lock_guard<std::mutex> watcher_lock(watcher->mutex);
    if (!watcher->closed && !watcher->cancelled) watcher->queue.push_back({{}, status});
  }
}

// Drops whole revisions only, so history never holds half of one.
void WatchHub::evict_to_limit() {
  while (history_.size() > history_events_max_) {
    int64_t revision = history_.front().kv.mod_revision;
    while (!history_.empty() && history_.front().kv.mod_revision == revision)
      history_.pop_front();
    compacted_revision_ = std::max(compacted_revision_, revision + 1);
  }
}

void WatchHub::compact(int64_t revision) {
  std::lock_guard<std::mutex> lock(mutex_);
  while (!history_.empty() && history_.front().kv.mod_revision < revision) history_.pop_front();
  compacted_revision_ = std::max(compacted_revision_, revision);
}

int64_t WatchHub::compacted_revision() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return compacted_revision_;
}

void WatchHub::flush() {
  std::vector<std::shared_ptr<Watcher>> watchers;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    watchers = watchers_;
  }
  for (const auto& watcher : watchers) drain(*watcher);
}

// Whoever finds the queue non-empty and nobody delivering becomes the
// deliverer and empties it; everyone else leaves. The emptiness check and
// the release of `delivering` happen under one lock, so nothing queued is
// stranded.
void WatchHub::drain(Watcher& watcher) {
  std::unique_lock<std::mutex> lock(watcher.mutex);
  if (watcher.delivering) return;
  watcher.delivering = true;
  watcher.deliverer = std::this_thread::get_id();
  while (!watcher.queue.empty() && !watcher.cancelled) {
    QueuedItem item = std::move(watcher.queue.front());
    watcher.queue.pop_front();
    lock.unlock();
    if (item.status && watcher.callbacks.on_status) watcher.callbacks.on_status(*item.status);
    if (!item.events.empty() && watcher.callbacks.on_events) watcher.callbacks.on_events(item.events);
    lock.lock();
  }
  watcher.delivering = false;
  watcher.deliverer = std::thread::id();
  watcher.idle.notify_all();
}

void WatchHub::remove(const std::shared_ptr<Watcher>& watcher) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    watchers_.erase(std::remove(watchers_.begin(), watchers_.end(), watcher), watchers_.end());
  }
  std::unique_lock<std::mutex> lock(watcher->mutex);
  watcher->cancelled = true;
  watcher->queue.clear();
  // A callback that destroys its own watch cannot wait for itself to end.
  if (watcher->deliverer == std::this_thread::get_id()) return;
  watcher->idle.wait(lock, [&] { return !watcher->delivering; });
}

}  // namespace ezone::meta
