// Router benchmark: the API router's forwarding path against nginx's
// proxy_pass, measured with wrk in the same run, interleaved over rounds.
//
//   forward  wrk -> bj router -> sh router -> trivial handler
//            (bj's table says sh owns every key: resolve, stamp the trail,
//            forward over a pooled keep-alive connection)
//   nginx    wrk -> nginx proxy_pass (keep-alive upstream) -> sh router
//   local    wrk -> sh router -> trivial handler (local dispatch)
//
// Fairness: both proxies forward to the very same upstream (the sh router,
// which resolves the key and dispatches locally), so the difference between
// "forward" and "nginx" is the proxy alone. bj runs --proxy-threads I/O
// threads and nginx runs the same number of worker processes; everything
// (wrk, proxy, upstream) shares this machine's cores.
//
// CPU layout: by default the load generator and the servers get separate
// CPUs, as they would on separate machines. The CPUs this process may use
// are split in two: wrk runs on the first half (taskset), and the proxies
// (bj's threads and nginx's workers) and the upstream (sh) on the second.
// Both paths get the same layout. --no-pin lets the scheduler place
// everything on every CPU instead (wrk then competes with the proxy for
// its core, which adds most of the noise between rounds).
//
// Besides req/s, p50 and p99 from wrk, each run records the CPU time the proxy
// and the upstream spent per request (from /proc/.../schedstat). On a
// machine shared with other work, req/s and p99 move with everyone else's
// load; CPU per request is the steadier measure of the proxy's own cost.
//
// Prints a table per round, the medians, the median of the forward/nginx
// ratios within each round with a distribution-free interval for it (and
// whether that interval lies above, below or across 1), and a final JSON
// line.
//   router_bench [--rounds 5] [--duration 4] [--connections 64]
//                [--wrk-threads 2] [--proxy-threads 1] [--upstream-threads 1]
//                [--no-pin]
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "actors/router/router.hpp"
#include "tools/bench/router/cpu_layout.hpp"
#include "tests/actors/router/raw_http.hpp"
#include "tests/support/ports.hpp"

namespace ezone {
namespace {

struct Options {
  int rounds = 5;
  int duration_s = 4;
  int connections = 64;
  int wrk_threads = 2;
  int proxy_threads = 1;     // bj I/O threads = nginx worker processes
  int upstream_threads = 1;  // sh I/O threads
  bool pin = true;           // wrk and the servers on separate CPUs
  CpuLayout cpus;            // what pinning found (pin_cpus)
};


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

// schedstat files of this process's threads whose name starts with prefix
// (the lanes of one router are named "rt-<ezone>/N").
std::vector<std::string> lane_threads(const std::string& prefix) {
  std::vector<std::string> files;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::string comm;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    if (comm.rfind(prefix, 0) == 0) files.push_back((task.path() / "schedstat").string());
  }
  return files;
}

// schedstat files of an nginx master and its workers.
std::vector<std::string> nginx_processes(pid_t master) {
  std::vector<std::string> files = {"/proc/" + std::to_string(master) + "/schedstat"};
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat;
    std::getline(std::ifstream(entry.path() / "stat"), stat);
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 2));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (ppid == master) files.push_back((entry.path() / "schedstat").string());
  }
  return files;
}

// Nanoseconds on CPU, summed (first field of schedstat).
double cpu_ns(const std::vector<std::string>& files) {
  double total = 0;
  for (const auto& f : files) {
    double ns = 0;
    std::ifstream(f) >> ns;
    total += ns;
  }
  return total;
}

constexpr const char* kTarget = "/v1/bench";
constexpr const char* kKeyHeader = "X-Ezone-Key: merchant=8812";

int arg_int(int argc, char** argv, const char* name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == name) return std::atoi(argv[i + 1]);
  return fallback;
}

Endpoint bench_endpoint(const std::string& ezone) {
  Endpoint e;
  e.method = "GET";
  e.pattern = kTarget;
  e.entrance = Entrance::user;
  e.key = key_from_header();
  e.access = Access::read;
  e.handler = make_async_handler([ezone](const HttpRequest&) { return HttpResponse::text(200, "ok\n"); });
  return e;
}

