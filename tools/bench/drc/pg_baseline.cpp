#include "tools/bench/drc/pg_baseline.hpp"

#include <libpq-fe.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "tools/bench/drc/pg_cluster.hpp"
#include "tools/bench/drc/pg_conn.hpp"

namespace ezone::drc {

using pg::Cluster;
using pg::Conn;
using pg::conninfo;
using pg::connect;
using pg::errno_text;
using pg::exec_sql;
using pg::fs_type;
using pg::insert_range;
using pg::int_at;
using pg::reap_guard;
using pg::Res;
using pg::run_sql;
using pg::run_threads;
using pg::server_identity;
using pg::start_guard;
using pg::steady_us;
using pg::tail_of;
using pg::trimmed;

namespace {

namespace fs = std::filesystem;

constexpr int kPollMs = 5;            // subscriber polling while waiting for a row
constexpr int kLateSendUs = 1'000;    // a paced send this far past its slot is "late"

// The writer's INSERT: rows first..last in one statement, so one statement
// is one transaction of (last - first + 1) rows.
constexpr const char* kInsert =
    "INSERT INTO rows (id, shard, payload, created_at_us) "
    "SELECT g, (g % 64)::int, $3, $4 FROM generate_series($1::bigint, $2::bigint) AS g";

int64_t realtime_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1'000;
}

void sleep_until_steady_us(int64_t t_us) {
  timespec ts{};
  ts.tv_sec = t_us / 1'000'000;
  ts.tv_nsec = (t_us % 1'000'000) * 1'000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

// Nearest-rank percentile of sorted microseconds, in milliseconds.
double percentile_ms(const std::vector<int64_t>& sorted_us, double p) {
  if (sorted_us.empty()) return 0;
  size_t rank = size_t(std::ceil(p * double(sorted_us.size())));
  size_t index = std::min(sorted_us.size() - 1, rank == 0 ? 0 : rank - 1);
  return double(sorted_us[index]) / 1000.0;
}

struct Window {
  int64_t count = 0;
  int64_t first_applied_us = 0;
  int64_t last_applied_us = 0;
};

}  // namespace

// ---- the pair --------------------------------------------------------------

struct PgReplicationPair::Impl {
  PgPairOptions options;
  pg::Identity identity;
  std::string dir;
  Cluster pub, sub;
  pid_t guard_pid = -1;
  int guard_fd = -1;
  Conn pub_conn, sub_conn;
  int64_t next_id = 1;
  std::string version;
  std::string payload;

  ~Impl() { teardown(); }

  void note(const std::string& line) const {
    if (options.log) options.log(line);
  }
  bool cancelled() const { return options.cancel && options.cancel->load(); }
  std::string bin(const char* name) const { return options.bin_dir + "/" + name; }
  pg::Servers servers() const { return {options, identity, dir}; }

