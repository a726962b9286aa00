#include "tools/bench/router/bench_parts.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tools/bench/router/cpu_layout.hpp"

namespace ezone::bench {

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

Nginx::Nginx(const std::string& dir, uint16_t port, uint16_t upstream_port, int workers,
             const std::string& upstream_ca) {
  std::string conf = dir + "/nginx.conf";
  std::ofstream(conf) << config(dir, port, upstream_port, workers, upstream_ca);
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
Nginx::~Nginx() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGQUIT);  // graceful: the master takes its workers with it
  for (int i = 0; i < 100; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
}
std::string Nginx::config(const std::string& dir, uint16_t port, uint16_t upstream_port, int workers,
                          const std::string& upstream_ca) {
  std::string d = dir + "/";
  const std::string tls = upstream_ca.empty() ? ""
                                              : "      proxy_ssl_trusted_certificate " + upstream_ca +
                                                    ";\n"
                                                    "      proxy_ssl_verify on;\n"
                                                    "      proxy_ssl_name localhost;\n"
                                                    "      proxy_ssl_session_reuse on;\n";
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
         "      proxy_pass " + (upstream_ca.empty() ? "http" : "https") + "://sh;\n"
         "      proxy_http_version 1.1;\n"
         "      proxy_set_header Connection \"\";\n" +
         tls +
         "    }\n"
         "  }\n"
         "}\n";
}

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

WrkResult run_wrk(const std::vector<int>& load, int threads, int connections, int duration_s, uint16_t port,
                  const std::string& path, const std::string& header) {
  std::string pin = load.empty() ? "" : "taskset -c " + cpu_list(load) + " ";
  std::string cmd = pin + "wrk -t" + std::to_string(threads) + " -c" + std::to_string(connections) + " -d" +
                    std::to_string(duration_s) + "s --latency -H '" + header + "' http://127.0.0.1:" +
                    std::to_string(port) + path + " 2>&1";
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

TempDir::TempDir() {
  char name[] = "/tmp/ezone-bench-router-XXXXXX";
  if (::mkdtemp(name)) path_ = name;
  ::chmod(path_.c_str(), 0755);  // nginx workers may run as another user
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::vector<double> round_ratios(const std::vector<WrkResult>& a, const std::vector<WrkResult>& b,
                                 double WrkResult::*field) {
  std::vector<double> v;
  for (size_t i = 0; i < a.size() && i < b.size(); ++i)
    if (b[i].*field > 0) v.push_back(a[i].*field / (b[i].*field));
  return v;
}

RatioInterval median_interval(std::vector<double> v) {
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

const char* verdict(const RatioInterval& i, bool better_high) {
  if (i.lo > 1) return better_high ? "ahead" : "behind";
  if (i.hi < 1) return better_high ? "behind" : "ahead";
  return "level within noise";
}

}  // namespace ezone::bench
