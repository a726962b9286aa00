// reseed_bench: how long `ezoned --reseed-from` takes to replace a lost
// database by a copy of a peer's, against copying the same database file.
//
// One site (ezone bj, cache_bench's orders table) with --rows orders in a
// temp dir, serving its copies through the admin API's snapshot endpoints
// (an HttpServer on loopback with handle_snapshot_admin). Each of --runs
// rounds:
//   1. reseed: reseed_from_peer() for ezone sh from bj, as the CLI runs it:
//      the copy at bj (VACUUM INTO on a reader), the download in 4 MiB
//      pieces with its CRC-32C, adopt_seed, the fsync and the rename; timed
//      whole and at the end of each phase (copy made, downloaded, adopted);
//   2. baseline: bj's database file copied with std::filesystem::copy_file
//      plus an fsync (after a checkpoint, nothing in the WAL): the floor of
//      any re-seed that moves the bytes once, with no consistency, no
//      checksum and no rewrite.
// The re-seeded database is checked (its orders count). The last line is
// one JSON object: medians of each, and their ratio.
//
//   reseed_bench [--rows 500000] [--runs 3]
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actors/http/http_server.hpp"
#include "actors/node/admin_snapshot.hpp"
#include "actors/node/reseed.hpp"
#include "storage/dal/snapshot_store.hpp"
#include "storage/dal/sqlite_db.hpp"
#include "tools/bench/cache/cache_bench_site.hpp"

