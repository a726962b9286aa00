// dal_apply_bench: the DAL's side of DRC apply in one process, without CAF
// or a network, to profile and iterate on (drc_bench is the real figure).
//
// Two DALs, bj and sh, in a temp dir. bj commits N rows in K-row
// transactions (the drc_bench table and payload); then sh applies them the
// way a DRC puller does: read a bounded batch from bj's outbox after sh's
// cursor, encode and decode it (the wire), apply it, until sh's cursor
// reaches bj's head. Prints the time split between reading, the wire and
// applying, and rows/s.
//
// Baseline, in the same run: plain SQLite (no DAL) inserting the same rows
// into the same table, in transactions of the size sh's applies had, with
// the same pragmas: once into the table alone, once with a row-version row
// each (the DAL's _ezone_rowver and key). It is the ceiling of any apply
// that keeps a version per row in SQLite on this machine.
//
//   dal_apply_bench [--rows 200000] [--per-tx 100] [--batch-rows 2000]
//                   [--batch-bytes 4194304] [--sync full|normal] [--window 256]
//                   [--pause-ms 0]   (between writing and applying, to attach perf)
#include <stdlib.h>
#include <sys/resource.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>

#include <sqlite3.h>

#include "core/clock.hpp"
#include "core/hlc.hpp"
#include "storage/dal/change_record.hpp"
#include "storage/dal/dal.hpp"

namespace {

using namespace ezone;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// CPU time of the whole process (every thread), in microseconds: less
// sensitive than wall time to other work on a shared machine.
int64_t cpu_us() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return (int64_t(r.ru_utime.tv_sec) + r.ru_stime.tv_sec) * 1000000 + r.ru_utime.tv_usec + r.ru_stime.tv_usec;
}

struct Options {
  int64_t rows = 200000;
  int64_t per_tx = 100;
  size_t batch_rows = 2000;
  size_t batch_bytes = 4u << 20;
  bool sync_full = true;
  int window = 256;
  int64_t pause_ms = 0;  // between writing and applying (to attach a profiler)
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], v = argv[i + 1];
    if (flag == "--rows") o.rows = std::atoll(v.c_str());
    else if (flag == "--per-tx") o.per_tx = std::atoll(v.c_str());
    else if (flag == "--batch-rows") o.batch_rows = size_t(std::atoll(v.c_str()));
    else if (flag == "--batch-bytes") o.batch_bytes = size_t(std::atoll(v.c_str()));
    else if (flag == "--sync") o.sync_full = v == "full";
    else if (flag == "--window") o.window = std::atoi(v.c_str());
    else if (flag == "--pause-ms") o.pause_ms = std::atoll(v.c_str());
    else return false;
  }
  return argc % 2 == 1 && o.rows > 0 && o.per_tx > 0 && o.window > 0;
}

Result<data::Schema> schema() {
  data::TableSpec t;
  t.name = "rows";
  t.kind = data::TableKind::sharding;
  t.shard_column = "shard";
  t.ddl = "CREATE TABLE rows(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, payload TEXT NOT NULL, "
          "created_at_us INTEGER NOT NULL)";
  return data::Schema::create({t});
}

Result<std::unique_ptr<dal::Dal>> open_site(const std::string& ezone, const std::string& dir, bool sync_full,
                                            dal::GateSource gate, HybridClock& clock) {
  dal::DalConfig c;
  c.ezone = ezone;
  c.path = dir + "/" + ezone + ".db";
  c.synchronous_full = sync_full;
  auto s = schema();
  if (!s) return s.status();
  return dal::Dal::open(c, std::move(s).value(), std::move(gate), clock);
}

Status write_rows(dal::Dal& bj, const Options& o) {
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  std::string error;
  const std::string payload(100, 'p');
  for (int64_t id = 1; id <= o.rows; id += o.per_tx) {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return in_flight < o.window; });
    ++in_flight;
    lock.unlock();
    const int64_t last = std::min(o.rows, id + o.per_tx - 1);
    bj.submit({ShardId(1), 1},
              [=](dal::Tx& tx) -> Status {
                for (int64_t i = id; i <= last; ++i) {
                  auto r = tx.exec("INSERT INTO rows(id, shard, payload, created_at_us) VALUES(?1, ?2, ?3, ?4)",
                                   {i, int64_t(1), payload, int64_t(0)});
                  if (!r) return r.status();
                }
                return Status::ok();
              },
              [&](dal::TxOutcome out) {
                std::lock_guard<std::mutex> g(mu);
                --in_flight;
                if (!out.ok() && error.empty()) error = out.status.to_string();
                cv.notify_all();
              });
  }
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return in_flight == 0; });
  return error.empty() ? Status::ok() : Status(Errc::internal, error);
}

