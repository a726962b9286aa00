// pg_baseline: the PostgreSQL 15 logical-replication baseline of the DRC
// benchmark, on its own. Two local clusters (publisher, subscriber) on free
// ports under a temp dir, durable commits on both sides; three workloads:
//
//   apply     subscription disabled, N rows committed (single-row and
//             batch-row transactions), enabled: the subscriber's apply rate
//   lag       a paced writer at each offered rate: p50/p99 of
//             applied_at (subscriber) - created_at (publisher client)
//   catch-up  the subscriber's server stopped while K rows are committed,
//             then started: rows/s until it has them all
//
// Prints tables and, as the last line, one JSON object with the figures.
// Ctrl-C (or SIGTERM) stops the running workload and cleans up; a second
// one exits at once and the guard process removes what is left.
//
//   pg_baseline [--single-rows 20000] [--batch-rows 200000] [--batch-size 100]
//               [--rates 2000,5000] [--duration-s 10] [--catchup-rows 100000]
//               [--catchup-tx-rows 1] [--writers 1] [--lag-connections 16]
//               [--payload-bytes 100] [--sub-sync-commit on|off]
//               [--apply-timeout-s 600] [--work-dir DIR] [--bin-dir DIR]
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tools/bench/drc/bench_flags.hpp"
#include "tools/bench/drc/drc_bench_report.hpp"
#include "tools/bench/drc/pg_baseline.hpp"

