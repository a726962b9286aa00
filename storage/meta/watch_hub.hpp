// WatchHub: the watch side of MemoryMetaStore. It keeps a bounded history of
// events for replays and the set of live watches, and delivers events to
// each watch in revision order, one callback at a time.
//
// Two-phase delivery keeps callbacks out of the store's lock: the store calls
// publish() while it holds its lock (so queues fill in revision order), then
// flush() after releasing it. A callback may call back into the store; the
// events it causes are queued and delivered by the flush already running, so
// callbacks never nest or run concurrently for one watch.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "storage/meta/meta_store.hpp"

namespace ezone::meta {

class WatchHub : public std::enable_shared_from_this<WatchHub> {
 public:
  explicit WatchHub(size_t history_events_max);

  // Registers a watch and queues the replay of retained events with revision
  // >= start_revision (0 = only future events), or a not_found "compacted"
  // status when history no longer reaches back that far. Requires the
  // store's lock to be held, so no mutation slips between replay and live
  // events. The returned handle cancels the watch when destroyed.
  std::unique_ptr<Watch> add(const std::string& key, bool prefix, int64_t start_revision,
                             WatchCallbacks callbacks);
  // Appends the events of one revision to history and to matching watches'
  // queues. Requires the store's lock to be held and revisions to increase.
  void publish(const std::vector<WatchEvent>& events);
  // Makes history start after `revision`: later watches from an older start
  // are told "compacted". Requires the store's lock.
  void compact(int64_t revision);
  // Queues a status (the store went down or came back) for every live watch.
  void publish_status(const Status& status);
  int64_t compacted_revision() const;
  // Delivers queued items. Call without holding the store's lock.
  void flush();

 private:
  struct Watcher;
  class Handle;
  void evict_to_limit();
  void remove(const std::shared_ptr<Watcher>& watcher);
  static void drain(Watcher& watcher);

  const size_t history_events_max_;
  mutable std::mutex mutex_;  // guards the fields below; never held during callbacks
  std::deque<WatchEvent> history_;
  // Every revision below this one is gone from history (etcd's meaning of a
  // compaction at this revision).
  int64_t compacted_revision_ = 0;
  std::vector<std::shared_ptr<Watcher>> watchers_;
};

}  // namespace ezone::meta
