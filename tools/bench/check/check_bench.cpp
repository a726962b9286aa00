// check_bench: what an online consistency check costs, against one plain
// scan of the same rows.
//
// Two sites in one process: bj owns shards 11 and 12 of cache_bench's
// orders table (--rows orders), sh is its peer and has applied all of them
// (bj's outbox pulled and applied through the DAL, as the DRC does). Each
// of --runs rounds:
//   1. baseline: Dal::checksum of each shard at bj, on a reader: one scan
//      of the rows in key order with the check's hash, and nothing else;
//   2. check: Dal::start_check at bj (--chunk-rows per chunk), while a
//      puller applies bj's outbox at sh, until sh has compared every chunk
//      bj sent; timed whole (the rows read twice, once at each site, and the
//      records through the outbox), and until bj had sent its last chunk.
// --pause-ms spaces the chunks (CheckSpec::pause_ms). A round whose check
// found a difference fails the bench. With --writes N,
// a writer updates random orders at bj at about N/s during both, and the
// round reports the writes' p99 in each (each chunk holds bj's writer).
// The last line is one JSON object: medians of each, and their ratio.
//
//   check_bench [--rows 500000] [--chunk-rows 1000] [--pause-ms 0] [--runs 3] [--writes 0]
#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tools/bench/cache/cache_bench_site.hpp"

namespace ezone::check_bench {
namespace {

using Clock = std::chrono::steady_clock;
using cache_bench::median;
using cache_bench::parse_flag;
using cache_bench::seconds_since;

double p99(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, v.size() * 99 / 100)];
}

// Applies at `to` what `from` has that `to` has not (one pass, until empty).
Status pull(dal::Dal& from, dal::Dal& to) {
  for (;;) {
    auto cursor = to.cursor("bj");
    if (!cursor) return cursor.status();
    auto batch = from.read_outbox(cursor.value(), 2000, 4 << 20);
    if (!batch) return batch.status();
    if (batch.value().entries.empty()) return Status::ok();
    auto applied = to.apply(batch.value());
    if (!applied) return applied.status();
  }
}

// Single-row updates of random orders at about `per_s`, each timed, until
// `stop`; the latencies (ms) of those that committed.
class Writer {
 public:
  Writer(dal::Dal& dal, int64_t rows, int64_t per_s) : dal_(dal), rows_(rows), per_s_(per_s) {}
  void start() {
    if (per_s_ <= 0) return;
    stop_ = false;
    latencies_.clear();
    thread_ = std::thread([this] { loop(); });
  }
  std::vector<double> stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return latencies_;
  }

 private:
  void loop() {
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<int64_t> ids(1, rows_);
    const auto gap = std::chrono::microseconds(1000000 / per_s_);
    auto next = Clock::now();
    while (!stop_) {
      const int64_t id = ids(rng);
      const ShardId shard = id % 2 == 0 ? 12 : 11;  // cache_bench's shard_of
      const auto t0 = Clock::now();
      auto out = dal_.run({shard, 1}, [id](dal::Tx& tx) {
        return tx.exec("UPDATE orders SET amount = amount + 1 WHERE id = ?1", {dal::Value(id)}).status();
      });
      if (out.ok()) latencies_.push_back(seconds_since(t0) * 1000);
      next += gap;
      std::this_thread::sleep_until(next);
    }
  }

  dal::Dal& dal_;
  int64_t rows_, per_s_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::vector<double> latencies_;
};

struct Round {
  double baseline_s = 0, check_s = 0, sent_s = 0, baseline_write_p99_ms = 0, check_write_p99_ms = 0;
  uint64_t chunks = 0;
  uint64_t shared = 0;  // chunks that shared a group's commit (Job::rides_group)
};

