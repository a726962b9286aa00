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
// Prints a table per round, the medians, and a final JSON line.
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "actors/router/router.hpp"
#include "tests/actors/router/raw_http.hpp"
#include "tests/support/ports.hpp"

extern char** environ;

namespace ezone {
namespace {

struct Options {
  int rounds = 3;
  int duration_s = 5;
  int connections = 64;
  int wrk_threads = 2;
  int proxy_threads = 1;     // bj I/O threads = nginx worker processes
  int upstream_threads = 1;  // sh I/O threads
};

struct WrkResult {
  double rps = 0;
  double p99_ms = 0;
  bool ok = false;
};

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
    if (posix_spawnp(&pid_, binary.c_str(), nullptr, nullptr, argv.data(), environ) != 0) pid_ = -1;
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

WrkResult parse_wrk(const std::string& out) {
  WrkResult r;
  auto rps_at = out.find("Requests/sec:");
  auto p99_at = out.find(" 99%");
  if (rps_at == std::string::npos || p99_at == std::string::npos) return r;
  r.rps = std::atof(out.c_str() + rps_at + 13);
  size_t value = out.find_first_not_of(' ', p99_at + 4);
  r.p99_ms = to_ms(out.substr(value, out.find('\n', value) - value));
  r.ok = out.find("Non-2xx") == std::string::npos && out.find("Socket errors") == std::string::npos;
  return r;
}

WrkResult run_wrk(const Options& o, uint16_t port, int duration_s) {
  std::string cmd = "wrk -t" + std::to_string(o.wrk_threads) + " -c" + std::to_string(o.connections) + " -d" +
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
  std::vector<WrkResult> results;
};

void report(const std::vector<Target>& targets, const Options& o) {
  auto med = [](const Target& t, bool p99) {
    std::vector<double> v;
    for (const auto& r : t.results) v.push_back(p99 ? r.p99_ms : r.rps);
    return median(v);
  };
  double fwd_rps = med(targets[0], false), ngx_rps = med(targets[1], false), local_rps = med(targets[2], false);
  double fwd_p99 = med(targets[0], true), ngx_p99 = med(targets[1], true);
  std::printf("\nmedian over %d rounds:\n", o.rounds);
  for (const auto& t : targets) std::printf("  %-8s %10.0f req/s  p99 %7.2f ms\n", t.name, med(t, false), med(t, true));
  std::printf("  forward/nginx: req/s ratio %.3f, p99 ratio %.3f (ratio < 1 is better)\n", fwd_rps / ngx_rps,
              fwd_p99 / ngx_p99);
  std::printf(
      "{\"bench\":\"router\",\"router_forward_rps\":%.0f,\"nginx_rps\":%.0f,\"rps_ratio\":%.3f,"
      "\"router_forward_p99_ms\":%.3f,\"nginx_p99_ms\":%.3f,\"p99_ratio\":%.3f,\"router_local_rps\":%.0f,"
      "\"proxy_threads\":%d,\"upstream_threads\":%d,\"connections\":%d,\"duration_s\":%d,\"rounds\":%d}\n",
      fwd_rps, ngx_rps, fwd_rps / ngx_rps, fwd_p99, ngx_p99, fwd_p99 / ngx_p99, local_rps, o.proxy_threads,
      o.upstream_threads, o.connections, o.duration_s, o.rounds);
}

int run(const Options& o) {
  char dir_template[] = "/tmp/ezone-bench-router-XXXXXX";
  if (!::mkdtemp(dir_template)) return std::perror("mkdtemp"), 1;
  std::string dir = dir_template;
  ::chmod(dir.c_str(), 0755);  // nginx workers may run as another user

  Metrics sh_metrics("sh"), bj_metrics("bj");
  uint16_t sh_port = 0;
  auto sh = start_router("sh", "sh", &sh_port, o.upstream_threads, sh_metrics);
  sh_port = sh->port();
  auto bj = start_router("bj", "sh", &sh_port, o.proxy_threads, bj_metrics);
  uint16_t nginx_port = test::free_loopback_port();
  Nginx nginx(dir, nginx_port, sh_port, o.proxy_threads);
  if (!nginx.started()) return std::fprintf(stderr, "cannot start nginx\n"), 1;

  std::vector<Target> targets = {{"forward", bj->port(), {}}, {"nginx", nginx_port, {}}, {"local", sh_port, {}}};
  bool ok = false;
  for (int i = 0; i < 100 && !ok; ++i) {  // nginx needs a moment to listen
    ok = test::http_call(nginx_port, "GET", kTarget, {{"X-Ezone-Key", "merchant=8812"}}, "", 200).status == 200;
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ok = check_path("forward", bj->port(), "sh") && check_path("nginx", nginx_port, "sh") &&
       check_path("local", sh_port, "sh");
  if (!ok) return std::fprintf(stderr, "a path does not work; see %s/error.log\n", dir.c_str()), 1;

  std::printf("wrk -t%d -c%d -d%ds --latency; bj I/O threads = nginx workers = %d; sh I/O threads = %d\n",
              o.wrk_threads, o.connections, o.duration_s, o.proxy_threads, o.upstream_threads);
  for (auto& t : targets) run_wrk(o, t.port, 1);  // warm up pools and caches
  std::printf("%-6s %-8s %12s %10s\n", "round", "path", "req/s", "p99 ms");
  for (int round = 0; round < o.rounds; ++round) {
    for (size_t k = 0; k < targets.size(); ++k) {
      // Rotate the order each round so no path always runs first.
      Target& t = targets[(k + static_cast<size_t>(round)) % targets.size()];
      WrkResult r = run_wrk(o, t.port, o.duration_s);
      t.results.push_back(r);
      std::printf("%-6d %-8s %12.0f %10.2f%s\n", round + 1, t.name, r.rps, r.p99_ms, r.ok ? "" : "  (errors)");
      std::fflush(stdout);
    }
  }
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
  if (o.rounds < 1 || o.duration_s < 1 || o.connections < 1 || o.wrk_threads < 1 || o.proxy_threads < 1 ||
      o.upstream_threads < 1) {
    std::fprintf(stderr,
                 "usage: router_bench [--rounds 3] [--duration 5] [--connections 64] [--wrk-threads 2] "
                 "[--proxy-threads 1] [--upstream-threads 1]\n");
    return 2;
  }
  return ezone::run(o);
}
