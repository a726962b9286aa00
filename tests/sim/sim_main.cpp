// ezone_sim: runs the deterministic simulator over a range of seeds.
//
//   ezone_sim --seeds 0..249              every seed in the range (CI)
//   ezone_sim --seed 1234 --trace         replay one seed, printing its trace
//   ezone_sim --soak 100000 [--from S]    a long run (from a seed printed at start)
//   ezone_sim --seeds 0..9 --determinism  each seed twice: identical traces
//   ezone_sim --seeds 0..99 --break NAME --expect-violation
//                                         a deliberately broken system must be caught
//
// Other flags: --sites N (2..4; default 2 + seed % 3), --chaos-ms N,
// --skew-ms N (every site's clock within +-N ms), --store-hop-ms N (each of
// the coordinator's store calls lets 1..N ms pass, with other messages),
// --writes-per-s N (client writes; default 30), --disk-loss (some kills lose
// the site's disk, re-seeded from a peer: sim_reseed.cpp).
// Breaks: no-fence-margin, no-catchup-fence, probe-skips-watermark,
// blind-registration, reseed-force.
// Exit status 0 when every seed held every invariant (with
// --expect-violation: when at least one seed was caught).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/sim/sim_world.hpp"

namespace {

using ezone::sim::Options;
using ezone::sim::RunResult;
using ezone::sim::Stats;

int usage(const char* why) {
  std::fprintf(stderr,
               "ezone_sim: %s\nusage: ezone_sim [--seed S | --seeds A..B | --soak N [--from S]] [--sites N] "
               "[--chaos-ms N] [--skew-ms N] [--store-hop-ms N] [--writes-per-s N] [--disk-loss] [--trace] "
               "[--determinism] [--break NAME]... [--expect-violation]\n",
               why);
  return 2;
}

bool parse_u64(const char* text, uint64_t& out) {
  char* end = nullptr;
  out = std::strtoull(text, &end, 10);
  return end && *end == '\0' && end != text;
}

void add(Stats& total, const Stats& s) {
  total.attempts += s.attempts;
  total.commits += s.commits;
  total.refusals += s.refusals;
  total.wrong_zone_refused += s.wrong_zone_refused;
  total.applies += s.applies;
  total.applied_entries += s.applied_entries;
  total.conflicts += s.conflicts;
  total.kills += s.kills;
  total.partitions += s.partitions;
  total.store_outages += s.store_outages;
  total.switchovers_done += s.switchovers_done;
  total.failovers_done += s.failovers_done;
  total.cancelled += s.cancelled;
  total.failed += s.failed;
  total.disk_losses += s.disk_losses;
  total.reseeds += s.reseeds;
  total.lost_with_disk += s.lost_with_disk;
  total.origin_restarts += s.origin_restarts;
  total.transfers_checked += s.transfers_checked;
  total.quarantined_refused += s.quarantined_refused;
  total.releases += s.releases;
  total.kept_losers += s.kept_losers;
  total.sim_ms += s.sim_ms;
}

void report_failure(uint64_t seed, const RunResult& r, bool tail) {
  std::printf("SEED %llu FAILED: %s\n", static_cast<unsigned long long>(seed), r.violations.front().c_str());
  if (tail) {
    std::printf("  last trace lines:\n");
    for (const std::string& line : r.trace_tail) std::printf("    %s\n", line.c_str());
  }
  std::printf("  replay: ezone_sim --seed %llu --trace\n", static_cast<unsigned long long>(seed));
}

}  // namespace

