// drc_bench: DRC replication between two real ezone Nodes against the
// PostgreSQL 15 logical-replication baseline (pg_baseline.hpp), the same
// three workloads on both:
//
//   apply     sh stopped (Node::stop, its SQLite file stays), N rows
//             committed at bj through bj's DAL (a window of transactions in
//             flight), sh started again: rows/s from sh's start until its
//             cursor for bj equals bj's outbox head. Single-row and
//             100-row transactions.
//   lag       a paced submitter at bj offering single-row transactions at a
//             fixed rate; sh's change feed stamps each row's apply; lag =
//             apply - submit (one steady clock, one process). p50/p99/max.
//   catch-up  as apply, 100k single-row changes queued while sh was down.
//
// bj and sh each run their own CAF actor system in this process and
// replicate over loopback TCP (the cluster actor and the DRC service), with
// an injected MemoryMetaStore instead of etcd. Durable commits on both sides
// by default (synchronous=FULL; PostgreSQL: fsync and synchronous_commit on,
// the subscription's synchronous_commit on).
//
// Prints tables and, as the last line, one JSON object with the figures of
// both sides, their ratios and whether the targets were met. Ctrl-C (or
// SIGTERM) stops the running workload and cleans up.
//
//   drc_bench [--single-rows 20000] [--batch-rows 200000] [--batch-size 100]
//             [--rates 2000,5000] [--duration-s 10] [--catchup-rows 100000]
//             [--window 256] [--sync full|normal] [--pg-sub-sync-commit on|off]
//             [--skip-pg] [--timeout-s 600] [--work-dir DIR] [--verbose]
//             [--cluster-tls CERT_DIR]   (plain against TLS on the cluster port)
#include <signal.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "actors/gzs/gzs.hpp"
#include "actors/node/node.hpp"
#include "core/clock.hpp"
#include "storage/dal/dal.hpp"
#include "tools/bench/drc/drc_bench_nodes.hpp"
#include "tools/bench/drc/drc_bench_options.hpp"
#include "tools/bench/drc/drc_bench_report.hpp"
#include "tools/bench/drc/pg_baseline.hpp"

