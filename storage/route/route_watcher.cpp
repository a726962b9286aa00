#include "storage/route/route_watcher.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>

#include "storage/route/route_store.hpp"

namespace ezone {
namespace {

Counter* rejected_counter(Metrics* metrics, const char* reason) {
  if (metrics == nullptr) return nullptr;
  return &metrics->counter("ezone_route_table_rejected_total",
                           "Route table documents from etcd that were ignored, by reason",
                           {{"reason", reason}});
}

}  // namespace

RouteWatcher::RouteWatcher(meta::MetaStore& store, Metrics* metrics, RouteWatchOptions options,
                           RouteWatchCallbacks callbacks)
    : store_(store),
      options_(options),
      callbacks_(std::move(callbacks)),
      malformed_metric_(rejected_counter(metrics, "malformed")),
      stale_metric_(rejected_counter(metrics, "stale")),
      deleted_metric_(rejected_counter(metrics, "deleted")),
      delivered_(options.after_epoch) {
  thread_ = std::thread([this] { run(); });
}

RouteWatcher::~RouteWatcher() {
  stopped_ = true;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Waits until no store callback runs; none is delivered afterwards.
  watch_.reset();
}

Epoch RouteWatcher::delivered_epoch() const { return delivered_.load(); }

void RouteWatcher::run() {
  int64_t backoff_ms = std::max<int64_t>(options_.retry_min_ms, 1);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!stopping_) {
    if (!rearm_) {
      wake_.wait(lock, [this] { return stopping_ || rearm_; });
      continue;
    }
    rearm_ = false;
    lock.unlock();
    bool armed = arm();
    lock.lock();
    if (armed) {
      backoff_ms = std::max<int64_t>(options_.retry_min_ms, 1);
      continue;
    }
    rearm_ = true;
    wake_.wait_for(lock, std::chrono::milliseconds(backoff_ms), [this] { return stopping_; });
    backoff_ms = std::min(backoff_ms * 2, std::max(options_.retry_max_ms, backoff_ms));
  }
}

// Read first, then watch from the revision after the read: every change
// after the read arrives as an event, none is missed between the two.
bool RouteWatcher::arm() {
  watch_.reset();  // a compacted watch delivers nothing more; drop it first
  auto range = store_.range(kRouteTableKey);
  if (!range.ok()) {
    report(range.status());
    return false;
  }
  if (!range->kvs.empty()) {
    std::lock_guard<std::mutex> lock(deliver_mutex_);
    deliver_locked(range->kvs.front());
  }
  auto watch = store_.watch(kRouteTableKey, false, range->revision + 1, store_callbacks());
  if (!watch.ok()) {
    report(watch.status());
    return false;
  }
  watch_ = std::move(watch).value();
  arms_.fetch_add(1);
  return true;
}

meta::WatchCallbacks RouteWatcher::store_callbacks() {
  meta::WatchCallbacks callbacks;
  callbacks.on_events = [this](const std::vector<meta::WatchEvent>& events) { on_events(events); };
  callbacks.on_status = [this](const Status& status) { on_store_status(status); };
  return callbacks;
}

void RouteWatcher::on_events(const std::vector<meta::WatchEvent>& events) {
  std::lock_guard<std::mutex> lock(deliver_mutex_);
  for (const auto& event : events) {
    if (event.type == meta::WatchEvent::Type::put) {
      deliver_locked(event.kv);
      continue;
    }
    ignore_locked(Status(Errc::not_found,
                         std::string("route table key ") + kRouteTableKey +
                             " was deleted at revision " + std::to_string(event.kv.mod_revision) +
                             "; keeping epoch " + std::to_string(delivered_.load())),
                  deleted_metric_);
  }
}

void RouteWatcher::on_store_status(const Status& status) {
  if (status.code() == Errc::not_found) {
    spdlog::warn("route watch: {}; re-reading the route table", status.message());
    {
      std::lock_guard<std::mutex> lock(mutex_);
      rearm_ = true;
    }
    wake_.notify_all();
  }
  report(status);
}

void RouteWatcher::deliver_locked(const meta::KeyValue& kv) {
  if (stopped_) return;
  auto table = decode_stored_route_table(kv);
  if (!table.ok()) {
    malformed_.fetch_add(1);
    ignore_locked(table.status(), malformed_metric_);
    return;
  }
  if (table->epoch() <= delivered_) {
    // The same epoch again is a re-read after compaction: nothing new.
    if (table->epoch() == delivered_) return;
    stale_.fetch_add(1);
    ignore_locked(Status(Errc::conflict, "etcd route table at revision " +
                                             std::to_string(kv.mod_revision) + " has epoch " +
                                             std::to_string(table->epoch()) +
                                             ", older than the delivered epoch " +
                                             std::to_string(delivered_.load()) + "; ignored"),
                  stale_metric_);
    return;
  }
  delivered_ = table->epoch();
  callbacks_.on_table(std::make_shared<const RouteTable>(std::move(table).value()));
}

void RouteWatcher::ignore_locked(const Status& status, Counter* metric) {
  if (metric != nullptr) metric->inc();
  spdlog::error("route watch ignored a document: {}", status.to_string());
  if (callbacks_.on_status && !stopped_) callbacks_.on_status(status);
}

void RouteWatcher::report(const Status& status) {
  std::lock_guard<std::mutex> lock(deliver_mutex_);
  if (callbacks_.on_status && !stopped_) callbacks_.on_status(status);
}

}  // namespace ezone