int main(int argc, char** argv) {
  Options base;
  uint64_t first = 0, last = 0, soak = 0, from = 0;
  bool have_range = false, have_from = false, determinism = false, expect_violation = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
    auto need = [&](uint64_t& out) {
      if (!v || !parse_u64(v, out)) return false;
      ++i;
      return true;
    };
    uint64_t n = 0;
    if (a == "--seed") {
      if (!need(first)) return usage("--seed needs a number");
      last = first;
      have_range = true;
    } else if (a == "--seeds") {
      if (!v) return usage("--seeds needs A..B");
      const std::string r = v;
      const size_t dots = r.find("..");
      if (dots == std::string::npos || !parse_u64(r.substr(0, dots).c_str(), first) ||
          !parse_u64(r.substr(dots + 2).c_str(), last) || last < first)
        return usage("--seeds needs A..B with A <= B");
      have_range = true;
      ++i;
    } else if (a == "--soak") {
      if (!need(soak) || soak == 0) return usage("--soak needs a positive count");
    } else if (a == "--from") {
      if (!need(from)) return usage("--from needs a seed");
      have_from = true;
    } else if (a == "--sites") {
      if (!need(n) || n < 2 || n > 4) return usage("--sites needs 2..4");
      base.sites = static_cast<int>(n);
    } else if (a == "--chaos-ms") {
      if (!need(n) || n < 100) return usage("--chaos-ms needs a number >= 100");
      base.chaos_ms = static_cast<int64_t>(n);
    } else if (a == "--store-hop-ms") {
      if (!need(n) || n == 0) return usage("--store-hop-ms needs a positive number");
      base.store_hop_ms_max = static_cast<int64_t>(n);
    } else if (a == "--writes-per-s") {
      if (!need(n) || n == 0 || n > 100) return usage("--writes-per-s needs 1..100");
      base.writes_per_s = static_cast<double>(n);
    } else if (a == "--skew-ms") {
      if (!need(n)) return usage("--skew-ms needs a number");
      base.skew_ms_max = static_cast<int64_t>(n);
    } else if (a == "--disk-loss") {
      base.disk_loss = true;
    } else if (a == "--trace") {
      base.trace_all = true;
    } else if (a == "--determinism") {
      determinism = true;
    } else if (a == "--expect-violation") {
      expect_violation = true;
    } else if (a == "--break") {
      const std::string b = v ? v : "";
      if (b == "no-fence-margin") base.breaks.site.no_fence_margin = true;
      else if (b == "no-catchup-fence") base.breaks.site.no_catchup_fence = true;
      else if (b == "probe-skips-watermark") base.breaks.probe_skips_watermark = true;
      else if (b == "blind-registration") base.breaks.blind_registration = true;
      else if (b == "reseed-force") base.breaks.reseed_force = true;
      else return usage("unknown --break (no-fence-margin, no-catchup-fence, probe-skips-watermark, "
                        "blind-registration, reseed-force)");
      ++i;
    } else {
      return usage(("unknown argument " + a).c_str());
    }
  }
  if (soak > 0) {
    if (!have_from) from = static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) % 1000000000ull;
    first = from;
    last = from + soak - 1;
    std::printf("soak: seeds %llu..%llu\n", static_cast<unsigned long long>(first), static_cast<unsigned long long>(last));
  } else if (!have_range) {
    return usage("give --seed, --seeds or --soak");
  }

  const auto started = std::chrono::steady_clock::now();
  uint64_t failed = 0, runs = 0;
  Stats total;
  for (uint64_t seed = first;; ++seed) {
    Options o = base;
    o.seed = seed;
    RunResult r = ezone::sim::run_world(o);
    ++runs;
    add(total, r.stats);
    if (determinism) {
      RunResult again = ezone::sim::run_world(o);
      if (again.trace_hash != r.trace_hash || again.violations != r.violations) {
        std::printf("SEED %llu is not deterministic: trace hashes %016llx and %016llx\n",
                    static_cast<unsigned long long>(seed), static_cast<unsigned long long>(r.trace_hash),
                    static_cast<unsigned long long>(again.trace_hash));
        ++failed;
      } else if (base.trace_all || first == last) {
        std::printf("seed %llu: trace hash %016llx twice\n", static_cast<unsigned long long>(seed),
                    static_cast<unsigned long long>(r.trace_hash));
      }
    }
    if (!r.violations.empty()) {
      ++failed;
      report_failure(seed, r, !expect_violation && !base.trace_all);
      if (expect_violation) break;
    }
    if (runs % 1000 == 0 && last - first >= 2000) {
      std::printf("... %llu seeds, %llu failed\n", static_cast<unsigned long long>(runs), static_cast<unsigned long long>(failed));
      std::fflush(stdout);
    }
    if (seed == last) break;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "%llu seeds in %.1f s: %llu failed. writes %llu attempted, %llu committed, %llu refused (%llu wrong-zone); "
      "%llu applies (%llu entries, %llu conflicts); %llu kills, %llu partitions, %llu store outages; "
      "%llu switchovers and %llu failovers done, %llu cancelled, %llu failed; %llu transfers checked; "
      "%llu quarantine refusals, %llu releases (%llu keeping the loser); %llu disks lost, %llu re-seeds "
      "(%llu commits lost with a disk, %llu restarts of a re-seeded origin); %.0f s simulated\n",
      static_cast<unsigned long long>(runs), secs, static_cast<unsigned long long>(failed),
      static_cast<unsigned long long>(total.attempts), static_cast<unsigned long long>(total.commits),
      static_cast<unsigned long long>(total.refusals), static_cast<unsigned long long>(total.wrong_zone_refused),
      static_cast<unsigned long long>(total.applies), static_cast<unsigned long long>(total.applied_entries),
      static_cast<unsigned long long>(total.conflicts), static_cast<unsigned long long>(total.kills),
      static_cast<unsigned long long>(total.partitions), static_cast<unsigned long long>(total.store_outages),
      static_cast<unsigned long long>(total.switchovers_done), static_cast<unsigned long long>(total.failovers_done),
      static_cast<unsigned long long>(total.cancelled), static_cast<unsigned long long>(total.failed),
      static_cast<unsigned long long>(total.transfers_checked), static_cast<unsigned long long>(total.quarantined_refused),
      static_cast<unsigned long long>(total.releases), static_cast<unsigned long long>(total.kept_losers),
      static_cast<unsigned long long>(total.disk_losses), static_cast<unsigned long long>(total.reseeds),
      static_cast<unsigned long long>(total.lost_with_disk), static_cast<unsigned long long>(total.origin_restarts),
      static_cast<double>(total.sim_ms) / 1000.0);
  if (expect_violation) {
    if (failed == 0) std::printf("expected a violation, but every seed passed: the check is blind to this break\n");
    return failed > 0 ? 0 : 1;
  }
  // A range that never committed, switched over or failed over proves
  // nothing: say so instead of passing.
  if (runs >= 100 && (total.commits == 0 || total.switchovers_done == 0 || total.failovers_done == 0 ||
                      total.transfers_checked == 0 || total.conflicts == 0 || total.releases == 0)) {
    std::printf("the run exercised too little (no commits, switchovers, failovers, checked transfers, conflicts or "
                "quarantine releases)\n");
    return 1;
  }
  if (runs >= 100 && base.disk_loss && (total.reseeds == 0 || total.origin_restarts == 0)) {
    std::printf("--disk-loss exercised too little: no re-seed, or no peer restarted a re-seeded origin\n");
    return 1;
  }
  return failed == 0 ? 0 : 1;
}
