// failure_detection: how long until a survivor knows that its peer was
// killed (kill -9), hung (SIGSTOP) or restarted, on a real two-zone cluster
// (etcd + two ezoned processes on loopback).
//
//   failure_detection [--runs N]
//
// The survivor stamps each membership change with its wall clock; the bench
// stamps the moment it signals the peer. Both run on this machine, so the
// difference is the detection time. Baselines, measured in the same run:
//   kill -9    the kernel's floor: a plain TCP connection to the victim sees
//              EOF/RST (the fastest any detector on this machine can be);
//   SIGSTOP    a naive detector in the bench: GET /healthz on the victim every
//              peer_ping_interval_ms, down after peer_down_after_ms silence
//              (the same budget ezoned is configured with);
//   restart    the restarted process answering its own /healthz: ezoned can
//              know no earlier than the peer is up.
// The last line is one JSON object with the figures, the baselines and ratios.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.hpp"
#include "storage/net/http_client.hpp"
#include "tests/integration/local_cluster.hpp"

namespace {

using ezone::HostPort;
using ezone::SystemClock;
using ezone::test::LocalCluster;
using nlohmann::json;

constexpr int64_t kPingMs = 100;
constexpr int64_t kDownAfterMs = 600;
constexpr int64_t kWaitMaxMs = 15000;

int64_t wall_ms() { return SystemClock::instance().wall_ms(); }

struct Stats {
  std::vector<double> values;
  double median() const {
    if (values.empty()) return -1;
    std::vector<double> v = values;
    std::sort(v.begin(), v.end());
    return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
  }
  double max() const { return values.empty() ? -1 : *std::max_element(values.begin(), values.end()); }
  json to_json() const { return json{{"median", median()}, {"max", max()}, {"n", values.size()}}; }
};

// Polls the observer until it reports `state` for `peer` (a change newer than
// after_ms); returns the change's wall time, or -1 after kWaitMaxMs.
int64_t wait_state(const LocalCluster& c, const std::string& observer, const std::string& peer,
                   const std::string& state, int64_t after_ms) {
  int64_t deadline = wall_ms() + kWaitMaxMs;
  while (wall_ms() < deadline) {
    auto s = c.status(observer, 1000);
    if (s) {
      json p = LocalCluster::peer_entry(*s, peer);
      if (p.value("state", "") == state && p.value("since_ms", int64_t{0}) >= after_ms)
        return p["since_ms"].get<int64_t>();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return -1;
}

int connect_tcp(const HostPort& to) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(to.port);
  ::inet_pton(AF_INET, to.host.c_str(), &a.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Wall time at which fd saw EOF or an error, or -1.
int64_t wait_eof(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(kWaitMaxMs)) <= 0) return -1;
  int64_t at = wall_ms();
  char buf[64];
  return ::recv(fd, buf, sizeof(buf), 0) <= 0 ? at : -1;
}

// The naive detector: GET /healthz every kPingMs; down when no answer has
// come for kDownAfterMs. Returns the wall time it declared down, or -1.
int64_t naive_detector(const HostPort& admin, int64_t started_ms) {
  int64_t last_ok = started_ms;
  while (wall_ms() - started_ms < kWaitMaxMs) {
    auto r = ezone::net::http_request(admin, "GET", "/healthz", "", "", kPingMs);
    if (r && r->status == 200) last_ok = wall_ms();
    if (wall_ms() - last_ok >= kDownAfterMs) return wall_ms();
    std::this_thread::sleep_for(std::chrono::milliseconds(kPingMs));
  }
  return -1;
}

struct Results {
  Stats kill9, kill9_base, sigstop, sigstop_base, reconnect, reconnect_base;
  int failures = 0;
};

void record(Stats& s, int64_t at, int64_t t0, int& failures) {
  if (at < 0) ++failures;
  else s.values.push_back(static_cast<double>(at - t0));
}

void run_once(LocalCluster& c, Results& r) {
  const HostPort admin = c.addresses("sh").admin;
  if (wait_state(c, "bj", "sh", "up", 0) < 0) return void(++r.failures);

  int fd = connect_tcp(admin);
  int64_t t0 = wall_ms();
  c.process("sh").kill9();
  record(r.kill9_base, fd >= 0 ? wait_eof(fd) : -1, t0, r.failures);
  if (fd >= 0) ::close(fd);
  record(r.kill9, wait_state(c, "bj", "sh", "down", t0), t0, r.failures);

  t0 = wall_ms();
  if (!c.start_zone("sh").is_ok()) return void(++r.failures);
  record(r.reconnect_base, c.wait_ready("sh", kWaitMaxMs).is_ok() ? wall_ms() : -1, t0, r.failures);
  record(r.reconnect, wait_state(c, "bj", "sh", "up", t0), t0, r.failures);

  t0 = wall_ms();
  c.process("sh").sigstop();
  record(r.sigstop, wait_state(c, "bj", "sh", "down", t0), t0, r.failures);
  record(r.sigstop_base, naive_detector(admin, t0), t0, r.failures);
  c.process("sh").sigcont();
}

double ratio(const Stats& a, const Stats& b) { return b.median() > 0 ? a.median() / b.median() : -1; }

}  // namespace

int main(int argc, char** argv) {
  int runs = 10;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--runs") && i + 1 < argc) runs = std::max(1, std::atoi(argv[++i]));

  ezone::test::LocalClusterOptions options;
  options.log_level = "warn";
  options.timeouts_toml = "peer_ping_interval_ms = " + std::to_string(kPingMs) +
                          "\npeer_down_after_ms = " + std::to_string(kDownAfterMs) + "\n";
  auto cluster = LocalCluster::start(options);
  if (!cluster) {
    std::fprintf(stderr, "failure_detection: cannot start the cluster: %s\n",
                 cluster.status().to_string().c_str());
    return 1;
  }
  Results r;
  for (int i = 0; i < runs; ++i) {
    run_once(**cluster, r);
    std::fprintf(stderr, "run %d/%d: kill9 %.0f ms, restart %.0f ms, sigstop %.0f ms\n", i + 1, runs,
                 r.kill9.values.empty() ? -1.0 : r.kill9.values.back(),
                 r.reconnect.values.empty() ? -1.0 : r.reconnect.values.back(),
                 r.sigstop.values.empty() ? -1.0 : r.sigstop.values.back());
  }
  std::printf("%-10s %10s %10s %14s %10s\n", "event", "median_ms", "max_ms", "baseline_med", "ratio");
  auto line = [](const char* name, const Stats& s, const Stats& b) {
    std::printf("%-10s %10.1f %10.1f %14.1f %10.2f\n", name, s.median(), s.max(), b.median(), ratio(s, b));
  };
  line("kill9", r.kill9, r.kill9_base);
  line("sigstop", r.sigstop, r.sigstop_base);
  line("restart", r.reconnect, r.reconnect_base);
  json out{{"bench", "failure_detection"},
           {"runs", runs},
           {"failures", r.failures},
           {"kill9_ms", r.kill9.to_json()},
           {"kill9_baseline_ms", r.kill9_base.to_json()},
           {"kill9_ratio", ratio(r.kill9, r.kill9_base)},
           {"sigstop_ms", r.sigstop.to_json()},
           {"sigstop_baseline_ms", r.sigstop_base.to_json()},
           {"sigstop_ratio", ratio(r.sigstop, r.sigstop_base)},
           {"reconnect_ms", r.reconnect.to_json()},
           {"reconnect_baseline_ms", r.reconnect_base.to_json()},
           {"reconnect_ratio", ratio(r.reconnect, r.reconnect_base)},
           {"targets_ms", {{"kill9", 50}, {"sigstop", 1000}, {"reconnect", 500}}}};
  std::printf("%s\n", out.dump().c_str());
  return r.failures == 0 ? 0 : 1;
}
