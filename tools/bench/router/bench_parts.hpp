// The parts of router_bench that do not depend on what is measured: wrk
// runs and their parsing, CPU accounting from schedstat, nginx as the
// baseline proxy, and the statistics of paired rounds.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include <string>
#include <vector>

namespace ezone::bench {

struct WrkResult {
  double rps = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double requests = 0;
  bool ok = false;
  // CPU time per request of the proxy (bj, nginx; sh itself for "local")
  // and of the upstream (sh), from the scheduler's own accounting. On a
  // machine shared with other work, req/s moves with everyone else's load;
  // CPU per request does not.
  double proxy_cpu_us = 0;
  double upstream_cpu_us = 0;
};

// One wrk run: `threads` threads, `connections` connections, for
// duration_s, against http://127.0.0.1:port<path> with one extra header,
// pinned to the CPUs `load` (none: not pinned). Problems reported by wrk
// (non-2xx answers, socket errors) go to stderr and leave ok false.
WrkResult run_wrk(const std::vector<int>& load, int threads, int connections, int duration_s, uint16_t port,
                  const std::string& path, const std::string& header);
// wrk's --latency output -> req/s, p50, p99, requests.
WrkResult parse_wrk(const std::string& out);

// schedstat files of this process's threads whose name starts with prefix.
std::vector<std::string> lane_threads(const std::string& prefix);
// schedstat files of an nginx master and its workers.
std::vector<std::string> nginx_processes(pid_t master);
// Nanoseconds on CPU, summed (first field of schedstat).
double cpu_ns(const std::vector<std::string>& files);

// nginx in the foreground on its own config and temp dir; stopped (and
// waited for) by the destructor. With upstream_ca, it proxies to the
// upstream over TLS, checking its certificate against that CA (and the name
// "localhost"), with sessions reused.
class Nginx {
 public:
  Nginx(const std::string& dir, uint16_t port, uint16_t upstream_port, int workers,
        const std::string& upstream_ca = "");
  ~Nginx();
  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  static std::string config(const std::string& dir, uint16_t port, uint16_t upstream_port, int workers,
                            const std::string& upstream_ca);
  pid_t pid_ = -1;
};

// A private directory for nginx's config, logs and temp files, removed at
// the end.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

double median(std::vector<double> v);

// A distribution-free interval for the median of per-round ratios a[i] /
// b[i]: the k-th smallest and k-th largest, with k the largest rank at which
// the interval covers the median with probability >= 90% (binomial, p =
// 1/2). With 5 rounds that is [min, max] at 93.75%; more rounds narrow it.
struct RatioInterval {
  double lo = 0, hi = 0, confidence = 0;
};
// The per-round ratios a[i].*field / b[i].*field (rounds where b's is > 0).
std::vector<double> round_ratios(const std::vector<WrkResult>& a, const std::vector<WrkResult>& b,
                                 double WrkResult::*field);
RatioInterval median_interval(std::vector<double> ratios);
// Where an interval stands against 1 (better_high: a ratio above 1 is better).
const char* verdict(const RatioInterval& i, bool better_high);

}  // namespace ezone::bench