// A router whose table says `owner` (at `owner_port`) owns every key.
std::unique_ptr<RouterIngress> start_router(const std::string& ezone, const std::string& owner,
                                            const uint16_t* owner_port, int threads, Metrics& metrics) {
  RouterConfig c;
  c.ezone = ezone;
  c.resolver = [owner, owner_port](const ShardingKey&) -> Result<Resolution> {
    Resolution r;
    r.shard = 1;
    r.owner = owner;
    r.owner_http = {"127.0.0.1", *owner_port};
    r.epoch = 1;
    return r;
  };
  c.epoch = [] { return Epoch{1}; };
  HttpServerOptions o;
  o.name = "http";
  o.config_key = "bench." + ezone;
  o.bind = {"127.0.0.1", 0};
  o.threads = threads;
  auto started = RouterIngress::start(std::move(c), {bench_endpoint(ezone)}, std::move(o), metrics);
  if (!started) {
    std::fprintf(stderr, "cannot start router %s: %s\n", ezone.c_str(), started.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(*started);
}

// nginx in the foreground on its own config and temp dir; stopped (and
// waited for) by the destructor.
class Nginx {
 public:
  Nginx(const std::string& dir, uint16_t port, uint16_t upstream_port, int workers) {
    std::string conf = dir + "/nginx.conf";
    std::ofstream(conf) << config(dir, port, upstream_port, workers);
    std::string binary = access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : "nginx";
    std::string error_log = dir + "/error.log";
    std::vector<std::string> args = {binary, "-p", dir + "/", "-e", error_log, "-c", conf};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      // nginx goes down with the benchmark, even if it is killed.
      ::prctl(PR_SET_PDEATHSIG, SIGQUIT);
      ::execvp(argv[0], argv.data());
      ::_exit(127);
    }
  }
  ~Nginx() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGQUIT);  // graceful: the master takes its workers with it
    for (int i = 0; i < 100; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

 private:
  static std::string config(const std::string& dir, uint16_t port, uint16_t upstream_port, int workers) {
    std::string d = dir + "/";
    return "worker_processes " + std::to_string(workers) +
           ";\n"
           "daemon off;\n"
           "pid " + d + "nginx.pid;\n"
           "error_log " + d + "error.log warn;\n"
           "events { worker_connections 4096; }\n"
           "http {\n"
           "  access_log off;\n"
           "  client_body_temp_path " + d + "body;\n"
           "  proxy_temp_path " + d + "proxy;\n"
           "  fastcgi_temp_path " + d + "fastcgi;\n"
           "  uwsgi_temp_path " + d + "uwsgi;\n"
           "  scgi_temp_path " + d + "scgi;\n"
           "  keepalive_requests 1000000;\n"
           "  upstream sh {\n"
           "    server 127.0.0.1:" + std::to_string(upstream_port) + ";\n"
           "    keepalive 256;\n"
           "    keepalive_requests 1000000;\n"
           "  }\n"
           "  server {\n"
           "    listen 127.0.0.1:" + std::to_string(port) + ";\n"
           "    location / {\n"
           "      proxy_pass http://sh;\n"
           "      proxy_http_version 1.1;\n"
           "      proxy_set_header Connection \"\";\n"
           "    }\n"
           "  }\n"
           "}\n";
  }
  pid_t pid_ = -1;
};

// "1.23ms" / "850.00us" / "1.02s" -> milliseconds.
double to_ms(const std::string& text) {
  double v = std::atof(text.c_str());
  if (text.find("us") != std::string::npos) return v / 1000;
  if (text.find("ms") != std::string::npos) return v;
  if (text.find('s') != std::string::npos) return v * 1000;
  return v;
}

// The value of one line of wrk's latency distribution ("     99%    4.11ms").
double percentile_ms(const std::string& out, size_t at) {
  size_t value = out.find_first_not_of(' ', at + 4);
  return to_ms(out.substr(value, out.find('\n', value) - value));
}

WrkResult parse_wrk(const std::string& out) {
  WrkResult r;
  auto rps_at = out.find("Requests/sec:");
  auto p50_at = out.find(" 50%");
  auto p99_at = out.find(" 99%");
  if (rps_at == std::string::npos || p50_at == std::string::npos || p99_at == std::string::npos) return r;
  r.rps = std::atof(out.c_str() + rps_at + 13);
  auto total_at = out.find(" requests in ");
  if (total_at != std::string::npos) r.requests = std::atof(out.c_str() + out.rfind('\n', total_at) + 1);
  r.p50_ms = percentile_ms(out, p50_at);
  r.p99_ms = percentile_ms(out, p99_at);
  r.ok = out.find("Non-2xx") == std::string::npos && out.find("Socket errors") == std::string::npos;
  return r;
}

WrkResult run_wrk(const Options& o, uint16_t port, int duration_s) {
  std::string pin = o.cpus.load.empty() ? "" : "taskset -c " + cpu_list(o.cpus.load) + " ";
  std::string cmd = pin + "wrk -t" + std::to_string(o.wrk_threads) + " -c" + std::to_string(o.connections) + " -d" +
                    std::to_string(duration_s) + "s --latency -H '" + kKeyHeader + "' http://127.0.0.1:" +
                    std::to_string(port) + kTarget + " 2>&1";
  std::string out;
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    ::pclose(p);
  }
  WrkResult r = parse_wrk(out);
  if (!r.ok) std::fprintf(stderr, "wrk against port %u reported problems:\n%s\n", port, out.c_str());
  return r;
}

