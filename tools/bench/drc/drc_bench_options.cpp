#include "tools/bench/drc/drc_bench_options.hpp"

#include "tools/bench/drc/bench_flags.hpp"

namespace ezone::drc {

const char* const kDrcBenchUsage =
    "usage: drc_bench [--single-rows N] [--batch-rows N] [--batch-size N] [--rates R1,R2]\n"
    "                 [--duration-s S] [--catchup-rows N] [--window N] [--payload-bytes N]\n"
    "                 [--sync full|normal] [--pg-sub-sync-commit on|off] [--skip-pg]\n"
    "                 [--timeout-s S] [--work-dir DIR] [--verbose] [--cluster-tls CERT_DIR]\n";

Result<DrcBenchOptions> parse_drc_bench_options(int argc, char** argv) {
  DrcBenchOptions o;
  auto flags = BenchFlags::parse(argc, argv, {"--skip-pg", "--verbose"});
  if (!flags) return flags.status();
  BenchFlags& f = *flags;
  o.skip_pg = f.on("--skip-pg");
  o.verbose = f.on("--verbose");
  for (Status s : {f.number("--single-rows", &o.single_rows, 0), f.number("--batch-rows", &o.batch_rows, 0),
                   f.number("--batch-size", &o.batch_size, 1), f.number("--duration-s", &o.duration_s, 0),
                   f.number("--catchup-rows", &o.catchup_rows, 0), f.number("--window", &o.window, 1),
                   f.number("--payload-bytes", &o.payload_bytes, 0), f.number("--timeout-s", &o.timeout_s, 1),
                   f.choice("--sync", "full", "normal", &o.sync_full),
                   f.choice("--pg-sub-sync-commit", "on", "off", &o.pg_sub_sync_commit),
                   f.rates("--rates", &o.rates)})
    if (!s) return s;
  f.text("--work-dir", &o.work_dir);
  f.text("--cluster-tls", &o.cluster_tls_dir);
  if (!o.cluster_tls_dir.empty()) o.skip_pg = true;
  if (Status s = f.finish(); !s) return s;
  return o;
}

}  // namespace ezone::drc