// Rows/s of plain SQLite inserting ids 1..rows (the bench's row) in
// transactions of rows_per_commit, with or without a version row each.
Result<double> plain_sqlite_rows_per_s(const std::string& path, int64_t rows, int64_t rows_per_commit,
                                       bool sync_full, bool versions) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) {
    sqlite3_close(db);
    return Status(Errc::io_error, "open " + path);
  }
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> owner(db, sqlite3_close);
  auto exec = [db](const std::string& sql) -> Status {
    char* err = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) == SQLITE_OK) return Status::ok();
    Status s(Errc::io_error, sql + ": " + (err ? err : "?"));
    sqlite3_free(err);
    return s;
  };
  for (const std::string& sql :
       {std::string("PRAGMA journal_mode=WAL; PRAGMA synchronous=") + (sync_full ? "FULL" : "NORMAL") +
            "; PRAGMA cache_size=-65536; PRAGMA mmap_size=268435456;",
        std::string("CREATE TABLE rows(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, payload TEXT NOT NULL, "
                    "created_at_us INTEGER NOT NULL)"),
        std::string("CREATE TABLE rowver(tbl TEXT NOT NULL, key BLOB NOT NULL, hlc INTEGER NOT NULL, "
                    "origin TEXT NOT NULL, deleted INTEGER NOT NULL, PRIMARY KEY(tbl, key)) WITHOUT ROWID")}) {
    if (Status s = exec(sql); !s) return s;
  }
  sqlite3_stmt *row = nullptr, *ver = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO rows(id, shard, payload, created_at_us) VALUES(?1, ?2, ?3, ?4) "
                         "ON CONFLICT(id) DO UPDATE SET shard=excluded.shard, payload=excluded.payload, "
                         "created_at_us=excluded.created_at_us", -1, &row, nullptr);
  sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO rowver(tbl, key, hlc, origin, deleted) VALUES(?1, ?2, ?3, ?4, ?5)",
                     -1, &ver, nullptr);
  std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> row_owner(row, sqlite3_finalize), ver_owner(ver, sqlite3_finalize);
  if (!row || !ver) return Status(Errc::internal, sqlite3_errmsg(db));
  const std::string payload(100, 'p');
  const int64_t t0 = now_us();
  for (int64_t id = 1; id <= rows;) {
    if (Status s = exec("BEGIN IMMEDIATE"); !s) return s;
    for (const int64_t end = std::min(rows, id + rows_per_commit - 1); id <= end; ++id) {
      if (versions) {
        const std::string key = dal::encode_key({dal::Value(id)});
        sqlite3_bind_text(ver, 1, "rows", 4, SQLITE_STATIC);
        sqlite3_bind_blob(ver, 2, key.data(), int(key.size()), SQLITE_STATIC);
        sqlite3_bind_int64(ver, 3, id);
        sqlite3_bind_text(ver, 4, "bj", 2, SQLITE_STATIC);
        sqlite3_bind_int(ver, 5, 0);
        if (sqlite3_step(ver) != SQLITE_DONE) return Status(Errc::io_error, sqlite3_errmsg(db));
        sqlite3_reset(ver);
      }
      sqlite3_bind_int64(row, 1, id);
      sqlite3_bind_int64(row, 2, 1);
      sqlite3_bind_text(row, 3, payload.data(), int(payload.size()), SQLITE_STATIC);
      sqlite3_bind_int64(row, 4, 0);
      if (sqlite3_step(row) != SQLITE_DONE) return Status(Errc::io_error, sqlite3_errmsg(db));
      sqlite3_reset(row);
    }
    if (Status s = exec("COMMIT"); !s) return s;
  }
  return double(rows) * 1e6 / double(now_us() - t0);
}

