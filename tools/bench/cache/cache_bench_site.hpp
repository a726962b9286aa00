// cache_bench's site and its measuring primitives: one ezone (bj, shards 11
// and 12) with an `orders` table shaped like the takeout app's, its rows,
// a warm row cache on its DAL, and the timed loops that cache_bench.cpp runs
// and prints. No CAF, no network.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "core/hlc.hpp"
#include "core/metrics.hpp"
#include "storage/cache/row_cache.hpp"
#include "storage/dal/dal.hpp"

namespace ezone::cache_bench {

using SteadyClock = std::chrono::steady_clock;

// The run's settings; cache_bench.cpp parses them from the command line.
struct Options {
  int64_t rows = 100000;
  int64_t seconds = 3;
  int threads = 2;
  int window = 64;
  int write_window = 256;
  bool sync_full = true;
  uint64_t seed = 1;
};

// Nanoseconds from t0 to now.
inline int64_t ns_since(SteadyClock::time_point t0) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - t0).count();
}

// ---- the benches' command lines and figures (cache, reseed, check) ----

inline double seconds_since(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

// The middle value (the upper one of an even count); 0 for none.
inline double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// Sets `out` from "NAME VALUE" in argv when present; false when the value is
// not an integer in min..max.
inline bool parse_flag(int argc, char** argv, const char* name, int64_t min, int64_t max, int64_t& out) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::string(argv[i]) != name) continue;
    char* end = nullptr;
    const long long v = std::strtoll(argv[i + 1], &end, 10);
    if (*end != '\0' || v < min || v > max) return false;
    out = v;
  }
  return true;
}

// ---- the table and its rows ----

// One order by id (?1): the columns order_json() reads.
inline constexpr const char* kSelectOrder =
    "SELECT id, shard, user_id, merchant_id, state, lat, lon, amount, created_ms, updated_ms FROM orders WHERE id = ?1";

// The row cache's key of order `id` (its primary key's text).
std::string pk(int64_t id);

// The order's JSON, as the takeout app caches it; `r` has kSelectOrder's
// columns (a column of another type reads as 0 or "").
std::string order_json(const dal::Row& r);

// ---- the site ----

// One site's DAL with what it needs alive beside it. open_site() fills it.
struct Site {
  Metrics metrics{"bj"};
  HybridClock hlc{SystemClock::instance()};
  std::shared_ptr<const RouteTable> routes;
  std::unique_ptr<dal::Dal> dal;
};

// Opens the ezone's DAL on `dir`/EZONE.db (the dir must exist) with the
// orders table; bj owns both shards, sh is its peer. An error from the route
// table, the schema or Dal::open otherwise.
Status open_site(Site& site, const std::string& dir, bool sync_full, const std::string& ezone = "bj");

// Inserts orders 1..rows through Dal::submit (both shards); a timeout when
// the DAL does not answer, an internal error when a transaction failed.
Status load_rows(dal::Dal& dal, int64_t rows);

// ---- the cache ----

// What warming the cache found and did.
struct WarmReport {
  uint64_t hits = 0, stored = 0, refused = 0;
  uint64_t value_bytes = 0;
};

// Opens a RowCache on `dir` over site.dal (orders only, room for every row)
// and fills every row it lacks, as an app does (get, read, fill), then
// flushes it. Errors from opening, reading or flushing, and an internal
// error when a fill was refused. The caller owns the cache; `report`, when
// given, gets the warm-up's counts.
Result<std::unique_ptr<RowCache>> open_warm_cache(Site& site, const std::string& dir, int64_t rows,
                                                  WarmReport* report = nullptr);

// The total size of the regular files directly in `dir` (0 on errors).
uint64_t dir_bytes(const std::string& dir);

// ---- measuring ----

// A timed loop's throughput and latency.
struct Figures {
  double per_s = 0, p50_us = 0, p99_us = 0;
  uint64_t ops = 0, errors = 0;
};

// The figures of the successful ops' latencies `ns` (reordered) over
// elapsed_ns, with `errors` failed ones.
Figures figures_of(std::vector<int64_t>& ns, uint64_t errors, int64_t elapsed_ns);

// Runs op(id) on random ids from o.threads threads for o.seconds; op
// returns false for a failed read (counted as an error).
template <class Op>
Figures measure_sync(const Options& o, Op op) {
  std::vector<std::vector<int64_t>> latencies(size_t(o.threads));
  std::vector<uint64_t> errors(size_t(o.threads));
  const auto start = SteadyClock::now();
  const auto deadline = start + std::chrono::seconds(o.seconds);
  std::vector<std::thread> threads;
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937_64 rng(o.seed + uint64_t(t));
      std::uniform_int_distribution<int64_t> ids(1, o.rows);
      auto& mine = latencies[size_t(t)];
      mine.reserve(1 << 20);
      for (auto now = SteadyClock::now(); now < deadline;) {
        const bool ok = op(ids(rng));
        const auto after = SteadyClock::now();
        mine.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(after - now).count());
        if (!ok) ++errors[size_t(t)];
        now = after;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  const int64_t elapsed = ns_since(start);
  std::vector<int64_t> all;
  uint64_t failed = 0;
  for (size_t t = 0; t < latencies.size(); ++t) {
    all.insert(all.end(), latencies[t].begin(), latencies[t].end());
    failed += errors[t];
  }
  return figures_of(all, failed, elapsed);
}

// The takeout app's miss path for o.seconds: a read-only transaction (no
// shard) reading a random order, its JSON built in the done callback;
// o.window in flight per thread, timed from submit to done. A timeout when
// the DAL does not answer.
Result<Figures> measure_submit_reads(const Options& o, dal::Dal& dal);

// Single-row UPDATEs of random orders (a new amount) for o.seconds,
// o.write_window in flight, random ids from `seed`. A timeout when the DAL
// does not answer; failed writes are counted in the figures' errors.
Result<Figures> measure_writes(const Options& o, dal::Dal& dal, uint64_t seed);

}  // namespace ezone::cache_bench
