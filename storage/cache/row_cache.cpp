#include "storage/cache/row_cache.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "storage/lmdb/lmdb_env.hpp"

namespace ezone {
namespace {

// An entry's LMDB value: format byte, its fill sequence (little-endian; the
// key of its record in the FIFO database) and the app's bytes.
constexpr char kEntryFormat = 1;
constexpr size_t kEntryHeader = 9;
constexpr uint64_t kReplayPage = 4096;
const std::string kPositionKey = "position";
const std::string kTablesKey = "tables";

std::string le64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
std::optional<uint64_t> read_le64(const std::string& s, size_t at) {
  if (s.size() < at + 8) return std::nullopt;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}
// FIFO keys sort by sequence: big-endian.
std::string be64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[7 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
uint64_t read_be64(const std::string& s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

std::string entry_key(const std::string& table, const std::string& pk) {
  std::string key;
  key.reserve(table.size() + 1 + pk.size());
  key += table;
  key += '\0';
  key += pk;
  return key;
}

// The fill sequence of an entry's value; nullopt when it is not an entry.
std::optional<uint64_t> entry_seq(const std::string& value) {
  if (value.size() < kEntryHeader || value[0] != kEntryFormat) return std::nullopt;
  return read_le64(value, 1);
}

std::string joined(const std::set<std::string>& tables) {
  std::string out;
  for (const std::string& t : tables) out += (out.empty() ? "" : ",") + t;
  return out;
}

}  // namespace

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

struct RowCache::Impl {
  // A queued change of one entry: the bytes to store (nullopt: delete), and
  // when it was queued, so a batch fills in order and FIFO stays true.
  struct Op {
    std::optional<std::string> value;
    uint64_t order = 0;
  };

  Impl(dal::Dal& d, Metrics& m, RowCacheOptions o)
      : dal(d),
        options(std::move(o)),
        tables(options.tables.begin(), options.tables.end()),
        log(options.logger ? options.logger : spdlog::default_logger()),
        hits(m.counter("ezone_cache_lookups_total", "Row cache lookups, by result", {{"result", "hit"}})),
        misses(m.counter("ezone_cache_lookups_total", "Row cache lookups, by result", {{"result", "miss"}})),
        invalidations(m.counter("ezone_cache_invalidations_total", "Change-feed events of cached tables")),
        evictions(m.counter("ezone_cache_evictions_total", "Row cache entries evicted by its bounds")),
        errors(m.counter("ezone_cache_errors_total", "Row cache LMDB failures and corrupt entries")),
        entries_gauge(m.gauge("ezone_cache_entries", "Row cache entries in LMDB")),
        bytes_gauge(m.gauge("ezone_cache_bytes", "Row cache LMDB pages of its entries, in bytes")),
        metrics(m) {
    for (Fill f : {Fill::stored, Fill::changed, Fill::stale_token, Fill::too_large, Fill::not_cacheable, Fill::off})
      fills[static_cast<size_t>(f)] =
          &m.counter("ezone_cache_fills_total", "Row cache fills, by result", {{"result", fill_name(f)}});
  }

  dal::Dal& dal;
  const RowCacheOptions options;
  const std::set<std::string> tables;
  std::shared_ptr<spdlog::logger> log;
  Counter& hits;
  Counter& misses;
  Counter& invalidations;
  Counter& evictions;
  Counter& errors;
  Gauge& entries_gauge;
  Gauge& bytes_gauge;
  Metrics& metrics;
  Counter* fills[6] = {};

  std::shared_ptr<LmdbEnv> env;
  std::optional<LmdbKv> entries_db, fifo_db, meta_db;
  uint64_t subscription = 0;
  bool subscribed = false;
  std::thread writer;

  mutable std::mutex mu;
  std::condition_variable wake, written;
  std::unordered_map<std::string, Op> pending, inflight;
  uint64_t last_seen = 0;          // newest feed id seen: get()'s token
  uint64_t pending_position = 0;   // feed id up to which pending holds every invalidation
  uint64_t written_position = 0;   // ... and LMDB does
  std::unordered_map<std::string, uint64_t> recent;  // entry key -> its newest event id
  std::deque<std::pair<uint64_t, std::string>> recent_order;
  uint64_t horizon = 0;            // events up to this id are no longer in recent
  bool off = false, stopping = false;
  size_t entries_now = 0;
  uint64_t queued = 0;             // Op::order of the last op queued
  uint64_t next_fill_seq = 1;      // writer thread only (and open())

  void count_clear(const std::string& reason) {
    metrics.counter("ezone_cache_clears_total", "Row cache clears, by reason", {{"reason", reason}}).inc();
  }

  // Called with mu held, for every feed event: from the DAL's writer thread
  // (subscription) and from open()'s replay.
  void invalidate_locked(const dal::FeedEvent& e) {
    last_seen = std::max(last_seen, e.id);
    pending_position = std::max(pending_position, e.id);
    if (!tables.count(e.table)) return;
    invalidations.inc();
    std::string key = entry_key(e.table, e.pk);
    recent[key] = e.id;
    recent_order.emplace_back(e.id, key);
    pending[std::move(key)] = Op{std::nullopt, ++queued};
    while (recent_order.size() > options.recent_max) {
      auto& [id, k] = recent_order.front();
      auto it = recent.find(k);
      if (it != recent.end() && it->second == id) recent.erase(it);
      horizon = std::max(horizon, id);
      recent_order.pop_front();
    }
  }

  void on_feed(const std::vector<dal::FeedEvent>& events) {
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const dal::FeedEvent& e : events) invalidate_locked(e);
    }
    wake.notify_one();
  }

