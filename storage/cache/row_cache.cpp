#include "storage/cache/cache_dir.hpp"
#include "storage/cache/row_cache_impl.hpp"

namespace ezone {

using namespace cache_internal;

const char* fill_name(RowCache::Fill fill) {
  switch (fill) {
    case RowCache::Fill::stored: return "stored";
    case RowCache::Fill::changed: return "changed";
    case RowCache::Fill::stale_token: return "stale_token";
    case RowCache::Fill::too_large: return "too_large";
    case RowCache::Fill::not_cacheable: return "not_cacheable";
    case RowCache::Fill::off: return "off";
  }
  return "?";
}

Result<std::unique_ptr<RowCache>> RowCache::open(dal::Dal& dal, Metrics& metrics, RowCacheOptions options) {
  if (options.dir.empty()) return Status(Errc::invalid_argument, "row cache: dir is empty");
  if (options.entries_max == 0 || options.bytes_max == 0 || options.value_bytes_max == 0 || options.recent_max == 0)
    return Status(Errc::invalid_argument, "row cache: entries_max, bytes_max, value_bytes_max and recent_max must be > 0");
  for (const std::string& t : options.tables) {
    const data::TableSpec* spec = dal.schema().find(t);
    if (!spec) return Status(Errc::invalid_argument, "row cache: table '" + t + "' is not in the schema");
    if (spec->kind == data::TableKind::local)
      return Status(Errc::invalid_argument, "row cache: table '" + t +
                                                "' is local: its changes are not in the change feed, so its rows "
                                                "cannot be invalidated");
  }
  auto impl = std::make_shared<Impl>(dal, metrics, std::move(options));
  uint64_t replayed = 0;
  std::string cleared;
  Status s = impl->start(replayed, cleared);
  std::unique_ptr<RowCache> cache(new RowCache(impl));
  if (!s) {
    cache->stop();
    return Status(s.code(), "row cache in '" + impl->options.dir + "': " + s.message());
  }
  impl->log->info("event=cache_open dir={} tables={} entries={} replayed={} cleared={}", impl->options.dir,
                  joined(impl->tables), impl->entries_now, replayed, cleared.empty() ? "no" : cleared);
  return cache;
}

RowCache::~RowCache() { stop(); }

void RowCache::stop() {
  if (!impl_) return;
  std::lock_guard<std::mutex> once(impl_->stop_mutex);
  if (impl_->subscribed) {
    impl_->dal.unsubscribe(impl_->subscription);
    impl_->subscribed = false;
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  if (impl_->writer.joinable()) impl_->writer.join();
  if (impl_->env) {
    // Flushed and marked clean, the files are trusted after a reboot too.
    Status s = impl_->env->sync();
    if (s) s = release_cache_dir(impl_->options.dir, impl_->boot_id);
    if (!s) impl_->log->warn("event=cache_stop_unclean dir={} error=\"{}\"", impl_->options.dir, s.to_string());
  }
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->off = true;
  // Closes the LMDB environment (once no get() holds a handle), so the
  // same directory can be opened again in this process.
  impl_->entries_db.reset();
  impl_->fifo_db.reset();
  impl_->meta_db.reset();
  impl_->env.reset();
}

bool RowCache::caches(const std::string& table) const { return impl_->tables.count(table) > 0; }

RowCache::Lookup RowCache::get(const std::string& table, const std::string& pk) {
  Impl& m = *impl_;
  Lookup out;
  const std::string key = entry_key(table, pk);
  std::optional<LmdbKv> entries;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    out.token = m.last_seen;
    const Impl::Op* queued = nullptr;
    if (auto it = m.pending.find(key); it != m.pending.end()) {
      queued = &it->second;
    } else if (auto in = m.inflight.find(key); in != m.inflight.end()) {
      queued = &in->second;
    }
    if (m.off || queued || !m.tables.count(table) || key.size() > m.key_bytes_max) {
      if (!m.off && queued && queued->value) out.value = *queued->value;
      (out.value ? m.hits : m.misses).inc();
      return out;
    }
    // A handle of its own: stop() may release the cache's meanwhile.
    entries = *m.entries_db;
  }
  auto stored = entries->get(key);
  if (stored) {
    if (!entry_seq(*stored)) {
      m.errors.inc();
      m.log->warn("event=cache_corrupt_entry table={} pk={} bytes={} action=delete", table, pk, stored->size());
      std::lock_guard<std::mutex> lock(m.mu);
      m.pending.emplace(key, Impl::Op{std::nullopt, ++m.queued});  // unless something newer is queued
      m.wake.notify_one();
    } else {
      out.value = stored->substr(kEntryHeader);
    }
  } else if (stored.status().code() != Errc::not_found) {
    m.errors.inc();
  }
  (out.value ? m.hits : m.misses).inc();
  return out;
}

RowCache::Fill RowCache::fill(const std::string& table, const std::string& pk, uint64_t token, std::string value) {
  Impl& m = *impl_;
  const std::string key = entry_key(table, pk);
  Fill result = Fill::stored;
  bool idle = false;
  if (!m.tables.count(table) || key.size() > m.key_bytes_max) {
    result = Fill::not_cacheable;
  } else if (value.size() > m.options.value_bytes_max) {
    result = Fill::too_large;
  } else {
    std::lock_guard<std::mutex> lock(m.mu);
    auto it = m.recent.find(key);
    if (m.off) {
      result = Fill::off;
    } else if (token < m.horizon || token > m.last_seen) {
      result = Fill::stale_token;
    } else if (it != m.recent.end() && it->second > token) {
      result = Fill::changed;
    } else {
      m.pending[key] = Impl::Op{std::move(value), ++m.queued};
      idle = m.writer_idle;
    }
  }
  if (idle) m.wake.notify_all();
  m.fills[static_cast<size_t>(result)]->inc();
  return result;
}

Status RowCache::flush(int64_t timeout_ms) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  // The next batch to start takes everything queued before this call.
  const uint64_t target = m.batches_started + 1;
  m.flush_target = std::max(m.flush_target, target);
  m.wake.notify_all();
  bool done = m.written.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                                 [&] { return m.batches_done >= target || m.stopping; });
  if (!done) return Status(Errc::timeout, "row cache: the queued writes did not reach LMDB in time");
  return Status::ok();
}

RowCache::Stats RowCache::stats() const {
  const Impl& m = *impl_;
  Stats out;
  out.tables.assign(m.tables.begin(), m.tables.end());
  out.hits = m.hits.value();
  out.misses = m.misses.value();
  out.invalidations = m.invalidations.value();
  out.evictions = m.evictions.value();
  out.errors = m.errors.value();
  out.bytes = static_cast<uint64_t>(std::max<int64_t>(0, m.bytes_gauge.value()));
  for (Fill f : {Fill::stored, Fill::changed, Fill::stale_token, Fill::too_large, Fill::not_cacheable, Fill::off})
    out.fills.emplace_back(fill_name(f), m.fills[static_cast<size_t>(f)]->value());
  for (const char* reason : kClearReasons) {
    const uint64_t n = m.clears(reason).value();
    if (n) out.clears.emplace_back(reason, n);
  }
  std::lock_guard<std::mutex> lock(m.mu);
  out.entries = m.entries_now;
  out.off = m.off;
  return out;
}

}  // namespace ezone