// The path answers 200 and names the zone that served it.
bool check_path(const char* name, uint16_t port, const std::string& expect_ezone) {
  test::RawResponse r = test::http_call(port, "GET", kTarget, {{"X-Ezone-Key", "merchant=8812"}});
  bool ok = r.status == 200 && r.header("x-ezone") == expect_ezone;
  std::printf("check %-8s status=%d X-Ezone=%s X-Ezone-Epoch=%s %s\n", name, r.status, r.header("x-ezone").c_str(),
              r.header("x-ezone-epoch").c_str(), ok ? "ok" : "FAILED");
  return ok;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

struct Target {
  const char* name;
  uint16_t port;
  std::function<std::vector<std::string>()> proxy;     // whose CPU is the proxy's
  std::function<std::vector<std::string>()> upstream;  // whose CPU is the upstream's
  std::vector<WrkResult> results;
};

// One wrk run against t, with the CPU each side used during it.
WrkResult measure(const Options& o, const Target& t) {
  auto proxy_files = t.proxy();
  auto upstream_files = t.upstream ? t.upstream() : std::vector<std::string>{};
  double proxy0 = cpu_ns(proxy_files), upstream0 = cpu_ns(upstream_files);
  WrkResult r = run_wrk(o, t.port, o.duration_s);
  if (r.requests > 0) {
    r.proxy_cpu_us = (cpu_ns(proxy_files) - proxy0) / 1000 / r.requests;
    r.upstream_cpu_us = (cpu_ns(upstream_files) - upstream0) / 1000 / r.requests;
  }
  return r;
}

double median_of(const Target& t, double WrkResult::*field) {
  std::vector<double> v;
  for (const auto& r : t.results) v.push_back(r.*field);
  return median(v);
}

// The median over rounds of forward's figure divided by nginx's in the same
// round: the two ran seconds apart, so a load burst from other work on the
// machine moves both sides of each ratio far more than it moves the median
// of each side taken apart.
double median_round_ratio(const Target& fwd, const Target& ngx, double WrkResult::*field) {
  std::vector<double> v;
  for (size_t i = 0; i < fwd.results.size() && i < ngx.results.size(); ++i)
    if (ngx.results[i].*field > 0) v.push_back(fwd.results[i].*field / (ngx.results[i].*field));
  return median(v);
}

// A distribution-free interval for the median of the per-round ratios: the
// k-th smallest and k-th largest, with k the largest rank at which the
// interval covers the median with probability >= 90% (binomial, p = 1/2).
// With 5 rounds that is [min, max] at 93.75%; more rounds narrow it.
struct RatioInterval {
  double lo = 0, hi = 0, confidence = 0;
};

RatioInterval median_interval(const Target& fwd, const Target& ngx, double WrkResult::*field) {
  std::vector<double> v;
  for (size_t i = 0; i < fwd.results.size() && i < ngx.results.size(); ++i)
    if (ngx.results[i].*field > 0) v.push_back(fwd.results[i].*field / (ngx.results[i].*field));
  std::sort(v.begin(), v.end());
  RatioInterval out;
  if (v.empty()) return out;
  const size_t n = v.size();
  // tail[k] = P(B <= k) for B ~ Binomial(n, 1/2).
  std::vector<double> tail(n + 1);
  double term = std::pow(0.5, double(n)), sum = 0;
  for (size_t k = 0; k <= n; ++k) {
    sum += term;
    tail[k] = sum;
    term = term * double(n - k) / double(k + 1);
  }
  size_t k = 1;  // 1-based rank from each end
  out.confidence = 1 - 2 * tail[0];
  for (size_t r = 2; 2 * r <= n + 1; ++r) {
    const double c = 1 - 2 * tail[r - 1];
    if (c < 0.9) break;
    k = r;
    out.confidence = c;
  }
  out.lo = v[k - 1];
  out.hi = v[n - k];
  return out;
}

// Where an interval stands against 1 (better_high: a ratio above 1 is better).
const char* verdict(const RatioInterval& i, bool better_high) {
  if (i.lo > 1) return better_high ? "ahead" : "behind";
  if (i.hi < 1) return better_high ? "behind" : "ahead";
  return "level within noise";
}

void report(const std::vector<Target>& targets, const Options& o) {
  const Target &fwd = targets[0], &ngx = targets[1], &local = targets[2];
  double fwd_rps = median_of(fwd, &WrkResult::rps), ngx_rps = median_of(ngx, &WrkResult::rps);
  double fwd_p50 = median_of(fwd, &WrkResult::p50_ms), ngx_p50 = median_of(ngx, &WrkResult::p50_ms);
  double fwd_p99 = median_of(fwd, &WrkResult::p99_ms), ngx_p99 = median_of(ngx, &WrkResult::p99_ms);
  double fwd_cpu = median_of(fwd, &WrkResult::proxy_cpu_us), ngx_cpu = median_of(ngx, &WrkResult::proxy_cpu_us);
  std::printf("\nmedian over %d rounds:        req/s     p50 ms     p99 ms   proxy us/req  upstream us/req\n",
              o.rounds);
  for (const auto& t : targets)
    std::printf("  %-8s              %9.0f  %9.2f  %9.2f  %13.1f  %15.1f\n", t.name, median_of(t, &WrkResult::rps),
                median_of(t, &WrkResult::p50_ms), median_of(t, &WrkResult::p99_ms),
                median_of(t, &WrkResult::proxy_cpu_us), median_of(t, &WrkResult::upstream_cpu_us));
  std::printf("  forward/nginx: req/s %.3f (>= 1 is better), p50 %.3f, p99 %.3f and CPU per request %.3f (<= 1 is "
              "better)\n",
              fwd_rps / ngx_rps, fwd_p50 / ngx_p50, fwd_p99 / ngx_p99, fwd_cpu / ngx_cpu);
  double round_rps = median_round_ratio(fwd, ngx, &WrkResult::rps);
  double round_p99 = median_round_ratio(fwd, ngx, &WrkResult::p99_ms);
  std::printf("  forward/nginx within each round, median over rounds: req/s %.3f, p99 %.3f\n", round_rps, round_p99);
  const RatioInterval rps_ci = median_interval(fwd, ngx, &WrkResult::rps);
  const RatioInterval p99_ci = median_interval(fwd, ngx, &WrkResult::p99_ms);
  std::printf("  interval of that median (%.1f%% confidence, from the rounds' order): req/s %.3f-%.3f (%s), "
              "p99 %.3f-%.3f (%s)\n",
              100 * rps_ci.confidence, rps_ci.lo, rps_ci.hi, verdict(rps_ci, true), p99_ci.lo, p99_ci.hi,
              verdict(p99_ci, false));
  std::printf(
      "{\"bench\":\"router\",\"router_forward_rps\":%.0f,\"nginx_rps\":%.0f,\"rps_ratio\":%.3f,"
      "\"router_forward_p50_ms\":%.3f,\"nginx_p50_ms\":%.3f,"
      "\"router_forward_p99_ms\":%.3f,\"nginx_p99_ms\":%.3f,\"p99_ratio\":%.3f,"
      "\"rps_ratio_per_round\":%.3f,\"p99_ratio_per_round\":%.3f,"
      "\"rps_ratio_interval\":[%.3f,%.3f],\"p99_ratio_interval\":[%.3f,%.3f],\"interval_confidence\":%.4f,"
      "\"rps_verdict\":\"%s\",\"p99_verdict\":\"%s\",\"router_local_rps\":%.0f,"
      "\"router_forward_cpu_us_per_req\":%.1f,\"nginx_cpu_us_per_req\":%.1f,\"cpu_ratio\":%.3f,"
      "\"proxy_threads\":%d,\"upstream_threads\":%d,\"connections\":%d,\"duration_s\":%d,\"rounds\":%d,"
      "\"pinned\":%s,\"wrk_cpus\":\"%s\",\"server_cpus\":\"%s\"}\n",
      fwd_rps, ngx_rps, fwd_rps / ngx_rps, fwd_p50, ngx_p50, fwd_p99, ngx_p99, fwd_p99 / ngx_p99, round_rps,
      round_p99, rps_ci.lo, rps_ci.hi, p99_ci.lo, p99_ci.hi, rps_ci.confidence, verdict(rps_ci, true),
      verdict(p99_ci, false), median_of(local, &WrkResult::rps),
      fwd_cpu, ngx_cpu, fwd_cpu / ngx_cpu, o.proxy_threads, o.upstream_threads, o.connections, o.duration_s,
      o.rounds, o.cpus.load.empty() ? "false" : "true", cpu_list(o.cpus.load).c_str(),
      cpu_list(o.cpus.servers).c_str());
}

// A private directory for nginx's config, logs and temp files, removed at
// the end.
class TempDir {
 public:
  TempDir() {
    char name[] = "/tmp/ezone-bench-router-XXXXXX";
    if (::mkdtemp(name)) path_ = name;
    ::chmod(path_.c_str(), 0755);  // nginx workers may run as another user
  }
  ~TempDir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Every path answers 200 from sh before anything is measured.
bool check_paths(uint16_t bj_port, uint16_t nginx_port, uint16_t sh_port) {
  bool ok = false;
  for (int i = 0; i < 100 && !ok; ++i) {  // nginx needs a moment to listen
    ok = test::http_call(nginx_port, "GET", kTarget, {{"X-Ezone-Key", "merchant=8812"}}, "", 200).status == 200;
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return check_path("forward", bj_port, "sh") && check_path("nginx", nginx_port, "sh") &&
         check_path("local", sh_port, "sh");
}

void run_rounds(std::vector<Target>& targets, const Options& o) {
  std::printf("wrk -t%d -c%d -d%ds --latency; bj I/O threads = nginx workers = %d; sh I/O threads = %d\n",
              o.wrk_threads, o.connections, o.duration_s, o.proxy_threads, o.upstream_threads);
  if (o.cpus.load.empty())
    std::printf("CPUs: not pinned (wrk, proxies and upstream share every CPU)\n");
  else
    std::printf("CPUs: wrk on %s; proxies (bj, nginx) and upstream (sh) on %s\n", cpu_list(o.cpus.load).c_str(),
                cpu_list(o.cpus.servers).c_str());
  for (auto& t : targets) run_wrk(o, t.port, 1);  // warm up pools and caches
  std::printf("%-6s %-8s %10s %9s %9s %13s %15s\n", "round", "path", "req/s", "p50 ms", "p99 ms", "proxy us/req",
              "upstream us/req");
  for (int round = 0; round < o.rounds; ++round) {
    for (size_t k = 0; k < targets.size(); ++k) {
      // Rotate the order each round so no path always runs first.
      Target& t = targets[(k + static_cast<size_t>(round)) % targets.size()];
      WrkResult r = measure(o, t);
      t.results.push_back(r);
      std::printf("%-6d %-8s %10.0f %9.2f %9.2f %13.1f %15.1f%s\n", round + 1, t.name, r.rps, r.p50_ms, r.p99_ms,
                  r.proxy_cpu_us, r.upstream_cpu_us, r.ok ? "" : "  (errors)");
      std::fflush(stdout);
    }
  }
}

int run(Options o) {
  if (std::system("command -v wrk > /dev/null 2>&1") != 0)
    return std::fprintf(stderr, "wrk not found: apt-get install wrk nginx-light\n"), 1;
  // Before any server thread or process starts: they inherit the layout.
  if (o.pin) o.cpus = pin_cpus();
  TempDir dir;
  if (dir.path().empty()) return std::perror("mkdtemp"), 1;
  Metrics sh_metrics("sh"), bj_metrics("bj");
  uint16_t sh_port = 0;
  auto sh = start_router("sh", "sh", &sh_port, o.upstream_threads, sh_metrics);
  sh_port = sh->port();
  auto bj = start_router("bj", "sh", &sh_port, o.proxy_threads, bj_metrics);
  uint16_t nginx_port = test::free_loopback_port();
  Nginx nginx(dir.path(), nginx_port, sh_port, o.proxy_threads);
  if (!nginx.started()) return std::fprintf(stderr, "cannot start nginx\n"), 1;
  if (!check_paths(bj->port(), nginx_port, sh_port))
    return std::fprintf(stderr, "a path does not work; see %s/error.log\n", dir.path().c_str()), 1;

  auto bj_lanes = [] { return lane_threads("rt-bj"); };
  auto sh_lanes = [] { return lane_threads("rt-sh"); };
  auto nginx_cpu = [master = nginx.pid()] { return nginx_processes(master); };
  std::vector<Target> targets = {{"forward", bj->port(), bj_lanes, sh_lanes, {}},
                                 {"nginx", nginx_port, nginx_cpu, sh_lanes, {}},
                                 {"local", sh_port, sh_lanes, nullptr, {}}};
  run_rounds(targets, o);
  report(targets, o);
  bj->stop();
  sh->stop();
  return 0;
}

}  // namespace
}  // namespace ezone

int main(int argc, char** argv) {
  ezone::Options o;
  o.rounds = ezone::arg_int(argc, argv, "--rounds", o.rounds);
  o.duration_s = ezone::arg_int(argc, argv, "--duration", o.duration_s);
  o.connections = ezone::arg_int(argc, argv, "--connections", o.connections);
  o.wrk_threads = ezone::arg_int(argc, argv, "--wrk-threads", o.wrk_threads);
  o.proxy_threads = ezone::arg_int(argc, argv, "--proxy-threads", o.proxy_threads);
  o.upstream_threads = ezone::arg_int(argc, argv, "--upstream-threads", o.upstream_threads);
  for (int i = 1; i < argc; ++i)
    if (std::string(argv[i]) == "--no-pin") o.pin = false;
  if (o.rounds < 1 || o.duration_s < 1 || o.connections < 1 || o.wrk_threads < 1 || o.proxy_threads < 1 ||
      o.upstream_threads < 1) {
    std::fprintf(stderr,
                 "usage: router_bench [--rounds 5] [--duration 4] [--connections 64] [--wrk-threads 2] "
                 "[--proxy-threads 1] [--upstream-threads 1] [--no-pin]\n");
    return 2;
  }
  return ezone::run(o);
}