Result<Round> one_round(cache_bench::Site& bj, cache_bench::Site& sh, int run, int64_t rows, int64_t chunk_rows,
                        int64_t pause_ms, int64_t writes) {
  Round r;
  Writer writer(*bj.dal, rows, writes);
  writer.start();
  const Clock::time_point b0 = Clock::now();
  for (ShardId shard : {ShardId(11), ShardId(12)}) {
    auto sum = bj.dal->checksum("orders", shard);
    if (!sum) return sum.status();
  }
  r.baseline_s = seconds_since(b0);
  r.baseline_write_p99_ms = p99(writer.stop());
  if (Status s = pull(*bj.dal, *sh.dal); !s) return s;  // the writes so far

  dal::CheckSpec spec;
  spec.id = "bench-" + std::to_string(run);
  spec.tables = {"orders"};
  spec.chunk_rows = static_cast<size_t>(chunk_rows);
  spec.pause_ms = pause_ms;
  Counter& shared = bj.metrics.counter("ezone_dal_shared_commits_total", "");
  const uint64_t shared_before = shared.value();
  writer.start();
  const Clock::time_point c0 = Clock::now();
  auto id = bj.dal->start_check(spec);
  if (!id) return id.status();
  for (;;) {
    if (Status s = pull(*bj.dal, *sh.dal); !s) return s;
    auto sent = bj.dal->check_report(spec.id);
    if (!sent) return sent.status();
    if (!sent.value().running && r.sent_s == 0) r.sent_s = seconds_since(c0);
    auto got = sh.dal->check_report(spec.id);
    if (!got) return got.status();
    const uint64_t compared = got.value().received.empty() ? 0 : got.value().received[0].chunks;
    if (!sent.value().running && compared == sent.value().issued_chunks) {
      r.check_s = seconds_since(c0);
      r.chunks = compared;
      r.shared = shared.value() - shared_before;
      const dal::CheckReceived& c = got.value().received[0];
      if (c.matched != c.chunks) {
        return Status(Errc::internal, std::to_string(c.differing) + " chunks differ, " + std::to_string(c.skipped) +
                                          " skipped: the copies should be equal");
      }
      break;
    }
    if (seconds_since(c0) > 600) return Status(Errc::timeout, "the check did not finish in 600 s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  r.check_write_p99_ms = p99(writer.stop());
  return r;
}

int run(int argc, char** argv) {
  int64_t rows = 500000, chunk_rows = 1000, pause_ms = 0, runs = 3, writes = 0;
  if (!parse_flag(argc, argv, "--rows", 2, 100000000, rows) ||
      !parse_flag(argc, argv, "--chunk-rows", 1, static_cast<int64_t>(dal::kCheckChunkRowsMax), chunk_rows) ||
      !parse_flag(argc, argv, "--pause-ms", 0, 60000, pause_ms) || !parse_flag(argc, argv, "--runs", 1, 100, runs) || !parse_flag(argc, argv, "--writes", 0, 100000, writes)) {
    std::fprintf(stderr, "usage: check_bench [--rows N] [--chunk-rows N] [--pause-ms N] [--runs N] [--writes PER_S]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  char tmpl[] = "/tmp/ezone-check-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) return 1;
  const std::string dir = tmpl;
  int code = 1;
  {
    cache_bench::Site bj, sh;
    Status s = cache_bench::open_site(bj, dir, true, "bj");
    if (s) s = cache_bench::open_site(sh, dir, true, "sh");
    if (s) s = cache_bench::load_rows(*bj.dal, rows);
    if (s) s = pull(*bj.dal, *sh.dal);
    if (!s) {
      std::fprintf(stderr, "check_bench: %s\n", s.to_string().c_str());
      return 1;
    }
    std::printf("check_bench: %lld orders in 2 shards at bj, applied at sh; chunks of %lld rows, %lld ms apart; "
                "writes %lld/s\n",
                static_cast<long long>(rows), static_cast<long long>(chunk_rows), static_cast<long long>(pause_ms),
                static_cast<long long>(writes));
    std::vector<double> baseline, check, sent, baseline_p99, check_p99;
    uint64_t chunks = 0;
    for (int i = 0; i < runs; ++i) {
      auto r = one_round(bj, sh, i, rows, chunk_rows, pause_ms, writes);
      if (!r) {
        std::fprintf(stderr, "check_bench: round %d: %s\n", i, r.status().to_string().c_str());
        return 1;
      }
      std::printf("  round %d: check %.2f s (%llu chunks, %llu sharing a commit, sent by %.2f s, %.0f rows/s), scan "
                  "%.2f s (%.0f rows/s)",
                  i, r->check_s, static_cast<unsigned long long>(r->chunks),
                  static_cast<unsigned long long>(r->shared), r->sent_s,
                  static_cast<double>(rows) / r->check_s, r->baseline_s, static_cast<double>(rows) / r->baseline_s);
      if (writes > 0) {
        std::printf("; write p99 %.1f ms during the check, %.1f ms during the scan", r->check_write_p99_ms,
                    r->baseline_write_p99_ms);
      }
      std::printf("\n");
      baseline.push_back(r->baseline_s);
      check.push_back(r->check_s);
      sent.push_back(r->sent_s);
      baseline_p99.push_back(r->baseline_write_p99_ms);
      check_p99.push_back(r->check_write_p99_ms);
      chunks = r->chunks;
    }
    const double cs = median(check), bs = median(baseline);
    const double check_rate = static_cast<double>(rows) / cs, scan_rate = static_cast<double>(rows) / bs;
    std::printf("check median %.2f s (%.0f rows/s); scan %.2f s (%.0f rows/s); ratio %.2f\n", cs, check_rate, bs,
                scan_rate, check_rate / scan_rate);
    nlohmann::json out{{"bench", "check"},
                       {"rows", rows},
                       {"chunk_rows", chunk_rows},
                       {"pause_ms", pause_ms},
                       {"chunks", chunks},
                       {"runs", runs},
                       {"writes_per_s", writes},
                       {"check_s", cs},
                       {"sent_s", median(sent)},
                       {"check_rows_per_s", check_rate},
                       {"check_write_p99_ms", median(check_p99)},
                       {"baseline", "Dal::checksum scan at the owner"},
                       {"baseline_s", bs},
                       {"baseline_rows_per_s", scan_rate},
                       {"baseline_write_p99_ms", median(baseline_p99)},
                       {"ratio_check_over_baseline_rows_per_s", check_rate / scan_rate}};
    std::printf("%s\n", out.dump().c_str());
    code = 0;
  }
  std::filesystem::remove_all(dir);
  return code;
}

}  // namespace
}  // namespace ezone::check_bench

int main(int argc, char** argv) { return ezone::check_bench::run(argc, argv); }
