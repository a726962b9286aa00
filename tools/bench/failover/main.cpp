// failover_bench: the disaster-recovery figures of issue 6, on real ezoned
// processes and a three-member etcd (bj's member, sh's member, a witness),
// all on loopback:
//   - the write-forbidden window of planned switchovers while a paced client
//     offers --rate writes/s to the moving shard (the coordinator's window,
//     from E1 to E2 committing, and the longest gap between two
//     acknowledged writes that the client saw around it);
//   - the RTO after kill -9 of the zone that owns the shard together with
//     its etcd member: from the kill until the survivor acknowledges a
//     write for that shard, as the client sees it (median and max);
//   - the baseline in the same run: etcd's own leader failover, kill -9 of
//     the leader until a put through a surviving member succeeds.
// After every phase it checks that every acknowledged write is present at
// both sites; anything lost is listed and fails the run.
//
//   failover_bench [--runs N] [--switchovers N] [--rate R] [--lease-ttl-s S]
//                  [--skew-margin-ms M]
// Last line: one JSON object with the figures, the baseline and the ratios.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/net/http_client.hpp"
#include "tests/integration/local_cluster.hpp"
#include "tests/integration/shard_writer.hpp"
#include "tests/support/test_schema.hpp"
#include "tests/support/etcd_process.hpp"