namespace ezone::reseed_bench {
namespace {

using Clock = std::chrono::steady_clock;
using cache_bench::median;
using cache_bench::parse_flag;
using cache_bench::seconds_since;


struct Round {
  double reseed_s = 0, copy_made_s = 0, downloaded_s = 0, adopted_s = 0, baseline_s = 0;
};

Status copy_baseline(const std::string& from, const std::string& to) {
  std::error_code ec;
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing, ec);
  if (ec) return Status(Errc::io_error, "copy_file: " + ec.message());
  const int fd = ::open(to.c_str(), O_RDONLY);
  if (fd < 0 || ::fsync(fd) != 0) return Status(Errc::io_error, "fsync of " + to);
  ::close(fd);
  return Status::ok();
}

Result<Round> one_round(const std::string& dir, int run, uint16_t admin_port, const std::string& source_db,
                        int64_t rows) {
  Round r;
  NodeConfig config;
  config.source = "reseed_bench";
  config.ezone = "sh";
  config.data_dir = dir + "/sh-" + std::to_string(run);
  config.dal.enabled = true;
  config.dal.db_file = config.data_dir + "/sh.db";
  config.peers.push_back({"bj", {"127.0.0.1", 1}, {"127.0.0.1", admin_port}, {"127.0.0.1", 1}});
  ReseedOptions options;
  options.peer = "bj";
  const Clock::time_point t0 = Clock::now();
  options.progress = [&](const std::string& line) {
    if (line.rfind("downloading", 0) == 0) r.copy_made_s = seconds_since(t0);
    if (line.rfind("downloaded", 0) == 0) r.downloaded_s = seconds_since(t0);
    if (line.rfind("adopted", 0) == 0) r.adopted_s = seconds_since(t0);
  };
  auto report = reseed_from_peer(config, options);
  r.reseed_s = seconds_since(t0);
  if (!report) return report.status();
  auto db = dal::Db::open(config.dal.db_file, true);
  if (!db) return db.status();
  auto n = db.value()->query("SELECT COUNT(*) FROM orders");
  if (!n || std::get<int64_t>(n.value()[0][0]) != rows) {
    return Status(Errc::internal, "the re-seeded database does not hold the " + std::to_string(rows) + " orders");
  }
  const Clock::time_point b0 = Clock::now();
  if (Status s = copy_baseline(source_db, dir + "/baseline.db"); !s) return s;
  r.baseline_s = seconds_since(b0);
  std::filesystem::remove_all(config.data_dir);
  std::filesystem::remove(dir + "/baseline.db");
  return r;
}

int run(int argc, char** argv) {
  int64_t rows = 500000, runs = 3;
  if (!parse_flag(argc, argv, "--rows", 1, 100000000, rows) || !parse_flag(argc, argv, "--runs", 1, 100, runs)) {
    std::fprintf(stderr, "usage: reseed_bench [--rows N] [--runs N]\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  char tmpl[] = "/tmp/ezone-reseed-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) return 1;
  const std::string dir = tmpl;
  int code = 1;
  {
    cache_bench::Site site;
    Status s = cache_bench::open_site(site, dir, false);
    if (s) s = cache_bench::load_rows(*site.dal, rows);
    if (s) s = site.dal->checkpoint();
    auto store = s ? dal::SnapshotStore::open(*site.dal, dir + "/copies", site.metrics, SystemClock::instance())
                   : Result<std::unique_ptr<dal::SnapshotStore>>(s);
    if (!store) {
      std::fprintf(stderr, "reseed_bench: %s\n", store.status().to_string().c_str());
      return 1;
    }
    dal::SnapshotStore* copies = store.value().get();
    HttpServerOptions http;
    http.name = "admin";
    http.config_key = "bench.admin";
    http.bind = {"127.0.0.1", 0};
    auto server = HttpServer::start(
        http,
        [copies](const HttpRequest& req) {
          return handle_snapshot_admin(copies, req).value_or(HttpResponse::error(404, "not here"));
        },
        site.metrics);
    if (!server) {
      std::fprintf(stderr, "reseed_bench: %s\n", server.status().to_string().c_str());
      return 1;
    }
    const std::string source_db = dir + "/bj.db";
    const double db_mb = static_cast<double>(std::filesystem::file_size(source_db)) / (1 << 20);
    std::printf("reseed_bench: %lld orders, database %.1f MiB\n", static_cast<long long>(rows), db_mb);
    std::vector<double> reseed, made, downloaded, adopted, baseline;
    for (int i = 0; i < runs; ++i) {
      auto r = one_round(dir, i, server.value()->port(), source_db, rows);
      if (!r) {
        std::fprintf(stderr, "reseed_bench: round %d: %s\n", i, r.status().to_string().c_str());
        return 1;
      }
      std::printf("  round %d: reseed %.2f s (copy made at %.2f s, downloaded at %.2f s, adopted at %.2f s), "
                  "file copy %.2f s\n",
                  i, r->reseed_s, r->copy_made_s, r->downloaded_s, r->adopted_s, r->baseline_s);
      reseed.push_back(r->reseed_s);
      made.push_back(r->copy_made_s);
      downloaded.push_back(r->downloaded_s);
      adopted.push_back(r->adopted_s);
      baseline.push_back(r->baseline_s);
    }
    const double rs = median(reseed), bs = median(baseline);
    std::printf("reseed median %.2f s (%.0f MiB/s, %.0f rows/s); file copy %.2f s; ratio %.2f\n", rs, db_mb / rs,
                static_cast<double>(rows) / rs, bs, rs / bs);
    nlohmann::json out{{"bench", "reseed"},         {"rows", rows},
                       {"database_mib", db_mb},     {"runs", runs},
                       {"reseed_s", rs},            {"copy_made_s", median(made)},
                       {"downloaded_s", median(downloaded)}, {"adopted_s", median(adopted)},
                       {"reseed_mib_per_s", db_mb / rs},
                       {"baseline", "copy_file+fsync"},
                       {"baseline_s", bs},          {"ratio_reseed_over_baseline", rs / bs}};
    std::printf("%s\n", out.dump().c_str());
    server.value()->stop();
    code = 0;
  }
  std::filesystem::remove_all(dir);
  return code;
}

}  // namespace
}  // namespace ezone::reseed_bench

int main(int argc, char** argv) { return ezone::reseed_bench::run(argc, argv); }
