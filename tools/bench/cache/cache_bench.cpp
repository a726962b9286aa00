// cache_bench: the row cache (storage/cache/row_cache.hpp) against reading
// the row from the DAL, and what its invalidations cost the DAL's writer.
//
// One site (ezone bj, shards 11 and 12) in a temp dir, an `orders` table
// shaped like the takeout app's (an order's JSON is about 200 bytes), N
// rows loaded first. In one run:
//  1. Reads of uniformly random orders by --threads threads, --seconds each:
//     a. RowCache::get on a warm cache (every lookup must hit);
//     b. baseline: Dal::query of the row plus building its JSON, what a
//        reader without the cache does synchronously;
//     c. baseline: the takeout app's miss path, a read-only Dal::submit
//        (no shard) of the SELECT, --window in flight per thread, timed
//        from submit to done.
//  2. Writes: single-row UPDATEs of random orders through Dal::submit,
//     --write-window in flight, without a cache and with a warm one on the
//     same Dal (its invalidations run on the DAL's writer thread), twice
//     each alternately; the median of each.
//  3. Size: the cache's LMDB pages per entry and its data file.
// The last line is one JSON object with the figures.
//
//   cache_bench [--rows 100000] [--seconds 3] [--threads 2] [--window 64]
//               [--write-window 256] [--sync full|normal] [--seed 1]
//
// The site, its rows and the timed loops are in cache_bench_site.hpp; this
// file parses the flags, runs the parts in order and prints them.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tools/bench/cache/cache_bench_site.hpp"

namespace ezone::cache_bench {
namespace {

constexpr int kThreadsMax = 64;
constexpr int kWindowMax = 10000;

const char* const kUsage =
    "usage: cache_bench [--rows N] [--seconds S] [--threads T] [--window W] [--write-window W]\n"
    "                   [--sync full|normal] [--seed N]\n";

bool parse_int(const std::string& text, int64_t min, int64_t max, int64_t& out) {
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || v < min || v > max) return false;
  out = v;
  return true;
}

bool parse(int argc, char** argv, Options& o) {
  if (argc % 2 == 0) return false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], v = argv[i + 1];
    int64_t n = 0;
    bool ok = true;
    if (flag == "--rows") ok = parse_int(v, 1, int64_t{100} << 20, o.rows);
    else if (flag == "--seconds") ok = parse_int(v, 1, 3600, o.seconds);
    else if (flag == "--threads") ok = parse_int(v, 1, kThreadsMax, n), o.threads = int(n);
    else if (flag == "--window") ok = parse_int(v, 1, kWindowMax, n), o.window = int(n);
    else if (flag == "--write-window") ok = parse_int(v, 1, kWindowMax, n), o.write_window = int(n);
    else if (flag == "--seed") ok = parse_int(v, 0, INT64_MAX, n), o.seed = uint64_t(n);
    else if (flag == "--sync" && (v == "full" || v == "normal")) o.sync_full = v == "full";
    else return false;
    if (!ok) return false;
  }
  return true;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

void print_figures(const char* what, const Figures& f) {
  std::printf("  %-44s %10.0f ops/s  p50 %8.2f us  p99 %8.2f us  (%llu ops, %llu errors)\n", what, f.per_s, f.p50_us,
              f.p99_us, (unsigned long long)f.ops, (unsigned long long)f.errors);
  std::fflush(stdout);
}

struct Report {
  Figures cache, query, submit;
  uint64_t misses = 0;
  double bytes_per_entry = 0, json_bytes = 0;
  uint64_t entries = 0, lmdb_file_bytes = 0;
  std::vector<double> without, with;
  uint64_t invalidations = 0;
};

