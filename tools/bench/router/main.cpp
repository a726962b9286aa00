// Router benchmark: the API router's forwarding path against nginx's
// proxy_pass, measured with wrk in the same run, interleaved over rounds.
//
//   forward  wrk -> bj router -> sh router -> trivial handler
//            (bj's table says sh owns every key: resolve, stamp the trail,
//            forward over a pooled keep-alive connection)
//   nginx    wrk -> nginx proxy_pass (keep-alive upstream) -> sh router
//   local    wrk -> sh router -> trivial handler (local dispatch)
//   soa      wrk -> bj router -> bj's SOA proxy -> sh router -> trivial handler
//            (an orig-mode service whose one instance is sh's router: the
//            proxy's hop is what nginx does, plus the router's dispatch; on
//            bj's lanes, as in ezoned)
//
// Fairness: every proxy forwards to the very same upstream (the sh router,
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
// --tls: the upstream (sh) serves TLS ([tls] http), bj forwards to it over
// TLS (HttpForwarderOptions::tls) and nginx proxies to it over TLS
// (proxy_ssl_verify, sessions reused), both checking its certificate
// (tests/data/tls). wrk still speaks plain HTTP to the proxies, so the
// comparison is the TLS client side of each proxy; "local" and "soa" are
// not run (bench "router_tls" in the JSON line).
//
// Prints a table per round, the medians, the median of the forward/nginx (and
// soa/nginx) ratios within each round with a distribution-free interval for it (and
// whether that interval lies above, below or across 1), and a final JSON
// line.
//   router_bench [--rounds 5] [--duration 4] [--connections 64]
//                [--wrk-threads 2] [--proxy-threads 1] [--upstream-threads 1]
//                [--no-pin] [--tls]
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "actors/router/router.hpp"
#include "actors/soa/soa_proxy.hpp"
#include "storage/net/tls.hpp"
#include "tools/bench/router/bench_parts.hpp"
#include "tools/bench/router/cpu_layout.hpp"
#include "tests/actors/router/raw_http.hpp"
#include "tests/support/ports.hpp"