int run(const Options& o) {
  char tmpl[] = "/tmp/ezone-dal-apply-bench-XXXXXX";
  if (!mkdtemp(tmpl)) return 1;
  const std::string dir = tmpl;
  HybridClock clock_bj(SystemClock::instance()), clock_sh(SystemClock::instance());
  auto routes = RouteTable::create(1, {{1, "one", "bj", ShardState::active}},
                                   {{"bj", {"127.0.0.1", 1}}, {"sh", {"127.0.0.1", 2}}});
  if (!routes) return std::fprintf(stderr, "%s\n", routes.status().to_string().c_str()), 1;
  auto table = std::make_shared<const RouteTable>(std::move(routes).value());
  auto gate = [table] { return dal::WriteGate{table, true, ""}; };
  int rc = 0;
  {
    auto bj = open_site("bj", dir, o.sync_full, gate, clock_bj);
    auto sh = open_site("sh", dir, o.sync_full, gate, clock_sh);
    if (!bj || !sh) {
      std::fprintf(stderr, "open: %s %s\n", bj.status().to_string().c_str(), sh.status().to_string().c_str());
      return 1;
    }
    const int64_t w0 = now_us();
    if (Status s = write_rows(*bj.value(), o); !s) return std::fprintf(stderr, "write: %s\n", s.to_string().c_str()), 1;
    const int64_t w1 = now_us();
    const uint64_t head = bj.value()->outbox_head();
    std::fprintf(stderr, "dal_apply_bench: written; applying\n");
    if (o.pause_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(o.pause_ms));
    int64_t read_us = 0, wire_us = 0, apply_us = 0, batches = 0, rows = 0;
    uint64_t cursor = 0;
    const int64_t t0 = now_us(), cpu0 = cpu_us();
    while (cursor < head) {
      const int64_t a = now_us();
      auto batch = bj.value()->read_outbox(cursor, o.batch_rows, o.batch_bytes);
      const int64_t b = now_us();
      if (!batch) return std::fprintf(stderr, "read: %s\n", batch.status().to_string().c_str()), 1;
      auto wire = dal::decode_batch(dal::encode_batch(batch.value()));
      const int64_t c = now_us();
      if (!wire) return std::fprintf(stderr, "wire: %s\n", wire.status().to_string().c_str()), 1;
      auto report = sh.value()->apply(wire.value());
      const int64_t d = now_us();
      if (!report) return std::fprintf(stderr, "apply: %s\n", report.status().to_string().c_str()), 1;
      cursor = report.value().cursor;
      rows += int64_t(report.value().rows);
      read_us += b - a, wire_us += c - b, apply_us += d - c, ++batches;
    }
    const int64_t t1 = now_us(), cpu1 = cpu_us();
    std::printf("rows %lld in %lld-row tx, sync %s: bj wrote %.0f rows/s; sh applied %lld rows in %lld batches: "
                "%.0f rows/s (read %.0f ms, wire %.0f ms, apply %.0f ms; cpu %.0f ms, %.0f rows per cpu-s)\n",
                (long long)o.rows, (long long)o.per_tx, o.sync_full ? "full" : "normal",
                double(o.rows) * 1e6 / double(w1 - w0), (long long)rows, (long long)batches,
                double(rows) * 1e6 / double(t1 - t0), read_us / 1e3, wire_us / 1e3, apply_us / 1e3,
                (cpu1 - cpu0) / 1e3, double(rows) * 1e6 / double(cpu1 - cpu0));
    rc = rows == o.rows ? 0 : 1;
    // bj trims what sh applied, as the DRC does once every peer applied it
    // (bounded transactions, at most kTrimEntriesPerCall a call).
    const int64_t trim0 = now_us();
    uint64_t trimmed = 0;
    for (;;) {
      auto n = bj.value()->trim_outbox(head);
      if (!n) return std::fprintf(stderr, "trim: %s\n", n.status().to_string().c_str()), 1;
      trimmed += n.value();
      if (n.value() < dal::kTrimEntriesPerCall) break;
    }
    const int64_t trim_us = std::max<int64_t>(1, now_us() - trim0);
    std::printf("bj trimmed %llu outbox entries (%lld rows) in %.0f ms\n", (unsigned long long)trimmed,
                (long long)o.rows, trim_us / 1e3);
    bj.value().reset();
    sh.value().reset();
    const int64_t per_commit = std::max<int64_t>(1, rows / std::max<int64_t>(1, batches));
    auto table_only = plain_sqlite_rows_per_s(dir + "/plain.db", o.rows, per_commit, o.sync_full, false);
    auto with_versions = plain_sqlite_rows_per_s(dir + "/plain-versions.db", o.rows, per_commit, o.sync_full, true);
    if (!table_only || !with_versions) {
      std::fprintf(stderr, "baseline: %s %s\n", table_only.status().to_string().c_str(),
                   with_versions.status().to_string().c_str());
      return 1;
    }
    const double applied = double(rows) * 1e6 / double(t1 - t0);
    std::printf("baseline, plain SQLite, the same rows in %lld-row transactions: table alone %.0f rows/s; "
                "with a version row each %.0f rows/s; sh's apply is %.2fx and %.2fx of them\n",
                (long long)per_commit, table_only.value(), with_versions.value(), applied / table_only.value(),
                applied / with_versions.value());
    std::printf("{\"bench\":\"dal_apply\",\"rows\":%lld,\"rows_per_tx\":%lld,\"sync\":\"%s\","
                "\"writer_rows_per_s\":%.0f,\"apply_rows_per_s\":%.0f,\"apply_rows_per_cpu_s\":%.0f,"
                "\"baseline\":{\"kind\":\"plain SQLite, same rows and commit sizes\",\"rows_per_commit\":%lld,"
                "\"table_only_rows_per_s\":%.0f,\"with_versions_rows_per_s\":%.0f},"
                "\"ratio_to_table_only\":%.3f,\"ratio_to_with_versions\":%.3f,\"trim_entries_per_s\":%.0f}\n",
                (long long)o.rows, (long long)o.per_tx, o.sync_full ? "full" : "normal",
                double(o.rows) * 1e6 / double(w1 - w0), applied, double(rows) * 1e6 / double(cpu1 - cpu0),
                (long long)per_commit, table_only.value(), with_versions.value(), applied / table_only.value(),
                applied / with_versions.value(), double(trimmed) * 1e6 / double(trim_us));
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: dal_apply_bench [--rows N] [--per-tx K] [--batch-rows N] [--batch-bytes N] "
                 "[--sync full|normal] [--window N] [--pause-ms N]\n");
    return 2;
  }
  return run(o);
}