namespace ezone::drc {
namespace {

std::atomic<bool> g_cancel{false};

void on_signal(int sig) {
  if (g_cancel.exchange(true)) {  // second signal: die now, the guard cleans up
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  const char msg[] = "\npg_baseline: stopping, cleaning up (again to exit at once)\n";
  ssize_t ignored = write(2, msg, sizeof msg - 1);
  (void)ignored;
}

struct Options {
  int64_t single_rows = 20'000;
  int64_t batch_rows = 200'000;
  int batch_size = 100;
  std::vector<double> rates = {2000, 5000};
  double duration_s = 10;
  int64_t catchup_rows = 100'000;
  int catchup_tx_rows = 1;
  int writers = 1;
  int lag_connections = 16;
  int payload_bytes = 100;
  bool sub_sync_commit = true;
  int apply_timeout_s = 600;
  std::string work_dir;
  std::string bin_dir = "/usr/lib/postgresql/15/bin";
};

constexpr const char* kUsage =
    "usage: pg_baseline [--single-rows N] [--batch-rows N] [--batch-size N] [--rates R1,R2]\n"
    "                   [--duration-s S] [--catchup-rows N] [--catchup-tx-rows N] [--writers N]\n"
    "                   [--lag-connections N] [--payload-bytes N] [--sub-sync-commit on|off]\n"
    "                   [--apply-timeout-s S] [--work-dir DIR] [--bin-dir DIR]\n";

Result<Options> parse(int argc, char** argv) {
  Options o;
  auto flags = BenchFlags::parse(argc, argv);
  if (!flags) return flags.status();
  BenchFlags& f = *flags;
  for (Status s : {f.number("--single-rows", &o.single_rows, 0), f.number("--batch-rows", &o.batch_rows, 0),
                   f.number("--batch-size", &o.batch_size, 1), f.number("--duration-s", &o.duration_s, 0),
                   f.number("--catchup-rows", &o.catchup_rows, 0), f.number("--catchup-tx-rows", &o.catchup_tx_rows, 1),
                   f.number("--writers", &o.writers, 1), f.number("--lag-connections", &o.lag_connections, 1),
                   f.number("--payload-bytes", &o.payload_bytes, 0), f.number("--apply-timeout-s", &o.apply_timeout_s, 1),
                   f.rates("--rates", &o.rates), f.choice("--sub-sync-commit", "on", "off", &o.sub_sync_commit)})
    if (!s) return s;
  f.text("--work-dir", &o.work_dir);
  f.text("--bin-dir", &o.bin_dir);
  if (Status s = f.finish(); !s) return s;
  return o;
}

void print_apply_header() {
  std::printf("\napply: subscription disabled while the publisher commits, then enabled\n");
  std::printf("| rows | rows/tx | writers | publisher rows/s | publisher tx/s | startup ms | apply rows/s | steady apply rows/s |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
}

void print(const ApplyFigures& f) {
  std::printf("| %lld | %d | %d | %.0f | %.0f | %.1f | %.0f | %.0f |\n", (long long)f.rows, f.rows_per_tx, f.writers,
              f.publisher_rows_per_s, f.publisher_tx_per_s, f.startup_ms, f.apply_rows_per_s, f.apply_steady_rows_per_s);
}

void print_lag_header() {
  std::printf("\nlag: paced single-row transactions; lag = subscriber applied_at - created_at\n");
  std::printf("| offered/s | achieved/s | connections | rows | late sends | lag p50 ms | lag p99 ms | lag max ms | commit p50 ms | commit p99 ms |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
}

void print(const LagFigures& f) {
  std::printf("| %.0f | %.0f | %d | %lld | %lld | %.2f | %.2f | %.2f | %.3f | %.3f |\n", f.offered_per_s,
              f.achieved_per_s, f.connections, (long long)f.rows, (long long)f.late_sends, f.lag_p50_ms, f.lag_p99_ms,
              f.lag_max_ms, f.commit_p50_ms, f.commit_p99_ms);
}

void print(const CatchupFigures& f) {
  std::printf("\ncatch-up: subscriber's server stopped while the publisher commits, then started\n");
  std::printf("| rows | rows/tx | writers | publisher rows/s | restart ms | startup ms | catch-up rows/s | steady rows/s |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::printf("| %lld | %d | %d | %.0f | %.1f | %.1f | %.0f | %.0f |\n", (long long)f.rows, f.rows_per_tx, f.writers,
              f.publisher_rows_per_s, f.restart_ms, f.startup_ms, f.catchup_rows_per_s, f.catchup_steady_rows_per_s);
}

// Runs the workloads; returns false if any failed. Figures go to out.
bool run(PgReplicationPair& pair, const Options& o, nlohmann::json& out) {
  bool ok = true;
  auto failed = [&](const char* what, const Status& s) {
    std::fprintf(stderr, "pg_baseline: %s failed: %s\n", what, s.to_string().c_str());
    out["errors"].push_back(std::string(what) + ": " + s.to_string());
    ok = false;
  };
  out["apply"] = nlohmann::json::array();
  std::vector<std::pair<int64_t, int>> applies;
  if (o.single_rows > 0) applies.push_back({o.single_rows, 1});
  if (o.batch_rows > 0) applies.push_back({o.batch_rows, o.batch_size});
  if (!applies.empty()) print_apply_header();
  for (auto [rows, per_tx] : applies) {
    if (g_cancel) return false;
    auto f = pair.measure_apply(rows, per_tx, o.writers);
    if (!f) failed("apply", f.status());
    else {
      print(*f);
      out["apply"].push_back(to_json(*f));
    }
    std::fflush(stdout);
  }
  out["lag"] = nlohmann::json::array();
  if (o.duration_s > 0 && !o.rates.empty()) print_lag_header();
  for (double rate : o.rates) {
    if (g_cancel || !(o.duration_s > 0)) break;
    auto f = pair.measure_lag(rate, o.duration_s, o.lag_connections);
    if (!f) failed("lag", f.status());
    else {
      print(*f);
      out["lag"].push_back(to_json(*f));
    }
    std::fflush(stdout);
  }
  if (o.catchup_rows > 0 && !g_cancel) {
    auto f = pair.measure_catchup(o.catchup_rows, o.catchup_tx_rows, o.writers);
    if (!f) failed("catch-up", f.status());
    else {
      print(*f);
      out["catchup"] = to_json(*f);
    }
  }
  return ok && !g_cancel;
}

int main_impl(int argc, char** argv) {
  auto options = parse(argc, argv);
  if (!options) {
    if (!options.status().message().empty()) std::fprintf(stderr, "pg_baseline: %s\n", options.status().message().c_str());
    std::fputs(kUsage, stderr);
    return 2;
  }
  const Options& o = *options;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);

  PgPairOptions po;
  po.bin_dir = o.bin_dir;
  po.work_dir = o.work_dir;
  po.subscriber_synchronous_commit = o.sub_sync_commit;
  po.payload_bytes = o.payload_bytes;
  po.apply_timeout_ms = o.apply_timeout_s * 1000;
  po.cancel = &g_cancel;
  po.log = [](const std::string& line) { std::fprintf(stderr, "pg_baseline: %s\n", line.c_str()); };

  nlohmann::json out = {{"bench", "drc_pg_baseline"},
                        {"params",
                         {{"single_rows", o.single_rows}, {"batch_rows", o.batch_rows}, {"batch_size", o.batch_size},
                          {"rates", o.rates}, {"duration_s", o.duration_s}, {"catchup_rows", o.catchup_rows},
                          {"catchup_tx_rows", o.catchup_tx_rows}, {"writers", o.writers},
                          {"lag_connections", o.lag_connections}, {"payload_bytes", o.payload_bytes},
                          {"sub_synchronous_commit", o.sub_sync_commit}}}};
  bool ok = false;
  {
    auto pair = PgReplicationPair::start(po);
    if (!pair) {
      std::fprintf(stderr, "pg_baseline: cannot start PostgreSQL: %s\n", pair.status().to_string().c_str());
      out["errors"].push_back("start: " + pair.status().to_string());
    } else {
      std::printf("PostgreSQL logical replication baseline\n  %s\n", (*pair)->describe().c_str());
      std::fflush(stdout);
      ok = run(**pair, o, out);
    }
  }  // the pair stops its servers and removes its temp dir here
  if (g_cancel) out["errors"].push_back("cancelled by a signal");
  std::printf("%s\n", out.dump().c_str());
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace ezone::drc

int main(int argc, char** argv) {
  try {
    return ezone::drc::main_impl(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pg_baseline: unexpected error: %s\n", e.what());
    return 1;
  }
}