// Parts 1 and 3: a warm cache, then the three kinds of reads.
Status measure_reads(const Options& o, Site& site, const std::string& cache_dir, Report& r) {
  WarmReport warmed;
  auto cache = open_warm_cache(site, cache_dir, o.rows, &warmed);
  if (!cache) return cache.status();
  RowCache& c = **cache;
  r.entries = c.stats().entries;
  const int64_t bytes = site.metrics.gauge("ezone_cache_bytes", "").value();
  r.bytes_per_entry = double(bytes) / double(std::max<size_t>(1, r.entries));
  r.json_bytes = double(warmed.value_bytes) / double(std::max<uint64_t>(1, warmed.stored));
  r.lmdb_file_bytes = dir_bytes(cache_dir);
  std::printf("warm cache: %llu entries, JSON %.0f B each; LMDB pages %.0f B per entry; LMDB files %.1f MiB\n",
              (unsigned long long)r.entries, r.json_bytes, r.bytes_per_entry, double(r.lmdb_file_bytes) / (1 << 20));
  std::printf("reads, %d threads, %lld s each, uniformly random ids of %lld:\n", o.threads, (long long)o.seconds,
              (long long)o.rows);
  std::fflush(stdout);
  Counter& missed = site.metrics.counter("ezone_cache_lookups_total", "", {{"result", "miss"}});
  const uint64_t missed_before = missed.value();
  r.cache = measure_sync(o, [&c](int64_t id) { return c.get("orders", pk(id)).value.has_value(); });
  r.misses = missed.value() - missed_before;
  print_figures("RowCache::get (hits)", r.cache);
  r.query = measure_sync(o, [&site](int64_t id) {
    auto rows = site.dal->query(kSelectOrder, {id});
    return rows && !rows->empty() && !order_json(rows->front()).empty();
  });
  print_figures("baseline Dal::query + JSON", r.query);
  auto submitted = measure_submit_reads(o, *site.dal);
  if (!submitted) return submitted.status();
  r.submit = *submitted;
  char what[64];
  std::snprintf(what, sizeof what, "baseline Dal::submit read-only, window %d", o.window);
  print_figures(what, r.submit);
  std::printf("  cache/query %.1fx, cache/submit %.1fx; misses %llu\n", r.cache.per_s / r.query.per_s,
              r.cache.per_s / r.submit.per_s, (unsigned long long)r.misses);
  std::fflush(stdout);
  return Status::ok();
}

// One write run, with a warm cache open on the Dal or without one.
Status write_run(const Options& o, Site& site, const std::string& cache_dir, bool with_cache, int round, Report& r) {
  std::unique_ptr<RowCache> cache;
  if (with_cache) {
    auto opened = open_warm_cache(site, cache_dir, o.rows);
    if (!opened) return opened.status();
    cache = std::move(opened).value();
  }
  if (Status s = site.dal->checkpoint(); !s) return s;
  Counter& invalidated = site.metrics.counter("ezone_cache_invalidations_total", "");
  const uint64_t invalidated_before = invalidated.value();
  const size_t entries_before = cache ? cache->stats().entries : 0;
  auto f = measure_writes(o, *site.dal, o.seed + 1000 + uint64_t(round) * 2 + (with_cache ? 1 : 0));
  if (!f) return f.status();
  (with_cache ? r.with : r.without).push_back(f->per_s);
  char what[64];
  std::snprintf(what, sizeof what, "round %d, %s cache", round + 1, with_cache ? "with a warm" : "without a");
  print_figures(what, *f);
  if (f->errors) return Status(Errc::internal, "writes failed");
  if (cache) {
    if (Status s = cache->flush(); !s) return s;
    r.invalidations += invalidated.value() - invalidated_before;
    std::printf("    %llu invalidations; entries %zu -> %zu\n",
                (unsigned long long)(invalidated.value() - invalidated_before), entries_before, cache->stats().entries);
    std::fflush(stdout);
  }
  return Status::ok();
}

Status measure_writes_both(const Options& o, Site& site, const std::string& cache_dir, Report& r) {
  std::printf("writes: single-row UPDATE transactions, window %d, %lld s each, synchronous=%s:\n", o.write_window,
              (long long)o.seconds, o.sync_full ? "FULL" : "NORMAL");
  std::fflush(stdout);
  for (int round = 0; round < 2; ++round) {
    for (bool with_cache : {false, true}) {
      if (Status s = write_run(o, site, cache_dir, with_cache, round, r); !s) return s;
    }
  }
  std::printf("  median: without %.0f writes/s, with %.0f writes/s, with/without %.3f\n", median(r.without),
              median(r.with), median(r.with) / median(r.without));
  std::fflush(stdout);
  return Status::ok();
}

