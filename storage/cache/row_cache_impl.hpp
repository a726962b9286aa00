// RowCache's implementation (storage/cache/row_cache.hpp), shared by
// row_cache.cpp (lookups, fills, the feed) and row_cache_store.cpp (LMDB:
// opening, batches, clearing). Not part of the interface.
#pragma once

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>

#include "storage/cache/row_cache.hpp"
#include "storage/lmdb/lmdb_env.hpp"

namespace ezone {
namespace cache_internal {

// An entry's LMDB value: format byte, its fill sequence (little-endian; the
// key of its record in the FIFO database) and the app's bytes.
constexpr char kEntryFormat = 1;
constexpr size_t kEntryHeader = 9;
constexpr uint64_t kReplayPage = 4096;
constexpr auto kBatchDelay = std::chrono::milliseconds(10);
constexpr size_t kBatchOpsMax = 8192;
inline const std::string kPositionKey = "position";
inline const std::string kTablesKey = "tables";

inline std::string le64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
inline std::optional<uint64_t> read_le64(const std::string& s, size_t at) {
  if (s.size() < at + 8) return std::nullopt;
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(s[at + i]);
  return v;
}
// FIFO keys sort by sequence: big-endian.
inline std::string be64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[7 - i] = static_cast<char>((v >> (8 * i)) & 0xff);
  return out;
}
inline uint64_t read_be64(const std::string& s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<unsigned char>(s[i]);
  return v;
}

// "orders:[42]": table names are [A-Za-z0-9_], so ':' ends one, and the key
// stays printable in LMDB's error messages and the log.
inline std::string entry_key(const std::string& table, const std::string& pk) {
  std::string key;
  key.reserve(table.size() + 1 + pk.size());
  key += table;
  key += ':';
  key += pk;
  return key;
}

// The fill sequence of an entry's value; nullopt when it is not an entry.
inline std::optional<uint64_t> entry_seq(const std::string& value) {
  if (value.size() < kEntryHeader || value[0] != kEntryFormat) return std::nullopt;
  return read_le64(value, 1);
}

// Every reason of ezone_cache_clears_total.
inline constexpr const char* kClearReasons[] = {"feed_trimmed", "feed_behind", "tables_changed", "unclean_reboot",
                                                "write_failed"};

inline std::string joined(const std::set<std::string>& tables) {
  std::string out;
  for (const std::string& t : tables) out += (out.empty() ? "" : ",") + t;
  return out;
}

// The meta record of what the cache holds: the key format, the tables and
// their columns (a migration changes what apps derive from a row). Any
// difference clears the cache at open (tables_changed).
inline std::string layout_of(dal::Dal& dal, const std::set<std::string>& tables) {
  std::string out = "keys=2;tables=" + joined(tables);
  for (const std::string& t : tables) {
    if (auto layout = dal.layout(t)) out += "|" + t + "=" + layout->fingerprint;
  }
  return out;
}

}  // namespace cache_internal

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

  std::string boot_id;             // claim_cache_dir's, for release_cache_dir
  std::shared_ptr<LmdbEnv> env;
  size_t key_bytes_max = 0;
  std::optional<LmdbKv> entries_db, fifo_db, meta_db;
  std::mutex stop_mutex;  // stop() from two threads: the second waits, then finds nothing to do
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
  // Batches the writer took from pending, and wrote; flush() asks for
  // batch flush_target (one that starts after its call) without delay.
  uint64_t batches_started = 0, batches_done = 0, flush_target = 0;
  bool writer_idle = false;        // waiting for work: a queued op wakes it (else it is gathering)
  size_t entries_now = 0;
  uint64_t queued = 0;             // Op::order of the last op queued
  uint64_t next_fill_seq = 1;      // writer thread only (and open())

  Counter& clears(const std::string& reason) const {
    return metrics.counter("ezone_cache_clears_total", "Row cache clears, by reason", {{"reason", reason}});
  }
  void count_clear(const std::string& reason) { clears(reason).inc(); }

  // Called with mu held, for every feed event: from the DAL's writer thread
  // (subscription) and from open()'s replay.
  void invalidate_locked(const dal::FeedEvent& e) {
    last_seen = std::max(last_seen, e.id);
    pending_position = std::max(pending_position, e.id);
    if (!tables.count(e.table)) return;
    invalidations.inc();
    std::string key = cache_internal::entry_key(e.table, e.pk);
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
    bool idle = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      for (const dal::FeedEvent& e : events) invalidate_locked(e);
      idle = writer_idle && !pending.empty();
    }
    if (idle) wake.notify_all();
  }

  // One batch into LMDB: ops, evictions past the bounds, the position.
  Status write_batch(const std::unordered_map<std::string, Op>& ops, uint64_t position, size_t& evicted,
                     LmdbStat& stat);
  // Empties the cache and records position (and the tables) with it.
  Status clear(uint64_t position);
  // The writer thread: gathers queued ops into batches until stopped.
  void run_writer();
  // Opens LMDB, subscribes, replays or clears, starts the writer.
  Status start(uint64_t& replayed, std::string& cleared);
};

}  // namespace ezone