namespace ezone::drc {
namespace {

using nlohmann::json;
using Options = DrcBenchOptions;

std::atomic<bool> g_cancel{false};

void on_signal(int sig) {
  if (g_cancel.exchange(true)) {  // second signal: die now
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  const char msg[] = "\ndrc_bench: stopping, cleaning up (again to exit at once)\n";
  ssize_t ignored = write(2, msg, sizeof msg - 1);
  (void)ignored;
}

int64_t steady_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void sleep_until_us(int64_t due_us) {
  std::this_thread::sleep_until(std::chrono::steady_clock::time_point(std::chrono::microseconds(due_us)));
}

double percentile_ms(const std::vector<int64_t>& sorted_us, double p) {
  if (sorted_us.empty()) return 0;
  size_t rank = size_t(std::ceil(p * double(sorted_us.size())));
  size_t index = std::min(sorted_us.size() - 1, rank == 0 ? 0 : rank - 1);
  return double(sorted_us[index]) / 1000.0;
}


// ---- writing at bj ------------------------------------------------------------

struct Writer {
  dal::Dal* dal = nullptr;
  Epoch epoch = 0;
  std::string payload;
};

// Inserts rows [first, last] in one transaction.
dal::TxFn insert_rows(int64_t first, int64_t last, const std::string& payload, int64_t created_us) {
  return [=](dal::Tx& tx) -> Status {
    for (int64_t id = first; id <= last; ++id) {
      auto r = tx.exec("INSERT INTO rows(id, shard, payload, created_at_us) VALUES(?1, ?2, ?3, ?4)",
                       {id, int64_t(kShard), payload, created_us});
      if (!r) return r.status();
    }
    return Status::ok();
  };
}

std::string describe(const dal::TxOutcome& out) {
  return std::string(dal::refusal_name(out.refusal)) + ": " + out.status.to_string();
}

// Waits until bj holds its lease (a no-op transaction on bj's shard is
// accepted) and returns the route table's epoch.
Result<Epoch> wait_writable(Node& bj, int64_t timeout_ms) {
  const int64_t deadline = steady_us() + timeout_ms * 1000;
  std::string last;
  while (steady_us() < deadline && !g_cancel) {
    const Epoch epoch = bj.gzs().epoch();
    auto out = bj.dal()->run({kShard, epoch}, [](dal::Tx&) { return Status::ok(); });
    if (out.ok()) return epoch;
    last = describe(out);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Status(Errc::timeout, "bj never became writable for shard 1: " + last);
}

// Commits rows [first, first + rows) in rows_per_tx transactions with up to
// `window` in flight; returns the seconds it took.
Result<double> write_bulk(const Writer& w, int64_t first, int64_t rows, int rows_per_tx, int window,
                          int64_t timeout_ms) {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  std::string error;
  const int64_t t0 = steady_us(), deadline = t0 + timeout_ms * 1000;
  auto wait_below = [&](int limit) -> Status {
    std::unique_lock<std::mutex> lock(mu);
    while (in_flight >= limit && error.empty()) {
      if (g_cancel) return Status(Errc::unavailable, "cancelled");
      if (steady_us() > deadline) return Status(Errc::timeout, "bj did not commit the rows in time");
      cv.wait_for(lock, std::chrono::milliseconds(100));
    }
    return error.empty() ? Status::ok() : Status(Errc::internal, "a commit at bj failed: " + error);
  };
  // The callbacks reference this frame: before any return, wait for every
  // one of them however long it takes (the DAL answers each request).
  auto drain = [&](Status s) -> Status {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_flight == 0; });
    return s;
  };
  for (int64_t id = first; id < first + rows; id += rows_per_tx) {
    if (Status s = wait_below(window); !s) return drain(s);
    {
      std::lock_guard<std::mutex> lock(mu);
      ++in_flight;
    }
    const int64_t last = std::min(id + rows_per_tx, first + rows) - 1;
    w.dal->submit({kShard, w.epoch}, insert_rows(id, last, w.payload, 0), [&](dal::TxOutcome out) {
      std::lock_guard<std::mutex> lock(mu);
      --in_flight;
      if (!out.ok() && error.empty()) error = describe(out);
      cv.notify_all();
    });
  }
  if (Status s = wait_below(1); !s) return drain(s);
  return double(steady_us() - t0) / 1e6;
}

// ---- waiting at sh ------------------------------------------------------------

struct CatchUp {
  int64_t first_progress_us = 0;  // first poll that saw the cursor move
  uint64_t first_cursor = 0;      // the cursor that poll saw (a whole batch applied)
  int64_t done_us = 0;
};

// Polls sh's cursor for bj every millisecond until it reaches `head`.
Result<CatchUp> wait_cursor(dal::Dal& sh, uint64_t from, uint64_t head, int64_t timeout_ms) {
  CatchUp c;
  const int64_t deadline = steady_us() + timeout_ms * 1000;
  for (;;) {
    auto cursor = sh.cursor("bj");
    const int64_t now = steady_us();
    if (!cursor) return cursor.status();
    if (*cursor > from && c.first_progress_us == 0) {
      c.first_progress_us = now;
      c.first_cursor = *cursor;
    }
    if (*cursor >= head) {
      c.done_us = now;
      if (c.first_progress_us == 0) c.first_progress_us = now, c.first_cursor = *cursor;
      return c;
    }
    if (g_cancel) return Status(Errc::unavailable, "cancelled");
    if (now > deadline)
      return Status(Errc::timeout, "sh's cursor for bj is " + std::to_string(*cursor) + ", bj's outbox head " +
                                       std::to_string(head) + " after " + std::to_string(timeout_ms / 1000) + " s");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

Status check_rows(dal::Dal& sh, int64_t first, int64_t rows) {
  auto r = sh.query("SELECT COUNT(*) FROM rows WHERE id >= ?1 AND id < ?2", {first, first + rows});
  if (!r) return r.status();
  const int64_t n = std::get<int64_t>(r.value().at(0).at(0));
  if (n != rows)
    return Status(Errc::internal, "sh has " + std::to_string(n) + " of the " + std::to_string(rows) + " rows");
  return Status::ok();
}

// ---- workloads ----------------------------------------------------------------


class Bench {
 public:
  Bench(const Options& o, NodePair& nodes) : o_(o), nodes_(nodes) {}

  Status start() {
    for (const char* z : {"bj", "sh"})
      if (auto ms = nodes_.start(z); !ms) return ms.status();
    auto epoch = wait_writable(*nodes_.bj, 30'000);
    if (!epoch) return epoch.status();
    writer_ = {nodes_.bj->dal(), *epoch, std::string(size_t(o_.payload_bytes), 'p')};
    for (size_t i = 0; i < writer_.payload.size(); ++i) writer_.payload[i] = char('a' + i % 26);
    // One row across proves replication works before anything is timed.
    if (auto w = write_bulk(writer_, next_id_, 1, 1, 1, 10'000); !w) return w.status();
    ++next_id_;
    return caught_up();
  }

  // Workloads 1 and 3: sh down while bj commits, then sh started again.
  Result<RestartFigures> restart_apply(int64_t rows, int rows_per_tx) {
    if (Status s = caught_up(); !s) return s;
    auto from = nodes_.sh->dal()->cursor("bj");
    if (!from) return from.status();
    nodes_.stop("sh");
    const int64_t first = next_id_;
    next_id_ += rows;
    auto seconds = write_bulk(writer_, first, rows, rows_per_tx, o_.window, timeout_ms());
    if (!seconds) return seconds.status();
    const uint64_t head = writer_.dal->outbox_head();
    const int64_t t0 = steady_us();
    auto start_ms = nodes_.start("sh");
    if (!start_ms) return start_ms.status();
    const int64_t ready = steady_us();
    auto c = wait_cursor(*nodes_.sh->dal(), *from, head, timeout_ms());
    if (!c) return c.status();
    if (Status s = check_rows(*nodes_.sh->dal(), first, rows); !s) return s;
    RestartFigures f;
    f.rows = rows;
    f.rows_per_tx = rows_per_tx;
    f.window = o_.window;
    f.writer_rows_per_s = double(rows) / *seconds;
    f.start_ms = *start_ms;
    f.first_batch_ms = double(c->first_progress_us - ready) / 1e3;
    f.apply_rows_per_s = double(rows) * 1e6 / double(std::max<int64_t>(1, c->done_us - ready));
    f.apply_incl_start_rows_per_s = double(rows) * 1e6 / double(std::max<int64_t>(1, c->done_us - t0));
    // Each outbox entry is one transaction of rows_per_tx rows.
    const double later_rows = double(rows) * double(head - c->first_cursor) / double(std::max<uint64_t>(1, head - *from));
    if (c->done_us > c->first_progress_us)
      f.apply_steady_rows_per_s = later_rows * 1e6 / double(c->done_us - c->first_progress_us);
    return f;
  }

  Result<LagFigures> lag(double rate, double duration_s);

 private:
  int64_t timeout_ms() const { return int64_t(o_.timeout_s) * 1000; }
  // Every workload starts with sh up (a failed one may have left it down)
  // and level with bj.
  Status caught_up() {
    if (!nodes_.sh)
      if (auto ms = nodes_.start("sh"); !ms) return ms.status();
    auto c = wait_cursor(*nodes_.sh->dal(), 0, writer_.dal->outbox_head(), timeout_ms());
    return c ? Status::ok() : c.status();
  }

  const Options& o_;
  NodePair& nodes_;
  Writer writer_;
  int64_t next_id_ = 1;
};

// Per-row stamps of one lag run, written by bj's and sh's writer threads.
struct LagStamps {
  explicit LagStamps(int64_t rows)
      : submit_us(size_t(rows)), commit_us(new std::atomic<int64_t>[size_t(rows)]),
        apply_us(new std::atomic<int64_t>[size_t(rows)]) {
    for (int64_t i = 0; i < rows; ++i) commit_us[i] = apply_us[i] = 0;
  }
  std::vector<int64_t> submit_us;  // written by the pacing thread only
  std::unique_ptr<std::atomic<int64_t>[]> commit_us, apply_us;
  std::atomic<int64_t> committed{0}, applied{0}, failed{0};
  std::mutex error_mu;
  std::string error;
};

// Parses the "[123]" of a one-column primary key.
std::optional<int64_t> pk_id(const std::string& pk) {
  if (pk.size() < 3 || pk.front() != '[' || pk.back() != ']') return std::nullopt;
  char* end = nullptr;
  long long v = std::strtoll(pk.c_str() + 1, &end, 10);
  if (end != pk.c_str() + pk.size() - 1) return std::nullopt;
  return v;
}

Result<LagFigures> Bench::lag(double rate, double duration_s) {
  if (Status s = caught_up(); !s) return s;
  // The workloads before this one left tens of MB in both WALs: copied to
  // the databases by the checkpointers during this run, their syncs would
  // stall its commits. Each run starts checkpointed (PostgreSQL's too).
  for (dal::Dal* d : {writer_.dal, nodes_.sh->dal()})
    if (Status s = d->checkpoint(); !s) return s;
  const int64_t rows = std::max<int64_t>(1, std::llround(rate * duration_s));
  const int64_t first = next_id_;
  next_id_ += rows;
  auto stamps = std::make_shared<LagStamps>(rows);
  dal::Dal& sh = *nodes_.sh->dal();
  const uint64_t sub = sh.subscribe([stamps, first, rows](const std::vector<dal::FeedEvent>& events) {
    const int64_t now = steady_us();
    for (const auto& e : events) {
      auto id = e.table == "rows" ? pk_id(e.pk) : std::nullopt;
      if (!id || *id < first || *id >= first + rows) continue;
      if (stamps->apply_us[*id - first].exchange(now) == 0) ++stamps->applied;
    }
  });
  int64_t late = 0;
  const int64_t t0 = steady_us() + 20'000;
  for (int64_t j = 0; j < rows && !g_cancel; ++j) {
    const int64_t due = t0 + std::llround(double(j) * 1e6 / rate);
    sleep_until_us(due);
    const int64_t sent = steady_us();
    if (sent - due > 1000) ++late;
    stamps->submit_us[size_t(j)] = sent;
    writer_.dal->submit({kShard, writer_.epoch}, insert_rows(first + j, first + j, writer_.payload, 0),
                        [stamps, j](dal::TxOutcome out) {
                          stamps->commit_us[j] = steady_us();
                          if (out.ok()) ++stamps->committed;
                          else if (stamps->failed++ == 0) {
                            std::lock_guard<std::mutex> lock(stamps->error_mu);
                            stamps->error = describe(out);
                          }
                        });
  }
  const int64_t deadline = steady_us() + timeout_ms();
  while ((stamps->committed + stamps->failed < rows || stamps->applied < stamps->committed) && !g_cancel &&
         steady_us() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  sh.unsubscribe(sub);
  if (g_cancel) return Status(Errc::unavailable, "cancelled");
  if (stamps->failed > 0) {
    std::lock_guard<std::mutex> lock(stamps->error_mu);
    return Status(Errc::internal, std::to_string(stamps->failed.load()) + " commits at bj failed: " + stamps->error);
  }
  if (stamps->applied < rows)
    return Status(Errc::timeout, "sh applied " + std::to_string(stamps->applied.load()) + " of " +
                                     std::to_string(rows) + " rows in time");
  if (Status s = check_rows(sh, first, rows); !s) return s;
  std::vector<int64_t> lags, commits;
  int64_t last_commit = 0;
  for (int64_t j = 0; j < rows; ++j) {
    lags.push_back(stamps->apply_us[j] - stamps->submit_us[size_t(j)]);
    commits.push_back(stamps->commit_us[j] - stamps->submit_us[size_t(j)]);
    last_commit = std::max<int64_t>(last_commit, stamps->commit_us[j]);
  }
  std::sort(lags.begin(), lags.end());
  std::sort(commits.begin(), commits.end());
  LagFigures f;
  f.offered_per_s = rate;
  f.achieved_per_s = double(rows) * 1e6 / double(std::max<int64_t>(1, last_commit - t0));
  f.connections = 1;
  f.rows = rows;
  f.late_sends = late;
  f.lag_p50_ms = percentile_ms(lags, 0.50);
  f.lag_p99_ms = percentile_ms(lags, 0.99);
  f.lag_max_ms = percentile_ms(lags, 1.0);
  f.commit_p50_ms = percentile_ms(commits, 0.50);
  f.commit_p99_ms = percentile_ms(commits, 0.99);
  return f;
}

// ---- running ------------------------------------------------------------------

struct Report {
  json errors = json::array();
  bool ok = true;
  void failed(const std::string& what, const Status& s) {
    std::fprintf(stderr, "drc_bench: %s failed: %s\n", what.c_str(), s.to_string().c_str());
    errors.push_back(what + ": " + s.to_string());
    ok = false;
  }
};

json run_ezone(const Options& o, Report& report) {
  json out = {{"apply", json::array()}, {"lag", json::array()}};
  NodePair nodes(o);
  if (Status s = nodes.setup(); !s) {
    report.failed("ezone setup", s);
    return out;
  }
  Bench bench(o, nodes);
  std::fprintf(stderr, "drc_bench: starting bj and sh under %s\n", nodes.dir().c_str());
  if (Status s = bench.start(); !s) {
    report.failed("ezone start", s);
    return out;
  }
  std::vector<std::pair<int64_t, int>> applies;
  if (o.single_rows > 0) applies.push_back({o.single_rows, 1});
  if (o.batch_rows > 0) applies.push_back({o.batch_rows, o.batch_size});
  for (auto [rows, per_tx] : applies) {
    if (g_cancel) return out;
    std::fprintf(stderr, "drc_bench: ezone apply, %lld rows in %d-row transactions\n", (long long)rows, per_tx);
    auto f = bench.restart_apply(rows, per_tx);
    if (!f) report.failed("ezone apply", f.status());
    else out["apply"].push_back(to_json(*f));
  }
  for (double rate : o.rates) {
    if (g_cancel || !(o.duration_s > 0)) break;
    std::fprintf(stderr, "drc_bench: ezone lag at %.0f/s for %.0f s\n", rate, o.duration_s);
    auto f = bench.lag(rate, o.duration_s);
    if (!f) report.failed("ezone lag", f.status());
    else out["lag"].push_back(to_json(*f));
  }
  if (o.catchup_rows > 0 && !g_cancel) {
    std::fprintf(stderr, "drc_bench: ezone catch-up, %lld rows\n", (long long)o.catchup_rows);
    auto f = bench.restart_apply(o.catchup_rows, 1);
    if (!f) report.failed("ezone catch-up", f.status());
    else out["catchup"] = to_json(*f);
  }
  return out;  // nodes stop and the temp dir goes here
}

json run_pg(const Options& o, Report& report) {
  json out = {{"apply", json::array()}, {"lag", json::array()}};
  PgPairOptions po;
  po.work_dir = o.work_dir;
  po.subscriber_synchronous_commit = o.pg_sub_sync_commit;
  po.payload_bytes = o.payload_bytes;
  po.apply_timeout_ms = o.timeout_s * 1000;
  po.cancel = &g_cancel;
  po.log = [](const std::string& line) { std::fprintf(stderr, "drc_bench: pg: %s\n", line.c_str()); };
  auto pair = PgReplicationPair::start(po);
  if (!pair) {
    report.failed("PostgreSQL start", pair.status());
    return out;
  }
  out["describe"] = (*pair)->describe();
  std::vector<std::pair<int64_t, int>> applies;
  if (o.single_rows > 0) applies.push_back({o.single_rows, 1});
  if (o.batch_rows > 0) applies.push_back({o.batch_rows, o.batch_size});
  for (auto [rows, per_tx] : applies) {
    if (g_cancel) return out;
    auto f = (*pair)->measure_apply(rows, per_tx, 1);
    if (!f) report.failed("PostgreSQL apply", f.status());
    else out["apply"].push_back(to_json(*f));
  }
  for (double rate : o.rates) {
    if (g_cancel || !(o.duration_s > 0)) break;
    auto f = (*pair)->measure_lag(rate, o.duration_s, 16);
    if (!f) report.failed("PostgreSQL lag", f.status());
    else out["lag"].push_back(to_json(*f));
  }
  if (o.catchup_rows > 0 && !g_cancel) {
    auto f = (*pair)->measure_catchup(o.catchup_rows, 1, 1);
    if (!f) report.failed("PostgreSQL catch-up", f.status());
    else out["catchup"] = to_json(*f);
  }
  return out;  // the pair stops its servers and removes its temp dir here
}

// The cluster-TLS run's figures over the plain run's: apply and catch-up
// rows/s (higher is better) and lag p99 (lower is better), by workload.
json tls_ratios(const json& plain, const json& tls) {
  auto ratio = [](const json& a, const json& b, const char* key) -> json {
    const double x = a.value(key, 0.0), y = b.value(key, 0.0);
    return x > 0 ? json(std::round(y / x * 1000) / 1000) : json();
  };
  json out = {{"apply", json::array()}, {"lag_p99", json::array()}};
  for (size_t i = 0; i < plain["apply"].size() && i < tls["apply"].size(); ++i)
    out["apply"].push_back({{"rows_per_tx", plain["apply"][i].value("rows_per_tx", 0)},
                            {"rows_per_s", ratio(plain["apply"][i], tls["apply"][i], "apply_rows_per_s")}});
  for (size_t i = 0; i < plain["lag"].size() && i < tls["lag"].size(); ++i)
    out["lag_p99"].push_back({{"offered_per_s", plain["lag"][i].value("offered_per_s", 0.0)},
                              {"ratio", ratio(plain["lag"][i], tls["lag"][i], "lag_p99_ms")}});
  if (plain.contains("catchup") && tls.contains("catchup"))
    out["catchup_rows_per_s"] = ratio(plain["catchup"], tls["catchup"], "apply_rows_per_s");
  return out;
}

int main_impl(int argc, char** argv) {
  auto options = parse_drc_bench_options(argc, argv);
  if (!options) {
    if (!options.status().message().empty()) std::fprintf(stderr, "drc_bench: %s\n", options.status().message().c_str());
    std::fputs(kDrcBenchUsage, stderr);
    return 2;
  }
  const Options& o = *options;
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) sigaction(sig, &sa, nullptr);
  spdlog::set_level(o.verbose ? spdlog::level::info : spdlog::level::warn);

  json out = {{"bench", "drc"},
              {"params",
               {{"single_rows", o.single_rows}, {"batch_rows", o.batch_rows}, {"batch_size", o.batch_size},
                {"rates", o.rates}, {"duration_s", o.duration_s}, {"catchup_rows", o.catchup_rows},
                {"window", o.window}, {"payload_bytes", o.payload_bytes},
                {"ezone_synchronous", o.sync_full ? "full" : "normal"},
                {"pg_sub_synchronous_commit", o.pg_sub_sync_commit}, {"skip_pg", o.skip_pg}}}};
  Report report;
  std::printf("DRC replication: ezone (two Nodes, DRC over loopback TCP, synchronous=%s) against PostgreSQL 15\n",
              o.sync_full ? "FULL" : "NORMAL");
  Options plain = o;
  plain.cluster_tls_dir.clear();
  out["ezone"] = run_ezone(plain, report);
  print_ezone(out["ezone"]);
  print_lags("ezone", out["ezone"]["lag"]);
  std::fflush(stdout);
  if (!o.cluster_tls_dir.empty() && !g_cancel) {
    std::printf("\nThe same over a TLS cluster port ([tls] cluster = true, %s)\n", o.cluster_tls_dir.c_str());
    out["ezone_cluster_tls"] = run_ezone(o, report);
    print_ezone(out["ezone_cluster_tls"]);
    print_lags("ezone over TLS", out["ezone_cluster_tls"]["lag"]);
    out["tls_over_plain"] = tls_ratios(out["ezone"], out["ezone_cluster_tls"]);
    std::printf("\nTLS over plain: %s\n", out["tls_over_plain"].dump().c_str());
    out["errors"] = report.errors;
    std::printf("%s\n", out.dump().c_str());
    return report.ok ? 0 : 1;
  }
  out["pg"] = json::object();
  if (!o.skip_pg && !g_cancel) {
    out["pg"] = run_pg(o, report);
    std::printf("\nPostgreSQL: %s\n", out["pg"].value("describe", std::string("(did not start)")).c_str());
    print_pg(out["pg"]);
  }
  auto vs = verdicts(out["ezone"], out["pg"]);
  print_summary(vs);
  out["targets"] = verdicts_json(vs);
  if (g_cancel) report.failed("run", Status(Errc::unavailable, "cancelled by a signal"));
  out["errors"] = report.errors;
  std::printf("%s\n", out.dump().c_str());
  return report.ok ? 0 : 1;
}

}  // namespace
}  // namespace ezone::drc

int main(int argc, char** argv) {
  try {
    return ezone::drc::main_impl(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "drc_bench: unexpected error: %s\n", e.what());
    return 1;
  }
}