  // One batch into LMDB: ops, evictions past the bounds, the position.
  Status write_batch(const std::unordered_map<std::string, Op>& ops, uint64_t position, size_t& evicted,
                     LmdbStat& stat) {
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
  Status clear(uint64_t position) {
    return env->write([&](LmdbWrite& w) -> Status {
      if (Status st_ = w.clear(*entries_db); !st_) return st_;
      if (Status st_ = w.clear(*fifo_db); !st_) return st_;
      if (Status st_ = w.put(*meta_db, kTablesKey, joined(tables)); !st_) return st_;
      return w.put(*meta_db, kPositionKey, le64(position));
    });
  }

  void run_writer() {
    std::unique_lock<std::mutex> lock(mu);
    for (;;) {
      // A position that moved without a cached table's event is written
      // within a second, so a restart replays little.
      wake.wait_for(lock, std::chrono::seconds(1),
                    [&] { return stopping || !pending.empty(); });
      if (pending.empty() && written_position == pending_position) {
        if (stopping) return;
        continue;
      }
      std::swap(pending, inflight);
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
      entries_now = stat.entries;
      entries_gauge.set(static_cast<int64_t>(stat.entries));
      bytes_gauge.set(static_cast<int64_t>(stat.bytes));
      written.notify_all();
    }
  }

  Status start(uint64_t& replayed, std::string& cleared);
};

Status RowCache::Impl::start(uint64_t& replayed, std::string& cleared) {
  auto opened = LmdbEnv::open(LmdbOptions{options.dir, options.bytes_max * 2 + (size_t{64} << 20), 4});
  if (!opened) return opened.status();
  env = *opened;
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
  if (!position) {
    cleared = "new";
  } else if (!saved_tables || *saved_tables != joined(tables)) {
    cleared = "tables_changed";
  } else if (*position > head) {
    cleared = "feed_behind";
  } else if (*position + 1 < bounds->first) {
    cleared = "feed_trimmed";
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
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->off = true;
}

RowCache::Lookup RowCache::get(const std::string& table, const std::string& pk) {
  Impl& m = *impl_;
  Lookup out;
  const std::string key = entry_key(table, pk);
  {
    std::lock_guard<std::mutex> lock(m.mu);
    out.token = m.last_seen;
    const Impl::Op* queued = nullptr;
    if (auto it = m.pending.find(key); it != m.pending.end()) {
      queued = &it->second;
    } else if (auto in = m.inflight.find(key); in != m.inflight.end()) {
      queued = &in->second;
    }
    if (m.off || queued || !m.tables.count(table)) {
      if (!m.off && queued && queued->value) out.value = *queued->value;
      (out.value ? m.hits : m.misses).inc();
      return out;
    }
  }
  if (key.size() > m.env->key_bytes_max()) {
    m.misses.inc();
    return out;
  }
  auto stored = m.entries_db->get(key);
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
  if (!m.tables.count(table) || key.size() > m.env->key_bytes_max()) {
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
    }
  }
  if (result == Fill::stored) m.wake.notify_one();
  m.fills[static_cast<size_t>(result)]->inc();
  return result;
}

Status RowCache::flush(int64_t timeout_ms) {
  Impl& m = *impl_;
  std::unique_lock<std::mutex> lock(m.mu);
  const uint64_t target = m.pending_position;
  m.wake.notify_one();
  bool done = m.written.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] {
    return (m.pending.empty() && m.inflight.empty() && m.written_position >= target) || m.stopping;
  });
  if (!done) return Status(Errc::timeout, "row cache: the queued writes did not reach LMDB in time");
  return Status::ok();
}

size_t RowCache::entries() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->entries_now;
}

bool RowCache::is_off() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->off;
}

}  // namespace ezone