namespace {

using namespace ezone;
using namespace ezone::test;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr ShardId kShard = 1;  // "squares" in config/shards/test-fences.toml

struct Flags {
  int runs = 5;
  int switchovers = 6;
  double rate = 2000;
  int64_t lease_ttl_s = 1;
  int64_t skew_margin_ms = 300;
};

int64_t ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}
double max_of(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

template <typename F>
bool wait_for(F f, int64_t timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return f();
}

// Every acknowledged order at both sites; returns the missing ones.
std::vector<std::string> lost_orders(LocalCluster& c, const std::map<int64_t, Ack>& acks) {
  std::vector<std::string> lost;
  if (!wait_for([&] { return replication_caught_up(c); }, 60000)) lost.push_back("the sites did not converge within 60 s");
  auto bj_read = orders_at(c, "bj"), sh_read = orders_at(c, "sh");
  if (!bj_read || !sh_read) {
    lost.push_back("cannot read the orders: " + (bj_read ? sh_read.status() : bj_read.status()).to_string());
    return lost;
  }
  const std::set<int64_t>& bj = *bj_read;
  const std::set<int64_t>& sh = *sh_read;
  for (const auto& [id, ack] : acks) {
    if (!bj.count(id)) lost.push_back("order " + std::to_string(id) + " (acked by " + ack.zone + ") missing at bj");
    if (!sh.count(id)) lost.push_back("order " + std::to_string(id) + " (acked by " + ack.zone + ") missing at sh");
  }
  return lost;
}

// The longest interval between consecutive acknowledgements in [from, to].
double longest_gap_ms(const std::map<int64_t, Ack>& acks, Clock::time_point from, Clock::time_point to) {
  std::vector<Clock::time_point> times;
  for (const auto& [id, ack] : acks)
    if (ack.at >= from && ack.at <= to) times.push_back(ack.at);
  std::sort(times.begin(), times.end());
  double gap = 0;
  for (size_t i = 1; i < times.size(); ++i)
    gap = std::max(gap, std::chrono::duration<double, std::milli>(times[i] - times[i - 1]).count());
  return gap;
}

struct SwitchoverFigures {
  std::vector<double> window_ms, client_gap_ms;
  double achieved_rate = 0;
  std::vector<std::string> lost;
};

SwitchoverFigures measure_switchovers(LocalCluster& c, const Flags& f) {
  SwitchoverFigures out;
  ShardWriterOptions wo;
  wo.shard = kShard;
  wo.threads = 32;  // synchronous writers, each waiting for a durable group commit
  wo.rate_per_s = f.rate;
  ShardWriter writer(c, wo);
  const auto began = Clock::now();
  writer.start();
  std::this_thread::sleep_for(std::chrono::seconds(2));  // warm up at the offered rate
  for (int i = 0; i < f.switchovers; ++i) {
    std::string owner = shard_route(c, "bj", kShard).value("owner", "");
    std::string to = owner == "bj" ? "sh" : "bj";
    std::string id = "bench-so-" + std::to_string(i) + "-" + std::to_string(std::time(nullptr));
    const auto t0 = Clock::now();
    auto [code, text] = c.ezctl(owner, {"switchover", "--shards", "squares", "--to", to, "--id", id});
    if (code != 0) {
      std::fprintf(stderr, "switchover %s failed (%d): %s\n", id.c_str(), code, text.c_str());
      continue;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // writes resume at the new owner
    json w = admin_json(c, to, "/admin/v1/workflows/" + id);
    double window = w.value("window_ms", 0.0);
    double gap = longest_gap_ms(writer.acks(), t0, Clock::now());
    out.window_ms.push_back(window);
    out.client_gap_ms.push_back(gap);
    std::string steps;
    int64_t t_prev = 0;
    for (const json& e : w.value("events", json::array())) {
      int64_t t = e.value("wall_ms", int64_t{0});
      if (t_prev) steps += " +" + std::to_string(t - t_prev) + "ms " + e.value("step", "?");
      else steps += e.value("step", "?");
      t_prev = t;
    }
    std::printf("switchover %d %s -> %s: window %.0f ms (coordinator), longest client gap %.0f ms; %s\n", i,
                owner.c_str(), to.c_str(), window, gap, steps.c_str());
    std::fflush(stdout);
  }
  writer.stop();
  out.achieved_rate = writer.acked() / (ms_since(began) / 1000.0);
  out.lost = lost_orders(c, writer.acks());
  return out;
}

struct RtoFigures {
  std::vector<double> rto_ms;
  std::vector<std::string> lost;
};

RtoFigures measure_rto(LocalCluster& c, const Flags& f) {
  RtoFigures out;
  ShardWriterOptions wo;
  wo.shard = kShard;
  wo.threads = 4;
  wo.rate_per_s = 500;
  wo.first_id = 10'000'000;
  std::map<int64_t, Ack> all_acks;
  for (int run = 0; run < f.runs; ++run) {
    std::string victim = shard_route(c, "bj", kShard).value("owner", "");
    std::string survivor = victim == "bj" ? "sh" : "bj";
    size_t member = victim == "bj" ? 0 : 1;
    wo.first_id += 1'000'000;
    ShardWriter writer(c, wo);
    writer.start();
    wait_for([&] { return writer.acked() >= 200; }, 20000);
    c.process(victim).kill9();
    c.etcd_member(member).kill9();
    const auto killed = Clock::now();
    bool recovered = wait_for([&] {
      for (const auto& [id, ack] : writer.acks())
        if (ack.zone == survivor && ack.at > killed) return true;
      return false;
    }, 30000);
    double rto = std::chrono::duration<double, std::milli>(Clock::now() - killed).count();
    if (recovered) {
      // The first acknowledgement by the survivor after the kill, exactly.
      Clock::time_point first = Clock::time_point::max();
      for (const auto& [id, ack] : writer.acks())
        if (ack.zone == survivor && ack.at > killed) first = std::min(first, ack.at);
      rto = std::chrono::duration<double, std::milli>(first - killed).count();
      out.rto_ms.push_back(rto);
    }
    std::printf("run %d: kill -9 %s (ezoned + etcd member): %s serves the shard after %.0f ms%s\n", run,
                victim.c_str(), survivor.c_str(), rto, recovered ? "" : " (NOT recovered within 30 s)");
    std::fflush(stdout);
    writer.stop();
    for (const auto& [id, ack] : writer.acks()) all_acks[id] = ack;
    // Bring the victim back, and let it catch up, before the next run.
    Status back = c.etcd_member(member).restart(/*wait_until_healthy=*/false);
    if (back) back = c.start_zone(victim);
    if (back) back = c.wait_ready(victim, 60000);
    if (!back || !wait_for([&] { return replication_caught_up(c); }, 60000)) {
      out.lost.push_back("run " + std::to_string(run) + ": " + victim + " did not come back: " + back.to_string());
      break;
    }
  }
  auto lost = lost_orders(c, all_acks);
  out.lost.insert(out.lost.end(), lost.begin(), lost.end());
  return out;
}

// The etcd member that leads, asked through any member that answers.
int etcd_leader(EtcdCluster& etcd) {
  for (size_t i = 0; i < etcd.size(); ++i) {
    auto r = net::http_request(etcd.member(i).endpoint(), "POST", "/v3/maintenance/status", "{}", "application/json", 1000);
    if (!r || r->status != 200) continue;
    json s = json::parse(r->body, nullptr, false);
    if (!s.is_object()) continue;
    std::string leader = s.value("leader", "");
    if (leader.empty()) continue;
    for (size_t j = 0; j < etcd.size(); ++j) {
      auto m = net::http_request(etcd.member(j).endpoint(), "POST", "/v3/maintenance/status", "{}", "application/json", 1000);
      if (!m || m->status != 200) continue;
      json ms = json::parse(m->body, nullptr, false);
      if (ms.is_object() && ms["header"].value("member_id", "") == leader) return static_cast<int>(j);
    }
  }
  return -1;
}

std::vector<double> measure_etcd_failover(int runs) {
  std::vector<double> out;
  auto etcd = EtcdCluster::start(3);
  if (!etcd) {
    std::fprintf(stderr, "etcd baseline: %s\n", etcd.status().to_string().c_str());
    return out;
  }
  for (int run = 0; run < runs; ++run) {
    int leader = etcd_leader(**etcd);
    if (leader < 0) break;
    (*etcd)->member(leader).kill9();
    const auto killed = Clock::now();
    size_t other = (leader + 1) % 3;
    json put{{"key", "YmVuY2g="}, {"value", "MQ=="}};  // base64 "bench" = "1"
    bool ok = wait_for([&] {
      auto r = net::http_request((*etcd)->member(other).endpoint(), "POST", "/v3/kv/put", put.dump(),
                                 "application/json", 200);
      return r && r->status == 200 && r->body.find("error") == std::string::npos;
    }, 20000);
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - killed).count();
    std::printf("etcd run %d: leader %d killed, a put succeeds after %.0f ms\n", run, leader, ms);
    if (ok) out.push_back(ms);
    (void)(*etcd)->member(leader).restart(false);
    wait_for([&] { return (*etcd)->wait_healthy(500).is_ok(); }, 20000);
  }
  return out;
}

bool parse_flags(int argc, char** argv, Flags* f) {
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    double v = std::atof(argv[i + 1]);
    if (k == "--runs") f->runs = static_cast<int>(v);
    else if (k == "--switchovers") f->switchovers = static_cast<int>(v);
    else if (k == "--rate") f->rate = v;
    else if (k == "--lease-ttl-s") f->lease_ttl_s = static_cast<int64_t>(v);
    else if (k == "--skew-margin-ms") f->skew_margin_ms = static_cast<int64_t>(v);
    else return std::fprintf(stderr, "unknown flag %s\n", k.c_str()), false;
  }
  if (argc % 2 == 0) return std::fprintf(stderr, "every flag takes a value\n"), false;
  return f->runs > 0 && f->switchovers >= 0 && f->rate > 0 && f->lease_ttl_s > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  if (!parse_flags(argc, argv, &f)) {
    std::fprintf(stderr, "usage: failover_bench [--runs N] [--switchovers N] [--rate R] [--lease-ttl-s S] [--skew-margin-ms M]\n");
    return 2;
  }
  char tmpl[] = "/tmp/ezone-failover-bench-XXXXXX";
  if (!::mkdtemp(tmpl)) return 1;
  const std::string dir = tmpl;
  std::ofstream(dir + "/schema.toml") << kOrdersUsersSchema;
  LocalClusterOptions options;
  options.etcd_members = 3;  // bj's, sh's and a witness
  options.gzs_toml = "shards_file = \"" + std::string(EZONE_SOURCE_DIR) + "/config/shards/test-fences.toml\"\n";
  options.timeouts_toml = "lease_ttl_s = " + std::to_string(f.lease_ttl_s) + "\netcd_check_interval_ms = 100\n";
  options.log_level = "warn";
  options.extra_toml = "[dal]\nschema_file = \"" + dir + "/schema.toml\"\n\n[drc]\npull_wait_ms = 200\n"
                       "pull_timeout_ms = 1000\nretry_ms = 20\n\n[coordinator]\nauto_failover = true\n"
                       "skew_margin_ms = " + std::to_string(f.skew_margin_ms) + "\n";
  options.ready_timeout_ms = 60000;
  SwitchoverFigures so;
  RtoFigures rto;
  {
    auto cluster = LocalCluster::start(options);
    if (!cluster) {
      std::fprintf(stderr, "cluster: %s\n", cluster.status().to_string().c_str());
      return 1;
    }
    std::printf("cluster up: bj, sh and 3 etcd members; lease %lld s, skew margin %lld ms\n",
                static_cast<long long>(f.lease_ttl_s), static_cast<long long>(f.skew_margin_ms));
    so = measure_switchovers(**cluster, f);
    rto = measure_rto(**cluster, f);
  }
  std::vector<double> etcd = measure_etcd_failover(f.runs);
  std::system(("rm -rf '" + dir + "'").c_str());

  std::vector<std::string> lost = so.lost;
  lost.insert(lost.end(), rto.lost.begin(), rto.lost.end());
  for (const std::string& l : lost) std::printf("LOST: %s\n", l.c_str());
  const double rto_med = median(rto.rto_ms), etcd_med = median(etcd);
  std::printf("\nswitchover window: median %.0f ms, max %.0f ms (target < 300) at %.0f writes/s offered, %.0f achieved\n",
              median(so.window_ms), max_of(so.window_ms), f.rate, so.achieved_rate);
  std::printf("client-seen longest gap around a switchover: median %.0f ms, max %.0f ms\n", median(so.client_gap_ms),
              max_of(so.client_gap_ms));
  std::printf("RTO after kill -9 (ezoned + its etcd member): median %.0f ms, max %.0f ms over %zu runs (target < 3000)\n",
              rto_med, max_of(rto.rto_ms), rto.rto_ms.size());
  std::printf("baseline, etcd leader failover: median %.0f ms, max %.0f ms\n", etcd_med, max_of(etcd));
  json out{{"bench", "failover"},
           {"switchover_window_ms_median", median(so.window_ms)},
           {"switchover_window_ms_max", max_of(so.window_ms)},
           {"switchover_client_gap_ms_max", max_of(so.client_gap_ms)},
           {"offered_writes_per_s", f.rate},
           {"achieved_writes_per_s", so.achieved_rate},
           {"rto_ms_median", rto_med},
           {"rto_ms_max", max_of(rto.rto_ms)},
           {"rto_runs", rto.rto_ms.size()},
           {"lease_ttl_s", f.lease_ttl_s},
           {"baseline_etcd_leader_failover_ms_median", etcd_med},
           {"baseline_etcd_leader_failover_ms_max", max_of(etcd)},
           {"ratio_rto_to_etcd_failover", etcd_med > 0 ? rto_med / etcd_med : 0},
           {"lost", lost.size()},
           {"targets_met", rto_med > 0 && max_of(rto.rto_ms) < 3000 && max_of(so.window_ms) < 300 && lost.empty()}};
  std::printf("%s\n", out.dump().c_str());
  return lost.empty() ? 0 : 1;
}
