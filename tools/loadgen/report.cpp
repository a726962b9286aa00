#include "tools/loadgen/report.hpp"

#include <cstdio>

namespace ezone::loadgen {
namespace {

using nlohmann::json;

std::string format(const char* fmt, double a, double b = 0, double c = 0, double d = 0) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), fmt, a, b, c, d);
  return buf;
}

double ms(int64_t us) { return static_cast<double>(us) / 1000.0; }

std::string counts_text(const std::map<std::string, uint64_t>& counts) {
  if (counts.empty()) return "none";
  std::string out;
  for (const auto& [kind, n] : counts) out += (out.empty() ? "" : ", ") + kind + " " + std::to_string(n);
  return out;
}

uint64_t total(const std::map<std::string, uint64_t>& counts) {
  uint64_t n = 0;
  for (const auto& [k, v] : counts) n += v;
  return n;
}

}  // namespace

std::string split_text(const std::map<std::string, uint64_t>& served_by) {
  const uint64_t all = total(served_by);
  if (all == 0) return "none (no X-Ezone seen)";
  std::string out;
  for (const auto& [zone, n] : served_by) {
    out += (out.empty() ? "" : " / ") + zone + format(" %.1f%%", 100.0 * static_cast<double>(n) / static_cast<double>(all));
  }
  return out;
}

std::string step_text(const StepStats& s) {
  std::string out = "step " + s.name + ": target " + format("%.1f", s.target_rate) + " flows/s, achieved " +
                    format("%.1f flows/s, %.1f req/s over %.1f s\n", s.flows_per_s(), s.requests_per_s(), s.elapsed_s);
  out += "  flows: " + std::to_string(s.flows_started) + " started, " + std::to_string(s.flows_completed) +
         " delivered, " + std::to_string(s.flows_failed) + " failed; " + std::to_string(s.requests) + " requests, " +
         std::to_string(s.forwarded) + " forwarded\n";
  out += "  latency ms      p50       p90       p99       max     count\n";
  for (size_t i = 0; i < kFlowSteps; ++i) {
    const LatencyHistogram& h = s.latency[i];
    if (i >= kWriteSteps && h.count() == 0) continue;  // no status reads
    char row[160];
    std::snprintf(row, sizeof(row), "  %-8s %9.2f %9.2f %9.2f %9.2f %9llu\n", flow_step_name(static_cast<FlowStep>(i)),
                  ms(h.percentile_us(0.5)), ms(h.percentile_us(0.9)), ms(h.percentile_us(0.99)), ms(h.max_us()),
                  static_cast<unsigned long long>(h.count()));
    out += row;
  }
  out += "  errors: " + counts_text(s.errors) + "\n";
  out += "  served by: " + split_text(s.served_by) + "\n";
  if (s.traced_requests == 0) return out;
  out += "  traced: " + std::to_string(s.traced_requests) + " requests; the slowest (trace id, for the zones' spans):\n";
  for (const TracedStep& t : s.slowest_traced) {
    char row[200];
    std::snprintf(row, sizeof(row), "  %-8s %9.2f ms  %s  %s\n", flow_step_name(t.step), ms(t.latency_us),
                  t.trace_id.c_str(), t.error.empty() ? ("served by " + t.served_by).c_str() : t.error.c_str());
    out += row;
  }
  return out;
}

json step_json(const StepStats& s) {
  json latency = json::object();
  for (size_t i = 0; i < kFlowSteps; ++i) {
    const LatencyHistogram& h = s.latency[i];
    if (i >= kWriteSteps && h.count() == 0) continue;
    latency[flow_step_name(static_cast<FlowStep>(i))] = {
        {"p50_ms", ms(h.percentile_us(0.5))}, {"p90_ms", ms(h.percentile_us(0.9))},
        {"p99_ms", ms(h.percentile_us(0.99))}, {"max_ms", ms(h.max_us())}, {"count", h.count()}};
  }
  json split = json::object();
  const uint64_t all = total(s.served_by);
  for (const auto& [zone, n] : s.served_by) {
    split[zone] = {{"requests", n}, {"share", all ? static_cast<double>(n) / static_cast<double>(all) : 0.0}};
  }
  json slowest = json::array();
  for (const TracedStep& t : s.slowest_traced) {
    slowest.push_back({{"step", flow_step_name(t.step)}, {"latency_ms", ms(t.latency_us)}, {"trace_id", t.trace_id},
                       {"served_by", t.served_by}, {"error", t.error}});
  }
  return json{{"name", s.name}, {"target_rate", s.target_rate}, {"load_s", s.load_s}, {"elapsed_s", s.elapsed_s},
              {"flows_started", s.flows_started}, {"flows_completed", s.flows_completed},
              {"flows_failed", s.flows_failed}, {"flows_per_s", s.flows_per_s()}, {"requests", s.requests},
              {"requests_per_s", s.requests_per_s()}, {"forwarded", s.forwarded}, {"latency", latency},
              {"worst_p99_ms", ms(s.worst_p99_us())}, {"errors", s.errors}, {"served_by", split},
              {"traced_requests", s.traced_requests}, {"slowest_traced", std::move(slowest)}};
}

std::string verify_text(const ReplicationWait& wait, const VerifyResult& r) {
  std::string out = "verify: replication " +
                    (wait.caught_up ? format("caught up after %.1f s", wait.waited_s)
                                    : "NOT caught up (" + wait.lag + ")") + "\n";
  out += "  " + std::to_string(r.orders) + " acknowledged orders read at " + std::to_string(r.sites) + " sites: ";
  if (r.ok()) return out + "all present, in their final state, identical\n";
  out += std::to_string(r.problems.size()) + " problems\n";
  for (const Problem& p : r.problems) {
    out += "  " + std::string(problem_kind_name(p.kind)) + " " + std::to_string(p.id) + " at " + p.site + ": " +
           p.detail + "\n";
  }
  return out;
}

json verify_json(const ReplicationWait& wait, const VerifyResult& r) {
  json problems = json::array();
  for (size_t i = 0; i < r.problems.size() && i < kJsonProblemsMax; ++i) {
    const Problem& p = r.problems[i];
    problems.push_back({{"kind", problem_kind_name(p.kind)}, {"id", p.id}, {"site", p.site}, {"detail", p.detail}});
  }
  return json{{"replication_caught_up", wait.caught_up}, {"replication_wait_s", wait.waited_s},
              {"replication_lag", wait.lag}, {"orders", r.orders}, {"sites", r.sites},
              {"problem_counts", r.counts()}, {"problems", problems}, {"ok", r.ok()}};
}

}  // namespace ezone::loadgen
