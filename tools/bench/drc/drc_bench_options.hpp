// drc_bench's command line: the workloads' sizes and rates, durability,
// and where the two nodes live.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace ezone::drc {

struct DrcBenchOptions {
  int64_t single_rows = 20'000;
  int64_t batch_rows = 200'000;
  int batch_size = 100;
  std::vector<double> rates = {2000, 5000};
  double duration_s = 10;
  int64_t catchup_rows = 100'000;
  int window = 256;
  int payload_bytes = 100;
  bool sync_full = true;
  bool pg_sub_sync_commit = true;
  bool skip_pg = false;
  bool verbose = false;
  int timeout_s = 600;
  std::string work_dir;
  // A tools/tls/make-certs directory (ca.crt, node.crt naming 127.0.0.1):
  // the ezone workloads run twice, plain and then with [tls] cluster = true,
  // and the report gives TLS's figures over plain's. No PostgreSQL then.
  std::string cluster_tls_dir;
};

extern const char* const kDrcBenchUsage;

// A help flag gives an error with an empty message.
Result<DrcBenchOptions> parse_drc_bench_options(int argc, char** argv);

}  // namespace ezone::drc
