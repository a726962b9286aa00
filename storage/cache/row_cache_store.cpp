// RowCache's LMDB side: opening (with the directory check of
// cache_dir.hpp and the feed's replay), the writer thread's batches, and
// clearing.
#include "storage/cache/cache_dir.hpp"
#include "storage/cache/row_cache_impl.hpp"

namespace ezone {

using namespace cache_internal;

// One batch into LMDB: ops, evictions past the bounds, the position.
Status RowCache::Impl::write_batch(const std::unordered_map<std::string, Op>& ops, uint64_t position,
                                   size_t& evicted, LmdbStat& stat) {
  std::vector<const std::pair<const std::string, Op>*> ordered;
  ordered.reserve(ops.size());
  for (const auto& op : ops) ordered.push_back(&op);
  std::sort(ordered.begin(), ordered.end(), [](auto* a, auto* b) { return a->second.order < b->second.order; });
  return env->write([&](LmdbWrite& w) -> Status {
    for (const auto* item : ordered) {
      const std::string& key = item->first;
      const std::optional<std::string>& op = item->second.value;
      auto old = w.get(*entries_db, key);
      if (!old) return old.status();
      if (old.value()) {
        if (auto seq = entry_seq(**old)) if (Status st_ = w.del(*fifo_db, be64(*seq)); !st_) return st_;
        if (!op) if (Status st_ = w.del(*entries_db, key); !st_) return st_;
      }
      if (!op) continue;
      const uint64_t seq = next_fill_seq++;
      std::string value;
      value.reserve(kEntryHeader + op->size());
      value += kEntryFormat;
      value += le64(seq);
      value += *op;
      if (Status st_ = w.put(*entries_db, key, value); !st_) return st_;
      if (Status st_ = w.put(*fifo_db, be64(seq), key); !st_) return st_;
    }
    auto st = w.stat(*entries_db);
    if (!st) return st.status();
    while (st->entries > options.entries_max || st->bytes > options.bytes_max) {
      auto oldest = w.first(*fifo_db);
      if (!oldest) return oldest.status();
      if (!oldest.value()) break;
      const auto& [fifo_key, key] = **oldest;
      if (Status st_ = w.del(*fifo_db, fifo_key); !st_) return st_;
      if (Status st_ = w.del(*entries_db, key); !st_) return st_;
      ++evicted;
      st = w.stat(*entries_db);
      if (!st) return st.status();
    }
    stat = *st;
    return w.put(*meta_db, kPositionKey, le64(position));
  });
}

// Empties the cache and records position (and the tables) with it.
Status RowCache::Impl::clear(uint64_t position) {
  return env->write([&](LmdbWrite& w) -> Status {
    if (Status st_ = w.clear(*entries_db); !st_) return st_;
    if (Status st_ = w.clear(*fifo_db); !st_) return st_;
    if (Status st_ = w.put(*meta_db, kTablesKey, layout_of(dal, tables)); !st_) return st_;
    return w.put(*meta_db, kPositionKey, le64(position));
  });
}

void RowCache::Impl::run_writer() {
  std::unique_lock<std::mutex> lock(mu);
  for (;;) {
    // A position that moved without a cached table's event is written
    // within a second, so a restart replays little.
    writer_idle = true;
    auto flush_wanted = [&] { return flush_target > batches_started; };
    wake.wait_for(lock, std::chrono::seconds(1), [&] { return stopping || !pending.empty() || flush_wanted(); });
    writer_idle = false;
    if (pending.empty() && written_position == pending_position && !flush_wanted()) {
      if (stopping) return;
      continue;
    }
    // Gather a batch: one LMDB commit per kBatchDelay rather than per
    // event. Lookups see the queued ops meanwhile.
    wake.wait_for(lock, kBatchDelay, [&] { return stopping || flush_wanted() || pending.size() >= kBatchOpsMax; });
    std::swap(pending, inflight);
    ++batches_started;
    const uint64_t position = pending_position;
    lock.unlock();
    size_t evicted = 0;
    LmdbStat stat;
    Status s = write_batch(inflight, position, evicted, stat);
    bool now_off = false;
    if (!s) {
      errors.inc();
      log->error("event=cache_write_failed ops={} error=\"{}\" action=clear", inflight.size(), s.to_string());
      count_clear("write_failed");
      if (Status c = clear(position); !c) {
        errors.inc();
        log->error("event=cache_off error=\"{}\" reason=\"the cache could not be cleared after a failed write; "
                   "every lookup misses until the node restarts\"",
                   c.to_string());
        now_off = true;
      }
      stat = LmdbStat{};
    }
    evictions.inc(evicted);
    lock.lock();
    if (now_off) off = true;
    inflight.clear();
    written_position = position;
    ++batches_done;
    entries_now = stat.entries;
    entries_gauge.set(static_cast<int64_t>(stat.entries));
    bytes_gauge.set(static_cast<int64_t>(stat.bytes));
    written.notify_all();
  }
}

Status RowCache::Impl::start(uint64_t& replayed, std::string& cleared) {
  boot_id = options.boot_id.empty() ? current_boot_id() : options.boot_id;
  auto found = claim_cache_dir(options.dir, boot_id);
  if (!found) return found.status();
  if (*found == CacheDirFound::wiped) {
    cleared = "unclean_reboot";
    log->warn("event=cache_wiped dir={} reason=\"the machine went down while the cache was open: its files may be "
              "inconsistent\"",
              options.dir);
  }
  // Commits are not flushed (cache_dir.hpp): a cache is rebuilt, not recovered.
  const size_t map_size = options.map_size_bytes ? options.map_size_bytes : options.bytes_max * 2 + (size_t{64} << 20);
  auto opened = LmdbEnv::open(LmdbOptions{options.dir, map_size, 4, false});
  if (!opened) return opened.status();
  env = *opened;
  key_bytes_max = env->key_bytes_max();
  for (auto [name, db] : {std::pair<const char*, std::optional<LmdbKv>*>{"entries", &entries_db},
                          {"fifo", &fifo_db}, {"meta", &meta_db}}) {
    auto kv = env->database(name);
    if (!kv) return kv.status();
    db->emplace(std::move(*kv));
  }
  // Subscribe before reading the feed's extent: an event committed in
  // between arrives twice, which is harmless; none is missed.
  subscription = dal.subscribe([this](const std::vector<dal::FeedEvent>& events) { on_feed(events); });
  subscribed = true;
  auto bounds = dal.feed_bounds();
  if (!bounds) return bounds.status();
  const uint64_t head = bounds->next - 1;
  auto saved_position = meta_db->get(kPositionKey);
  auto saved_tables = meta_db->get(kTablesKey);
  std::optional<uint64_t> position;
  if (saved_position) position = read_le64(*saved_position, 0);
  if (cleared.empty()) {  // not wiped above: can the feed account for what is kept?
    if (!position) cleared = "new";
    else if (!saved_tables || *saved_tables != layout_of(dal, tables)) cleared = "tables_changed";
    else if (*position > head) cleared = "feed_behind";
    else if (*position + 1 < bounds->first) cleared = "feed_trimmed";
  }
  if (!cleared.empty()) {
    if (cleared != "new") count_clear(cleared);
    if (Status s = clear(head); !s) return s;
    position = head;
  }
  std::vector<std::string> wanted(tables.begin(), tables.end());
  // Only the cached tables' events: the position is set to head below.
  for (uint64_t since = *position; since < head && !wanted.empty();) {
    auto page = dal.feed_since(since, wanted, kReplayPage);
    if (!page) return page.status();
    if (page->empty()) break;
    std::lock_guard<std::mutex> lock(mu);
    for (const dal::FeedEvent& e : *page) invalidate_locked(e);
    replayed += page->size();
    since = page->back().id;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    last_seen = std::max(last_seen, head);
    pending_position = std::max(pending_position, head);
    written_position = *position;
    // Fills whose token predates this start cannot be judged.
    horizon = std::max(horizon, head);
  }
  Status last = env->write([&](LmdbWrite& w) -> Status {
    auto newest = w.last(*fifo_db);
    if (!newest) return newest.status();
    if (newest.value()) next_fill_seq = read_be64((*newest)->first) + 1;
    auto st = w.stat(*entries_db);
    if (!st) return st.status();
    entries_now = st->entries;
    entries_gauge.set(static_cast<int64_t>(st->entries));
    bytes_gauge.set(static_cast<int64_t>(st->bytes));
    return Status::ok();
  });
  if (!last) return last;
  writer = std::thread([this] { run_writer(); });
  return Status::ok();
}

}  // namespace ezone