  Status setup();
  Status make_dir();
  Status create_schema();
  Status set_subscription_enabled(bool enabled);
  Status wait_applied(int64_t id, int timeout_ms, const std::string& what);
  Result<Window> applied_window(int64_t first, int64_t end);
  Status reset();
  Result<Conn> writer_connection();
  Result<double> write_bulk(int64_t first_id, int64_t rows, int rows_per_tx, int writers);
  Status commit_marker(int64_t id);
  void teardown() noexcept;
};

Status PgReplicationPair::Impl::setup() {
  for (const char* tool : {"initdb", "pg_ctl", "postgres"})
    if (access(bin(tool).c_str(), X_OK) != 0)
      return Status(Errc::not_found, bin(tool) + " not found: install PostgreSQL 15 (apt-get install -y postgresql)");
  payload.assign(size_t(std::max(0, options.payload_bytes)), 'x');
  if (Status s = make_dir(); !s) return s;
  for (Cluster* c : {&pub, &sub})
    if (Status s = servers().init_cluster(*c); !s) return s;
  for (Cluster* c : {&pub, &sub})
    if (Status s = servers().start_cluster(*c); !s) return s;
  auto p = connect(pub.port, options.statement_timeout_ms);
  if (!p) return p.status();
  pub_conn = std::move(*p);
  auto s = connect(sub.port, options.statement_timeout_ms);
  if (!s) return s.status();
  sub_conn = std::move(*s);
  auto v = run_sql(pub_conn.get(), "SHOW server_version");
  if (!v) return v.status();
  version = PQgetvalue(v->get(), 0, 0);
  if (Status st = create_schema(); !st) return st;
  // One row across proves the subscription works before anything is timed.
  int64_t id = next_id++;
  if (Status st = commit_marker(id); !st) return st;
  return wait_applied(id, options.start_timeout_ms, "the first row after CREATE SUBSCRIPTION");
}

Status PgReplicationPair::Impl::make_dir() {
  std::string base = options.work_dir;
  if (base.empty()) base = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::string templ = base + "/ezone-pg-XXXXXX";
  if (!mkdtemp(templ.data())) return Status(Errc::io_error, "cannot make a temp dir under " + base + ": " + errno_text());
  dir = templ;
  // The guard comes first so that everything after it is cleaned up even
  // if this process is killed.
  if (Status s = start_guard(dir, &guard_pid, &guard_fd); !s) return s;
  auto who = server_identity(options.os_user, dir + "/useradd.log");
  if (!who) return who.status();
  identity = *who;
  if (identity.drop && chown(dir.c_str(), identity.uid, identity.gid) != 0)
    return Status(Errc::io_error, "chown " + dir + " to " + identity.name + ": " + errno_text());
  pub = {"pub", dir + "/pub", dir + "/pub.log", 0};
  sub = {"sub", dir + "/sub", dir + "/sub.log", 0};
  return Status::ok();
}

Status PgReplicationPair::Impl::create_schema() {
  const std::string columns =
      "id bigint PRIMARY KEY, shard int NOT NULL, payload text NOT NULL, created_at_us bigint NOT NULL";
  for (const std::string& sql : {"CREATE TABLE rows (" + columns + ")",
                                 std::string("CREATE PUBLICATION drc_pub FOR TABLE rows WITH (publish = 'insert')")})
    if (Status s = exec_sql(pub_conn.get(), sql); !s) return s;
  if (Status s = exec_sql(sub_conn.get(), "CREATE TABLE rows (" + columns +
                                              ", applied_at timestamptz NOT NULL DEFAULT clock_timestamp())");
      !s)
    return s;
  std::string sync = options.subscriber_synchronous_commit ? "on" : "off";
  return exec_sql(sub_conn.get(), "CREATE SUBSCRIPTION drc_sub CONNECTION '" + conninfo(pub.port) +
                                      "' PUBLICATION drc_pub WITH (copy_data = false, synchronous_commit = '" +
                                      sync + "')");
}

Status PgReplicationPair::Impl::set_subscription_enabled(bool enabled) {
  if (Status s = exec_sql(sub_conn.get(), std::string("ALTER SUBSCRIPTION drc_sub ") + (enabled ? "ENABLE" : "DISABLE"));
      !s)
    return s;
  if (enabled) return Status::ok();
  // DISABLE returns before the apply worker exits; writes made before it
  // has gone would be applied while "disabled".
  const int64_t deadline = steady_us() + int64_t(options.start_timeout_ms) * 1'000;
  for (;;) {
    auto r = run_sql(sub_conn.get(),
                     "SELECT count(*) FROM pg_stat_subscription WHERE subname = 'drc_sub' AND pid IS NOT NULL");
    if (!r) return r.status();
    if (int_at(r->get(), 0, 0) == 0) return Status::ok();
    if (steady_us() > deadline)
      return Status(Errc::timeout, "the apply worker did not exit within " + std::to_string(options.start_timeout_ms) +
                                       " ms of ALTER SUBSCRIPTION DISABLE");
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

Status PgReplicationPair::Impl::wait_applied(int64_t id, int timeout_ms, const std::string& what) {
  const int64_t deadline = steady_us() + int64_t(timeout_ms) * 1'000;
  for (;;) {
    if (cancelled()) return Status(Errc::unavailable, "cancelled");
    auto r = run_sql(sub_conn.get(), "SELECT 1 FROM rows WHERE id = $1", {std::to_string(id)});
    if (!r) return r.status();
    if (PQntuples(r->get()) > 0) return Status::ok();
    if (steady_us() > deadline)
      return Status(Errc::timeout, "the subscriber did not apply row " + std::to_string(id) + " (" + what +
                                       ") within " + std::to_string(timeout_ms) + " ms; subscriber log: " +
                                       tail_of(sub.log, 800));
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

Result<Window> PgReplicationPair::Impl::applied_window(int64_t first, int64_t end) {
  auto r = run_sql(sub_conn.get(),
                   "SELECT count(*), (extract(epoch FROM min(applied_at)) * 1000000)::bigint, "
                   "(extract(epoch FROM max(applied_at)) * 1000000)::bigint FROM rows WHERE id >= $1 AND id < $2",
                   {std::to_string(first), std::to_string(end)});
  if (!r) return r.status();
  Window w{int_at(r->get(), 0, 0), int_at(r->get(), 0, 1), int_at(r->get(), 0, 2)};
  if (w.count != end - first)
    return Status(Errc::internal, "the subscriber has " + std::to_string(w.count) + " of the " +
                                      std::to_string(end - first) + " rows after the marker committed later arrived");
  return w;
}

Status PgReplicationPair::Impl::reset() {
  // publish = 'insert': a TRUNCATE stays on its own side.
  for (PGconn* c : {pub_conn.get(), sub_conn.get()})
    if (Status s = exec_sql(c, "TRUNCATE rows"); !s) return s;
  return Status::ok();
}

Result<Conn> PgReplicationPair::Impl::writer_connection() {
  auto c = connect(pub.port, options.statement_timeout_ms);
  if (!c) return c.status();
  Res r(PQprepare(c->get(), "ins", kInsert, 4, nullptr));
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK)
    return Status(Errc::io_error, "cannot prepare the insert: " + trimmed(PQerrorMessage(c->get())));
  return c;
}

// Commits rows [first_id, first_id + rows) in rows_per_tx transactions over
// `writers` connections; returns the seconds it took (connections excluded).
Result<double> PgReplicationPair::Impl::write_bulk(int64_t first_id, int64_t rows, int rows_per_tx, int writers) {
  std::vector<Conn> conns;
  for (int i = 0; i < writers; ++i) {
    auto c = writer_connection();
    if (!c) return c.status();
    conns.push_back(std::move(*c));
  }
  const int64_t txs = (rows + rows_per_tx - 1) / rows_per_tx;
  std::atomic<int64_t> next_tx{0};
  std::atomic<bool> failed{false};
  const int64_t t0 = steady_us();
  Status s = run_threads(writers, [&](int w) -> Status {
    for (int64_t tx = next_tx++; tx < txs && !failed; tx = next_tx++) {
      if (cancelled()) return Status(Errc::unavailable, "cancelled");
      int64_t first = first_id + tx * rows_per_tx;
      int64_t last = std::min(first + rows_per_tx, first_id + rows) - 1;
      if (Status st = insert_range(conns[size_t(w)].get(), first, last, payload, realtime_us()); !st) {
        failed = true;
        return st;
      }
    }
    return Status::ok();
  });
  if (!s) return s;
  return double(steady_us() - t0) / 1e6;
}

// A single-row transaction committed after everything before it: when the
// subscriber has it, it has every earlier commit (one apply worker applies
// in the publisher's commit order).
Status PgReplicationPair::Impl::commit_marker(int64_t id) {
  return exec_sql(pub_conn.get(),
                  "INSERT INTO rows (id, shard, payload, created_at_us) VALUES ($1, 0, 'marker', $2)",
                  {std::to_string(id), std::to_string(realtime_us())});
}

void PgReplicationPair::Impl::teardown() noexcept {
  try {
    pub_conn.reset();
    sub_conn.reset();
    for (Cluster* c : {&sub, &pub})
      if (Status s = servers().stop_cluster(*c); !s) note("stopping " + c->name + ": " + s.to_string());
    if (!dir.empty()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
      if (ec) note("cannot remove " + dir + ": " + ec.message());
    }
  } catch (...) {
    // A destructor must not throw; the guard still removes what is left.
  }
  reap_guard(guard_pid, guard_fd);
  guard_pid = -1;
  guard_fd = -1;
}

// ---- public ----------------------------------------------------------------

PgReplicationPair::PgReplicationPair(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgReplicationPair::~PgReplicationPair() = default;

Result<std::unique_ptr<PgReplicationPair>> PgReplicationPair::start(PgPairOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  if (Status s = impl->setup(); !s) return s;  // ~Impl cleans up
  return std::unique_ptr<PgReplicationPair>(new PgReplicationPair(std::move(impl)));
}

std::string PgReplicationPair::describe() const {
  const Impl& m = *impl_;
  return "PostgreSQL " + m.version + ", publisher 127.0.0.1:" + std::to_string(m.pub.port) +
         ", subscriber 127.0.0.1:" + std::to_string(m.sub.port) + ", data in " + m.dir + " (" + fs_type(m.dir) +
         "), fsync=on, synchronous_commit=on, subscription synchronous_commit=" +
         (m.options.subscriber_synchronous_commit ? "on" : "off") +
         (m.identity.drop ? ", servers run as " + m.identity.name : "");
}

Result<ApplyFigures> PgReplicationPair::measure_apply(int64_t rows, int rows_per_tx, int writers) {
  Impl& m = *impl_;
  if (rows < 1 || rows_per_tx < 1 || writers < 1)
    return Status(Errc::invalid_argument, "measure_apply needs rows, rows_per_tx and writers >= 1");
  if (Status s = m.reset(); !s) return s;
  if (Status s = m.set_subscription_enabled(false); !s) return s;
  const int64_t first = m.next_id, marker = first + rows;
  m.next_id = marker + 1;
  m.note("apply: subscription disabled, committing " + std::to_string(rows) + " rows in " +
         std::to_string(rows_per_tx) + "-row transactions");
  auto seconds = m.write_bulk(first, rows, rows_per_tx, writers);
  if (!seconds) return seconds.status();
  if (Status s = m.commit_marker(marker); !s) return s;
  m.note("apply: enabling the subscription");
  const int64_t enabled_us = realtime_us();
  if (Status s = m.set_subscription_enabled(true); !s) return s;
  if (Status s = m.wait_applied(marker, m.options.apply_timeout_ms, "apply workload"); !s) return s;
  auto w = m.applied_window(first, marker);
  if (!w) return w.status();
  ApplyFigures f;
  f.rows = rows;
  f.rows_per_tx = rows_per_tx;
  f.writers = writers;
  f.publisher_rows_per_s = double(rows) / *seconds;
  f.publisher_tx_per_s = std::ceil(double(rows) / rows_per_tx) / *seconds;
  f.startup_ms = double(w->first_applied_us - enabled_us) / 1e3;
  f.apply_rows_per_s = double(rows) * 1e6 / double(std::max<int64_t>(1, w->last_applied_us - enabled_us));
  f.apply_steady_rows_per_s =
      double(rows) * 1e6 / double(std::max<int64_t>(1, w->last_applied_us - w->first_applied_us));
  return f;
}

Result<LagFigures> PgReplicationPair::measure_lag(double writes_per_s, double duration_s, int connections) {
  Impl& m = *impl_;
  if (!(writes_per_s > 0) || !(duration_s > 0) || connections < 1)
    return Status(Errc::invalid_argument, "measure_lag needs writes_per_s > 0, duration_s > 0, connections >= 1");
  if (Status s = m.reset(); !s) return s;
  if (Status s = m.set_subscription_enabled(true); !s) return s;
  // As for ezone (drc_bench), both servers start the lag run checkpointed,
  // so it does not pay for the writes of the workloads before it.
  for (PGconn* c : {m.pub_conn.get(), m.sub_conn.get()})
    if (Status s = exec_sql(c, "CHECKPOINT"); !s) return s;
  const int64_t rows = std::max<int64_t>(1, std::llround(writes_per_s * duration_s));
  const int64_t first = m.next_id, marker = first + rows;
  m.next_id = marker + 1;
  std::vector<Conn> conns;
  for (int i = 0; i < connections; ++i) {
    auto c = m.writer_connection();
    if (!c) return c.status();
    conns.push_back(std::move(*c));
  }
  m.note("lag: offering " + std::to_string(std::llround(writes_per_s)) + " single-row transactions/s for " +
         std::to_string(duration_s) + " s over " + std::to_string(connections) + " connections");
  // Row j is due at t0 + j / rate; whichever connection is free takes the
  // next due row. created_at_us is stamped when the row is sent.
  std::vector<std::vector<int64_t>> commit_us(static_cast<size_t>(connections));
  std::atomic<int64_t> next_row{0}, late{0}, last_commit_us{0};
  std::atomic<bool> failed{false};
  const int64_t t0 = steady_us() + 20'000;
  Status s = run_threads(connections, [&](int w) -> Status {
    for (int64_t j = next_row++; j < rows && !failed; j = next_row++) {
      if (m.cancelled()) return Status(Errc::unavailable, "cancelled");
      const int64_t due = t0 + std::llround(double(j) * 1e6 / writes_per_s);
      sleep_until_steady_us(due);
      const int64_t sent = steady_us();
      if (sent - due > kLateSendUs) ++late;
      if (Status st = insert_range(conns[size_t(w)].get(), first + j, first + j, m.payload, realtime_us()); !st) {
        failed = true;
        return st;
      }
      const int64_t done = steady_us();
      commit_us[size_t(w)].push_back(done - sent);
      for (int64_t prev = last_commit_us; done > prev && !last_commit_us.compare_exchange_weak(prev, done);) {
      }
    }
    return Status::ok();
  });
  if (!s) return s;
  if (Status st = m.commit_marker(marker); !st) return st;
  if (Status st = m.wait_applied(marker, m.options.apply_timeout_ms, "lag workload"); !st) return st;
  auto r = run_sql(m.sub_conn.get(),
                   "SELECT (extract(epoch FROM applied_at) * 1000000)::bigint - created_at_us FROM rows "
                   "WHERE id >= $1 AND id < $2",
                   {std::to_string(first), std::to_string(marker)});
  if (!r) return r.status();
  std::vector<int64_t> lags;
  for (int i = 0; i < PQntuples(r->get()); ++i) lags.push_back(int_at(r->get(), i, 0));
  if (int64_t(lags.size()) != rows)
    return Status(Errc::internal, "the subscriber has " + std::to_string(lags.size()) + " of " +
                                      std::to_string(rows) + " rows after the later marker arrived");
  std::vector<int64_t> commits;
  for (auto& v : commit_us) commits.insert(commits.end(), v.begin(), v.end());
  std::sort(lags.begin(), lags.end());
  std::sort(commits.begin(), commits.end());
  LagFigures f;
  f.offered_per_s = writes_per_s;
  f.achieved_per_s = double(rows) * 1e6 / double(std::max<int64_t>(1, last_commit_us - t0));
  f.connections = connections;
  f.rows = rows;
  f.late_sends = late;
  f.lag_p50_ms = percentile_ms(lags, 0.50);
  f.lag_p99_ms = percentile_ms(lags, 0.99);
  f.lag_max_ms = percentile_ms(lags, 1.0);
  f.commit_p50_ms = percentile_ms(commits, 0.50);
  f.commit_p99_ms = percentile_ms(commits, 0.99);
  return f;
}

Result<CatchupFigures> PgReplicationPair::measure_catchup(int64_t rows, int rows_per_tx, int writers) {
  Impl& m = *impl_;
  if (rows < 1 || rows_per_tx < 1 || writers < 1)
    return Status(Errc::invalid_argument, "measure_catchup needs rows, rows_per_tx and writers >= 1");
  if (Status s = m.reset(); !s) return s;
  if (Status s = m.set_subscription_enabled(true); !s) return s;
  const int64_t first = m.next_id, marker = first + rows;
  m.next_id = marker + 1;
  m.sub_conn.reset();
  if (Status s = m.servers().stop_cluster(m.sub); !s) return s;
  m.note("catch-up: subscriber down, committing " + std::to_string(rows) + " rows in " +
         std::to_string(rows_per_tx) + "-row transactions");
  auto seconds = m.write_bulk(first, rows, rows_per_tx, writers);
  if (!seconds) return seconds.status();
  if (Status s = m.commit_marker(marker); !s) return s;
  const int64_t start_us = realtime_us();
  if (Status s = m.servers().start_cluster(m.sub); !s) return s;
  const int64_t ready_us = realtime_us();
  auto c = connect(m.sub.port, m.options.statement_timeout_ms);
  if (!c) return c.status();
  m.sub_conn = std::move(*c);
  if (Status s = m.wait_applied(marker, m.options.apply_timeout_ms, "catch-up workload"); !s) return s;
  auto w = m.applied_window(first, marker);
  if (!w) return w.status();
  CatchupFigures f;
  f.rows = rows;
  f.rows_per_tx = rows_per_tx;
  f.writers = writers;
  f.publisher_rows_per_s = double(rows) / *seconds;
  f.restart_ms = double(ready_us - start_us) / 1e3;
  f.startup_ms = double(w->first_applied_us - ready_us) / 1e3;
  f.catchup_rows_per_s = double(rows) * 1e6 / double(std::max<int64_t>(1, w->last_applied_us - ready_us));
  f.catchup_steady_rows_per_s =
      double(rows) * 1e6 / double(std::max<int64_t>(1, w->last_applied_us - w->first_applied_us));
  return f;
}

}  // namespace ezone::drc