double rounded(double v, int digits) {
  const double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

void print_json(const Options& o, const Report& r) {
  const double without = median(r.without), with = median(r.with);
  std::vector<int64_t> runs_without, runs_with;
  for (double v : r.without) runs_without.push_back(std::llround(v));
  for (double v : r.with) runs_with.push_back(std::llround(v));
  nlohmann::json j = {{"bench", "cache"},
                      {"rows", o.rows},
                      {"threads", o.threads},
                      {"seconds", o.seconds},
                      {"window", o.window},
                      {"write_window", o.write_window},
                      {"sync", o.sync_full ? "full" : "normal"},
                      {"seed", o.seed},
                      {"cache_get_per_s", std::llround(r.cache.per_s)},
                      {"cache_get_p50_us", rounded(r.cache.p50_us, 2)},
                      {"cache_get_p99_us", rounded(r.cache.p99_us, 2)},
                      {"dal_query_per_s", std::llround(r.query.per_s)},
                      {"dal_query_p50_us", rounded(r.query.p50_us, 2)},
                      {"dal_query_p99_us", rounded(r.query.p99_us, 2)},
                      {"dal_submit_per_s", std::llround(r.submit.per_s)},
                      {"dal_submit_p50_us", rounded(r.submit.p50_us, 2)},
                      {"dal_submit_p99_us", rounded(r.submit.p99_us, 2)},
                      {"ratio_vs_query", rounded(r.cache.per_s / r.query.per_s, 2)},
                      {"ratio_vs_submit", rounded(r.cache.per_s / r.submit.per_s, 2)},
                      {"writes_per_s_without_cache", std::llround(without)},
                      {"writes_per_s_with_cache", std::llround(with)},
                      {"write_ratio", rounded(with / without, 3)},
                      {"writes_runs_without", runs_without},
                      {"writes_runs_with", runs_with},
                      {"invalidations", r.invalidations},
                      {"entries", r.entries},
                      {"json_bytes", std::llround(r.json_bytes)},
                      {"bytes_per_entry", std::llround(r.bytes_per_entry)},
                      {"lmdb_file_bytes", r.lmdb_file_bytes},
                      {"read_errors", r.cache.errors + r.query.errors + r.submit.errors},
                      {"misses", r.misses}};
  std::printf("%s\n", j.dump().c_str());
}

Status run(const Options& o, const std::string& dir, Report& r) {
  Site site;
  if (Status s = open_site(site, dir, o.sync_full); !s) return s;
  const auto t0 = SteadyClock::now();
  if (Status s = load_rows(*site.dal, o.rows); !s) return s;
  std::printf("cache_bench: %lld orders loaded in %.1f s (sync %s, seed %llu)\n", (long long)o.rows,
              double(ns_since(t0)) / 1e9, o.sync_full ? "full" : "normal", (unsigned long long)o.seed);
  std::fflush(stdout);
  const std::string cache_dir = dir + "/cache";
  if (Status s = measure_reads(o, site, cache_dir, r); !s) return s;
  return measure_writes_both(o, site, cache_dir, r);
}

}  // namespace
}  // namespace ezone::cache_bench

int main(int argc, char** argv) {
  using namespace ezone;
  using namespace ezone::cache_bench;
  Options o;
  if (!parse(argc, argv, o)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  // The DAL's and the cache's log lines go to stderr: stdout ends with the JSON.
  spdlog::set_default_logger(spdlog::stderr_logger_mt("cache_bench"));
  spdlog::set_level(spdlog::level::warn);
  char tmpl[] = "/tmp/ezone-cache-bench-XXXXXX";
  if (!mkdtemp(tmpl)) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string dir = tmpl;
  Report report;
  Status s = run(o, dir, report);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (!s) {
    std::fprintf(stderr, "cache_bench: %s\n", s.to_string().c_str());
    return 1;
  }
  print_json(o, report);
  return 0;
}
