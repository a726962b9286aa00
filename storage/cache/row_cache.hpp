// RowCache: the site's key-value cache of rows, in LMDB (DESIGN.md,
// "Storage"), kept coherent with the site's database by the change feed.
//
// An app caches what it derives from one row (an order's JSON, say) under
// the row's table and primary key (dal::row_text of the key, "[42]"). Every
// change of that row at this site invalidates the entry: a local commit, and
// a peer's change that the DRC applied, because both are events of the
// site's change feed (Dal::subscribe). So a site's cache never serves a row
// older than the site's own database, in the owning zone or any other, and
// across switchovers: the old owner's cache learns of every change the new
// owner makes, by replication.
//
// Use (cache hits never wait on the database, so an I/O thread may serve
// them):
//   auto got = cache.get("orders", pk);
//   if (got.value) return serve(*got.value);
//   ... read the row (Dal::submit), then cache.fill("orders", pk, got.token, bytes);
//
// Coherence:
//  1. Read your writes. The DAL calls its feed subscribers before it answers
//     the transactions of a commit, and an invalidation takes effect in
//     memory at once: a get() after a write was answered misses.
//  2. A fill never stores a value older than the database. get()'s token is
//     the last feed id the cache has seen, taken before the caller reads the
//     row. A fill is refused (changed) when an event of its row with a later
//     id has arrived since (the read may have seen the old row), and
//     (stale_token) when the token is older than the events the cache still
//     remembers (recent_max). A refused fill only costs a miss later.
//  3. Restarts. Entries persist with the feed id up to which they are
//     invalidated; open() replays the feed's events after it. The cache is
//     cleared instead when the feed no longer holds them ([dal]
//     feed_rows_max, while the node was down), when the database is behind
//     that id (a replaced file), or when the cached tables or their columns
//     changed (a migration).
//  4. Crashes. LMDB commits are not flushed to disk (a durable commit per
//     batch cost the DAL's writes 18-30% in cache_bench). A process crash
//     loses none of them; after a machine crash under an open cache its
//     files are not trusted but emptied (cache_dir.hpp). stop() flushes.
//
// Writes reach LMDB on the cache's own thread in batches, gathered for up
// to 10 ms; until then their fills and invalidations are served from
// memory. At most entries_max entries and bytes_max bytes of LMDB
// pages: the oldest filled entries are evicted first.
//
// Only replicated tables (sharding-zone, global-zone) can be cached, and
// only those named in `tables`: events of other tables cost the DAL's
// writer thread one set lookup.
//
// Errors. A failed LMDB read is a miss; a corrupt entry is a miss and is
// deleted (both counted in ezone_cache_errors_total). A batch that cannot be
// written (the map is full, I/O) clears the cache rather than lose an
// invalidation; if that fails too the cache turns itself off (every get
// misses, every fill is refused) and logs why.
//
// Metrics (labelled with the node's ezone):
//   ezone_cache_lookups_total{result=hit|miss}
//   ezone_cache_fills_total{result=stored|changed|stale_token|too_large|not_cacheable|off}
//   ezone_cache_invalidations_total   feed events of cached tables
//   ezone_cache_evictions_total
//   ezone_cache_clears_total{reason=feed_trimmed|feed_behind|tables_changed|unclean_reboot|write_failed}
//   ezone_cache_errors_total
//   ezone_cache_entries, ezone_cache_bytes   after the last batch
//
// Thread-safety: every member may be called from any thread. The DAL must
// outlive the cache (stop() unsubscribes from it; the destructor stops).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/metrics.hpp"
#include "core/status.hpp"
#include "storage/dal/dal.hpp"

namespace spdlog {
class logger;
}

namespace ezone {

struct RowCacheOptions {
  std::string dir;                   // its own LMDB environment, e.g. <data_dir>/cache
  std::vector<std::string> tables;   // replicated tables whose rows may be cached
  size_t entries_max = 100000;
  size_t bytes_max = size_t{256} << 20;  // LMDB pages of the entries
  size_t value_bytes_max = 64 << 10;     // a larger fill is refused (too_large)
  // Invalidations remembered for fills in flight; a fill whose token is
  // older than all of them is refused (stale_token).
  size_t recent_max = 100000;
  std::shared_ptr<spdlog::logger> logger;  // null: spdlog's default
  // The kernel's boot id (cache_dir.hpp); "" reads it. Tests pass others.
  std::string boot_id;
  // LMDB's map; 0: 2 * bytes_max + 64 MiB. Tests pass small ones.
  size_t map_size_bytes = 0;
};

class RowCache {
 public:
  // Opens (creating) the cache in options.dir, subscribes to dal's feed and
  // replays what it missed. invalid_argument for a table the schema lacks
  // or does not replicate, zero limits; io_error when LMDB cannot open.
  static Result<std::unique_ptr<RowCache>> open(dal::Dal& dal, Metrics& metrics, RowCacheOptions options);
  ~RowCache();
  RowCache(const RowCache&) = delete;
  RowCache& operator=(const RowCache&) = delete;

  struct Lookup {
    std::optional<std::string> value;  // the cached bytes on a hit
    uint64_t token = 0;                // pass to fill() after reading the row
  };
  Lookup get(const std::string& table, const std::string& pk);
  // Whether rows of `table` may be cached (RowCacheOptions::tables); get()
  // of another table counts a miss and fill() refuses it.
  bool caches(const std::string& table) const;

  enum class Fill { stored, changed, stale_token, too_large, not_cacheable, off };
  // Stores value for the row, read from the database after the get() that
  // returned token. Anything but stored leaves the row uncached.
  Fill fill(const std::string& table, const std::string& pk, uint64_t token, std::string value);

  // Waits until everything queued so far is in LMDB (tests; a clean stop).
  // timeout after `timeout_ms`.
  Status flush(int64_t timeout_ms = 10000);
  // Unsubscribes, writes what is queued and ends the writer thread. After
  // it every get misses and every fill is refused (off). Idempotent.
  void stop();

  // What GET /admin/v1/cache and `ezctl status` show: the tables, the
  // counters since start (the metrics above), and what LMDB holds.
  struct Stats {
    std::vector<std::string> tables;
    uint64_t entries = 0, bytes = 0;  // in LMDB after the last batch
    uint64_t hits = 0, misses = 0, invalidations = 0, evictions = 0, errors = 0;
    std::vector<std::pair<std::string, uint64_t>> fills;   // by result
    std::vector<std::pair<std::string, uint64_t>> clears;  // by reason, those that happened
    bool off = false;
  };
  Stats stats() const;

  struct Impl;

 private:
  explicit RowCache(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<Impl> impl_;
};

const char* fill_name(RowCache::Fill fill);

}  // namespace ezone