namespace ezone {
namespace {

using bench::WrkResult;

struct Options {
  int rounds = 5;
  int duration_s = 4;
  int connections = 64;
  int wrk_threads = 2;
  int proxy_threads = 1;     // bj I/O threads = nginx worker processes
  int upstream_threads = 1;  // sh I/O threads
  bool pin = true;           // wrk and the servers on separate CPUs
  bool tls = false;          // proxies to sh over TLS (see the top)
  CpuLayout cpus;            // what pinning found (pin_cpus)
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

// A router whose table says `owner` (at `owner_port`) owns every key, with
// `extra` endpoints besides the bench's.
// With serve_tls it serves TLS; with forward_tls it forwards over TLS.
std::unique_ptr<RouterIngress> start_router(const std::string& ezone, const std::string& owner,
                                            const uint16_t* owner_port, int threads, Metrics& metrics,
                                            std::vector<Endpoint> extra = {},
                                            std::shared_ptr<IoThreads> lanes = nullptr,
                                            net::TlsContextPtr serve_tls = nullptr,
                                            net::TlsContextPtr forward_tls = nullptr) {
  RouterConfig c;
  c.forwarder.tls = std::move(forward_tls);
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
  o.tls = std::move(serve_tls);
  extra.push_back(bench_endpoint(ezone));
  // What the SOA proxy probes (its instance is sh's router).
  Endpoint health{"GET", "/health", Entrance::internal, nullptr, Access::read,
                  make_async_handler([](const HttpRequest&) { return HttpResponse::text(200, "ok\n"); })};
  extra.push_back(std::move(health));
  auto started = RouterIngress::start(std::move(c), std::move(extra), std::move(o), metrics, std::move(lanes));
  if (!started) {
    std::fprintf(stderr, "cannot start router %s: %s\n", ezone.c_str(), started.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(*started);
}

// bj's SOA proxy: one orig-mode service, "bench", whose one instance is sh's
// router; /soa/v1/bench/v1/bench reaches sh as /v1/bench.
constexpr const char* kSoaTarget = "/soa/v1/bench/v1/bench";

std::unique_ptr<SoaProxy> start_soa(uint16_t sh_port, std::shared_ptr<IoThreads> lanes, Metrics& metrics) {
  SoaServiceConfig service;
  service.name = "bench";
  service.mode = SoaMode::orig;
  service.instances = {{"bj", {{"127.0.0.1", sh_port}}}};
  SoaSettings settings;
  settings.services = {service};
  settings.connections_max = 256;  // as the router's forwarder
  auto proxy = SoaProxy::start("bj", {"bj"}, settings, std::move(lanes), metrics, nullptr);
  if (!proxy) {
    std::fprintf(stderr, "cannot start the SOA proxy: %s\n", proxy.status().to_string().c_str());
    std::exit(1);
  }
  return std::move(*proxy);
}

// The path answers 200 and names the zone that served it.
bool check_path(const char* name, uint16_t port, const char* path, const std::string& expect_ezone) {
  test::RawResponse r = test::http_call(port, "GET", path, {{"X-Ezone-Key", "merchant=8812"}});
  bool ok = r.status == 200 && r.header("x-ezone") == expect_ezone;
  std::printf("check %-8s status=%d X-Ezone=%s X-Ezone-Epoch=%s %s\n", name, r.status, r.header("x-ezone").c_str(),
              r.header("x-ezone-epoch").c_str(), ok ? "ok" : "FAILED");
  return ok;
}

struct Target {
  const char* name;
  uint16_t port;
  const char* path;
  std::function<std::vector<std::string>()> proxy;     // whose CPU is the proxy's
  std::function<std::vector<std::string>()> upstream;  // whose CPU is the upstream's
  std::vector<WrkResult> results;
};

// One wrk run against t, with the CPU each side used during it.
WrkResult measure(const Options& o, const Target& t, int duration_s) {
  auto proxy_files = t.proxy();
  auto upstream_files = t.upstream ? t.upstream() : std::vector<std::string>{};
  double proxy0 = bench::cpu_ns(proxy_files), upstream0 = bench::cpu_ns(upstream_files);
  WrkResult r = bench::run_wrk(o.cpus.load, o.wrk_threads, o.connections, duration_s, t.port, t.path, kKeyHeader);
  if (r.requests > 0) {
    r.proxy_cpu_us = (bench::cpu_ns(proxy_files) - proxy0) / 1000 / r.requests;
    r.upstream_cpu_us = (bench::cpu_ns(upstream_files) - upstream0) / 1000 / r.requests;
  }
  return r;
}

double median_of(const Target& t, double WrkResult::*field) {
  std::vector<double> v;
  for (const auto& r : t.results) v.push_back(r.*field);
  return bench::median(v);
}

// One proxy against nginx: the ratios of the medians, and the median of the
// ratios within each round (the two ran seconds apart, so a load burst from
// other work on the machine moves both sides of each ratio far more than it
// moves the median of each side taken apart), with its interval.
struct Comparison {
  double rps = 0, p50 = 0, p99 = 0, cpu = 0;                // ratios of the medians
  double round_rps = 0, round_p99 = 0;                      // medians of the per-round ratios
  bench::RatioInterval rps_ci, p99_ci;
};

Comparison compare(const Target& a, const Target& ngx) {
  Comparison c;
  c.rps = median_of(a, &WrkResult::rps) / median_of(ngx, &WrkResult::rps);
  c.p50 = median_of(a, &WrkResult::p50_ms) / median_of(ngx, &WrkResult::p50_ms);
  c.p99 = median_of(a, &WrkResult::p99_ms) / median_of(ngx, &WrkResult::p99_ms);
  c.cpu = median_of(a, &WrkResult::proxy_cpu_us) / median_of(ngx, &WrkResult::proxy_cpu_us);
  auto rps = bench::round_ratios(a.results, ngx.results, &WrkResult::rps);
  auto p99 = bench::round_ratios(a.results, ngx.results, &WrkResult::p99_ms);
  c.round_rps = bench::median(rps);
  c.round_p99 = bench::median(p99);
  c.rps_ci = bench::median_interval(rps);
  c.p99_ci = bench::median_interval(p99);
  return c;
}

void print_comparison(const char* name, const Comparison& c) {
  std::printf("  %s/nginx: req/s %.3f (>= 1 is better), p50 %.3f, p99 %.3f and CPU per request %.3f (<= 1 is "
              "better)\n",
              name, c.rps, c.p50, c.p99, c.cpu);
  std::printf("  %s/nginx within each round, median over rounds: req/s %.3f, p99 %.3f\n", name, c.round_rps,
              c.round_p99);
  std::printf("  interval of that median (%.1f%% confidence, from the rounds' order): req/s %.3f-%.3f (%s), "
              "p99 %.3f-%.3f (%s)\n",
              100 * c.rps_ci.confidence, c.rps_ci.lo, c.rps_ci.hi, bench::verdict(c.rps_ci, true), c.p99_ci.lo,
              c.p99_ci.hi, bench::verdict(c.p99_ci, false));
}

void print_medians(const std::vector<Target>& targets, const Options& o) {
  std::printf("\nmedian over %d rounds:        req/s     p50 ms     p99 ms   proxy us/req  upstream us/req\n",
              o.rounds);
  for (const auto& t : targets)
    std::printf("  %-8s              %9.0f  %9.2f  %9.2f  %13.1f  %15.1f\n", t.name, median_of(t, &WrkResult::rps),
                median_of(t, &WrkResult::p50_ms), median_of(t, &WrkResult::p99_ms),
                median_of(t, &WrkResult::proxy_cpu_us), median_of(t, &WrkResult::upstream_cpu_us));
}

// --tls: forward and nginx only.
void report_tls(const std::vector<Target>& targets, const Options& o) {
  const Target &fwd = targets[0], &ngx = targets[1];
  print_medians(targets, o);
  const Comparison f = compare(fwd, ngx);
  print_comparison("forward", f);
  std::printf(
      "{\"bench\":\"router_tls\",\"router_forward_rps\":%.0f,\"nginx_rps\":%.0f,\"rps_ratio\":%.3f,"
      "\"router_forward_p99_ms\":%.3f,\"nginx_p99_ms\":%.3f,\"p99_ratio\":%.3f,"
      "\"rps_ratio_per_round\":%.3f,\"p99_ratio_per_round\":%.3f,"
      "\"rps_ratio_interval\":[%.3f,%.3f],\"p99_ratio_interval\":[%.3f,%.3f],\"interval_confidence\":%.4f,"
      "\"rps_verdict\":\"%s\",\"p99_verdict\":\"%s\","
      "\"router_forward_cpu_us_per_req\":%.1f,\"nginx_cpu_us_per_req\":%.1f,\"cpu_ratio\":%.3f,"
      "\"proxy_threads\":%d,\"upstream_threads\":%d,\"connections\":%d,\"duration_s\":%d,\"rounds\":%d,"
      "\"pinned\":%s}\n",
      median_of(fwd, &WrkResult::rps), median_of(ngx, &WrkResult::rps), f.rps, median_of(fwd, &WrkResult::p99_ms),
      median_of(ngx, &WrkResult::p99_ms), f.p99, f.round_rps, f.round_p99, f.rps_ci.lo, f.rps_ci.hi, f.p99_ci.lo,
      f.p99_ci.hi, f.rps_ci.confidence, bench::verdict(f.rps_ci, true), bench::verdict(f.p99_ci, false),
      median_of(fwd, &WrkResult::proxy_cpu_us), median_of(ngx, &WrkResult::proxy_cpu_us), f.cpu, o.proxy_threads,
      o.upstream_threads, o.connections, o.duration_s, o.rounds, o.cpus.load.empty() ? "false" : "true");
}

void report(const std::vector<Target>& targets, const Options& o) {
  if (o.tls) return report_tls(targets, o);
  const Target &fwd = targets[0], &ngx = targets[1], &local = targets[2], &soa = targets[3];
  print_medians(targets, o);
  const Comparison f = compare(fwd, ngx), s = compare(soa, ngx);
  print_comparison("forward", f);
  print_comparison("soa", s);
  std::printf(
      "{\"bench\":\"router\",\"router_forward_rps\":%.0f,\"nginx_rps\":%.0f,\"rps_ratio\":%.3f,"
      "\"router_forward_p50_ms\":%.3f,\"nginx_p50_ms\":%.3f,"
      "\"router_forward_p99_ms\":%.3f,\"nginx_p99_ms\":%.3f,\"p99_ratio\":%.3f,"
      "\"rps_ratio_per_round\":%.3f,\"p99_ratio_per_round\":%.3f,"
      "\"rps_ratio_interval\":[%.3f,%.3f],\"p99_ratio_interval\":[%.3f,%.3f],\"interval_confidence\":%.4f,"
      "\"rps_verdict\":\"%s\",\"p99_verdict\":\"%s\",\"router_local_rps\":%.0f,"
      "\"router_forward_cpu_us_per_req\":%.1f,\"nginx_cpu_us_per_req\":%.1f,\"cpu_ratio\":%.3f,"
      "\"soa_rps\":%.0f,\"soa_p99_ms\":%.3f,\"soa_cpu_us_per_req\":%.1f,\"soa_rps_ratio_per_round\":%.3f,"
      "\"soa_p99_ratio_per_round\":%.3f,\"soa_rps_ratio_interval\":[%.3f,%.3f],"
      "\"soa_p99_ratio_interval\":[%.3f,%.3f],\"soa_rps_verdict\":\"%s\",\"soa_p99_verdict\":\"%s\","
      "\"soa_cpu_ratio\":%.3f,"
      "\"proxy_threads\":%d,\"upstream_threads\":%d,\"connections\":%d,\"duration_s\":%d,\"rounds\":%d,"
      "\"pinned\":%s,\"wrk_cpus\":\"%s\",\"server_cpus\":\"%s\"}\n",
      median_of(fwd, &WrkResult::rps), median_of(ngx, &WrkResult::rps), f.rps, median_of(fwd, &WrkResult::p50_ms),
      median_of(ngx, &WrkResult::p50_ms), median_of(fwd, &WrkResult::p99_ms), median_of(ngx, &WrkResult::p99_ms),
      f.p99, f.round_rps, f.round_p99, f.rps_ci.lo, f.rps_ci.hi, f.p99_ci.lo, f.p99_ci.hi, f.rps_ci.confidence,
      bench::verdict(f.rps_ci, true), bench::verdict(f.p99_ci, false), median_of(local, &WrkResult::rps),
      median_of(fwd, &WrkResult::proxy_cpu_us), median_of(ngx, &WrkResult::proxy_cpu_us), f.cpu,
      median_of(soa, &WrkResult::rps), median_of(soa, &WrkResult::p99_ms), median_of(soa, &WrkResult::proxy_cpu_us),
      s.round_rps, s.round_p99, s.rps_ci.lo, s.rps_ci.hi, s.p99_ci.lo, s.p99_ci.hi, bench::verdict(s.rps_ci, true),
      bench::verdict(s.p99_ci, false), s.cpu, o.proxy_threads, o.upstream_threads, o.connections, o.duration_s,
      o.rounds, o.cpus.load.empty() ? "false" : "true", cpu_list(o.cpus.load).c_str(),
      cpu_list(o.cpus.servers).c_str());
}

// Every path answers 200 from sh before anything is measured (with --tls,
// the two proxies: sh itself then speaks TLS only).
bool check_paths(uint16_t bj_port, uint16_t nginx_port, uint16_t sh_port, bool tls) {
  bool ok = false;
  for (int i = 0; i < 100 && !ok; ++i) {  // nginx needs a moment to listen
    ok = test::http_call(nginx_port, "GET", kTarget, {{"X-Ezone-Key", "merchant=8812"}}, "", 200).status == 200;
    if (!ok) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  const bool proxies = check_path("forward", bj_port, kTarget, "sh") && check_path("nginx", nginx_port, kTarget, "sh");
  if (tls) return proxies;
  return proxies && check_path("local", sh_port, kTarget, "sh") && check_path("soa", bj_port, kSoaTarget, "sh");
}

void run_rounds(std::vector<Target>& targets, const Options& o) {
  std::printf("wrk -t%d -c%d -d%ds --latency; bj I/O threads = nginx workers = %d; sh I/O threads = %d\n",
              o.wrk_threads, o.connections, o.duration_s, o.proxy_threads, o.upstream_threads);
  if (o.cpus.load.empty())
    std::printf("CPUs: not pinned (wrk, proxies and upstream share every CPU)\n");
  else
    std::printf("CPUs: wrk on %s; proxies (bj, nginx) and upstream (sh) on %s\n", cpu_list(o.cpus.load).c_str(),
                cpu_list(o.cpus.servers).c_str());
  for (auto& t : targets) measure(o, t, 1);  // warm up pools and caches
  std::printf("%-6s %-8s %10s %9s %9s %13s %15s\n", "round", "path", "req/s", "p50 ms", "p99 ms", "proxy us/req",
              "upstream us/req");
  for (int round = 0; round < o.rounds; ++round) {
    for (size_t k = 0; k < targets.size(); ++k) {
      // Rotate the order each round so no path always runs first.
      Target& t = targets[(k + static_cast<size_t>(round)) % targets.size()];
      WrkResult r = measure(o, t, o.duration_s);
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
  bench::TempDir dir;
  if (dir.path().empty()) return std::perror("mkdtemp"), 1;
  Metrics sh_metrics("sh"), bj_metrics("bj");
  net::TlsContextPtr serve_tls, forward_tls;
  std::string nginx_ca;
  if (o.tls) {
    const std::string certs = std::string(EZONE_SOURCE_DIR) + "/tests/data/tls";
    auto server = net::TlsContext::server({certs + "/node.crt", certs + "/node.key", ""});
    auto client = net::TlsContext::client({"", "", certs + "/ca.crt"});
    if (!server || !client) return std::fprintf(stderr, "cannot load the certificates in %s\n", certs.c_str()), 1;
    serve_tls = *server;
    forward_tls = *client;
    nginx_ca = dir.path() + "/ca.crt";  // where nginx's workers (maybe another user) can read it
    std::filesystem::copy_file(certs + "/ca.crt", nginx_ca);
    ::chmod(nginx_ca.c_str(), 0644);
  }
  uint16_t sh_port = 0;
  auto sh = start_router("sh", "sh", &sh_port, o.upstream_threads, sh_metrics, {}, nullptr, serve_tls);
  sh_port = sh->port();
  // bj's lanes carry its SOA proxy's calls too.
  auto bj_io = IoThreads::start(o.proxy_threads, "rt-bj");
  // (Not with --tls: its instance, sh, would then speak TLS to its plain probes.)
  std::unique_ptr<SoaProxy> soa = o.tls ? nullptr : start_soa(sh_port, bj_io, bj_metrics);
  auto bj = start_router("bj", "sh", &sh_port, o.proxy_threads, bj_metrics,
                         soa ? soa->endpoints() : std::vector<Endpoint>{}, bj_io, nullptr, forward_tls);
  uint16_t nginx_port = test::free_loopback_port();
  bench::Nginx nginx(dir.path(), nginx_port, sh_port, o.proxy_threads, nginx_ca);
  if (!nginx.started()) return std::fprintf(stderr, "cannot start nginx\n"), 1;
  if (!check_paths(bj->port(), nginx_port, sh_port, o.tls))
    return std::fprintf(stderr, "a path does not work; see %s/error.log\n", dir.path().c_str()), 1;

  auto bj_lanes = [] { return bench::lane_threads("rt-bj"); };
  auto sh_lanes = [] { return bench::lane_threads("rt-sh"); };
  auto nginx_cpu = [master = nginx.pid()] { return bench::nginx_processes(master); };
  std::vector<Target> targets = {{"forward", bj->port(), kTarget, bj_lanes, sh_lanes, {}},
                                 {"nginx", nginx_port, kTarget, nginx_cpu, sh_lanes, {}},
                                 {"local", sh_port, kTarget, sh_lanes, nullptr, {}},
                                 {"soa", bj->port(), kSoaTarget, bj_lanes, sh_lanes, {}}};
  if (o.tls) targets.resize(2);  // forward and nginx
  run_rounds(targets, o);
  report(targets, o);
  bj->stop();
  if (soa) soa->stop();
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
    else if (std::string(argv[i]) == "--tls") o.tls = true;
  if (o.rounds < 1 || o.duration_s < 1 || o.connections < 1 || o.wrk_threads < 1 || o.proxy_threads < 1 ||
      o.upstream_threads < 1) {
    std::fprintf(stderr,
                 "usage: router_bench [--rounds 5] [--duration 4] [--connections 64] [--wrk-threads 2] "
                 "[--proxy-threads 1] [--upstream-threads 1] [--no-pin] [--tls]\n");
    return 2;
  }
  return ezone::run(o);
}
