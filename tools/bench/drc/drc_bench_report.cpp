#include "tools/bench/drc/drc_bench_report.hpp"

#include <cmath>
#include <cstdio>

namespace ezone::drc {

using nlohmann::json;

double round_to(double v, int digits) {
  double scale = std::pow(10.0, digits);
  return std::round(v * scale) / scale;
}

namespace {

const json* find_by(const json& list, const char* key, double value) {
  if (!list.is_array()) return nullptr;
  for (const auto& f : list)
    if (f.value(key, -1.0) == value) return &f;
  return nullptr;
}

}  // namespace

const json& list_of(const json& side, const char* key) {
  static const json empty = json::array();
  auto it = side.find(key);
  return it != side.end() && it->is_array() ? *it : empty;
}

json to_json(const RestartFigures& f) {
  return {{"rows", f.rows},
          {"rows_per_tx", f.rows_per_tx},
          {"window", f.window},
          {"writer_rows_per_s", round_to(f.writer_rows_per_s, 1)},
          {"start_ms", round_to(f.start_ms, 1)},
          {"first_batch_ms", round_to(f.first_batch_ms, 1)},
          {"apply_rows_per_s", round_to(f.apply_rows_per_s, 1)},
          {"apply_incl_start_rows_per_s", round_to(f.apply_incl_start_rows_per_s, 1)},
          {"apply_steady_rows_per_s", round_to(f.apply_steady_rows_per_s, 1)}};
}

json to_json(const LagFigures& f) {
  return {{"offered_per_s", round_to(f.offered_per_s, 1)}, {"achieved_per_s", round_to(f.achieved_per_s, 1)},
          {"connections", f.connections},                  {"rows", f.rows},
          {"late_sends", f.late_sends},                    {"lag_p50_ms", round_to(f.lag_p50_ms, 2)},
          {"lag_p99_ms", round_to(f.lag_p99_ms, 2)},       {"lag_max_ms", round_to(f.lag_max_ms, 2)},
          {"commit_p50_ms", round_to(f.commit_p50_ms, 3)}, {"commit_p99_ms", round_to(f.commit_p99_ms, 3)}};
}

json to_json(const ApplyFigures& f) {
  return {{"rows", f.rows},
          {"rows_per_tx", f.rows_per_tx},
          {"writers", f.writers},
          {"publisher_rows_per_s", round_to(f.publisher_rows_per_s, 1)},
          {"publisher_tx_per_s", round_to(f.publisher_tx_per_s, 1)},
          {"startup_ms", round_to(f.startup_ms, 1)},
          {"apply_rows_per_s", round_to(f.apply_rows_per_s, 1)},
          {"apply_steady_rows_per_s", round_to(f.apply_steady_rows_per_s, 1)}};
}

json to_json(const CatchupFigures& f) {
  return {{"rows", f.rows},
          {"rows_per_tx", f.rows_per_tx},
          {"writers", f.writers},
          {"publisher_rows_per_s", round_to(f.publisher_rows_per_s, 1)},
          {"restart_ms", round_to(f.restart_ms, 1)},
          {"startup_ms", round_to(f.startup_ms, 1)},
          {"catchup_rows_per_s", round_to(f.catchup_rows_per_s, 1)},
          {"catchup_steady_rows_per_s", round_to(f.catchup_steady_rows_per_s, 1)}};
}

void print_ezone(const json& ez) {
  std::printf("\nezone: sh stopped while bj commits, then started (rates from sh's Node::start returning)\n");
  std::printf("| workload | rows | rows/tx | bj rows/s | sh start ms | first batch ms | apply rows/s | incl. start | steady |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  auto row = [](const char* name, const json& f) {
    std::printf("| %s | %lld | %d | %.0f | %.1f | %.1f | %.0f | %.0f | %.0f |\n", name, f["rows"].get<long long>(),
                f["rows_per_tx"].get<int>(), f["writer_rows_per_s"].get<double>(), f["start_ms"].get<double>(),
                f["first_batch_ms"].get<double>(), f["apply_rows_per_s"].get<double>(),
                f["apply_incl_start_rows_per_s"].get<double>(), f["apply_steady_rows_per_s"].get<double>());
  };
  for (const auto& f : ez["apply"]) row("apply", f);
  if (ez.contains("catchup")) row("catch-up", ez["catchup"]);
}

void print_lags(const char* who, const json& lags) {
  if (lags.empty()) return;
  std::printf("\n%s lag: paced single-row transactions\n", who);
  std::printf("| offered/s | achieved/s | rows | late sends | lag p50 ms | lag p99 ms | lag max ms | commit p50 ms | commit p99 ms |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& f : lags)
    std::printf("| %.0f | %.0f | %lld | %lld | %.2f | %.2f | %.2f | %.3f | %.3f |\n", f["offered_per_s"].get<double>(),
                f["achieved_per_s"].get<double>(), f["rows"].get<long long>(), f["late_sends"].get<long long>(),
                f["lag_p50_ms"].get<double>(), f["lag_p99_ms"].get<double>(), f["lag_max_ms"].get<double>(),
                f["commit_p50_ms"].get<double>(), f["commit_p99_ms"].get<double>());
}

void print_pg(const json& pg) {
  if (pg.contains("apply") && !pg["apply"].empty()) {
    std::printf("\nPostgreSQL: subscription disabled while the publisher commits, then enabled\n");
    std::printf("| rows | rows/tx | publisher rows/s | startup ms | apply rows/s | steady |\n|---|---|---|---|---|---|\n");
    for (const auto& f : pg["apply"])
      std::printf("| %lld | %d | %.0f | %.1f | %.0f | %.0f |\n", f["rows"].get<long long>(), f["rows_per_tx"].get<int>(),
                  f["publisher_rows_per_s"].get<double>(), f["startup_ms"].get<double>(),
                  f["apply_rows_per_s"].get<double>(), f["apply_steady_rows_per_s"].get<double>());
  }
  if (pg.contains("catchup")) {
    const json& f = pg["catchup"];
    std::printf("\nPostgreSQL catch-up: subscriber's server stopped while the publisher commits\n");
    std::printf("| rows | publisher rows/s | restart ms | startup ms | catch-up rows/s | steady |\n|---|---|---|---|---|---|\n");
    std::printf("| %lld | %.0f | %.1f | %.1f | %.0f | %.0f |\n", f["rows"].get<long long>(),
                f["publisher_rows_per_s"].get<double>(), f["restart_ms"].get<double>(), f["startup_ms"].get<double>(),
                f["catchup_rows_per_s"].get<double>(), f["catchup_steady_rows_per_s"].get<double>());
  }
  print_lags("PostgreSQL", list_of(pg, "lag"));
}


std::vector<Verdict> verdicts(const json& ez, const json& pg) {
  std::vector<Verdict> out;
  auto throughput = [&](const std::string& what, const json* e, const json* p, const char* pg_key) {
    if (!e) return;
    Verdict v;
    v.what = what;
    v.ratio_label = "ezone/PG";
    v.target = ">= 5x PG";
    v.ezone = (*e)["apply_rows_per_s"];
    if (p) {
      v.has_pg = true;
      v.pg = (*p)[pg_key];
      v.ratio = v.pg > 0 ? v.ezone / v.pg : 0;
      v.met = v.ratio >= 5;
    }
    out.push_back(v);
  };
  for (const auto& e : list_of(ez, "apply"))
    throughput("apply rows/s, " + std::to_string(e["rows_per_tx"].get<int>()) + "-row tx", &e,
               find_by(list_of(pg, "apply"), "rows_per_tx", e["rows_per_tx"].get<int>()), "apply_rows_per_s");
  if (ez.contains("catchup"))
    throughput("catch-up rows/s", &ez["catchup"], pg.contains("catchup") ? &pg["catchup"] : nullptr,
               "catchup_rows_per_s");
  for (const auto& e : list_of(ez, "lag")) {
    const double rate = e["offered_per_s"];
    const json* p = find_by(list_of(pg, "lag"), "offered_per_s", rate);
    const std::string at = " at " + std::to_string(std::llround(rate)) + "/s";
    for (const char* key : {"lag_p50_ms", "lag_p99_ms"}) {
      const bool p99 = std::string(key) == "lag_p99_ms";
      Verdict v;
      v.what = std::string(p99 ? "lag p99 ms" : "lag p50 ms") + at;
      v.ratio_label = "PG/ezone";
      v.target = p99 ? (rate >= 5000 ? "<= PG and < 20 ms" : "<= PG") : "-";
      v.ezone = e[key];
      if (p) {
        v.has_pg = true;
        v.pg = (*p)[key];
        v.ratio = v.ezone > 0 ? v.pg / v.ezone : 0;
      }
      if (p99) {
        bool ok = rate >= 5000 ? v.ezone < 20 : true;
        if (p) ok = ok && v.ezone <= v.pg;
        if (p || rate >= 5000) v.met = ok;
      }
      out.push_back(v);
    }
  }
  return out;
}

void print_summary(const std::vector<Verdict>& vs) {
  std::printf("\nsummary (throughput ratio = ezone/PG, higher is better; lag ratio = PG/ezone, higher is better)\n");
  std::printf("| figure | ezone | PostgreSQL | ratio | target | met |\n|---|---|---|---|---|---|\n");
  for (const auto& v : vs) {
    const char* met = !v.met ? "n/a" : *v.met ? "yes" : "NO";
    if (v.has_pg)
      std::printf("| %s | %.2f | %.2f | %.2fx (%s) | %s | %s |\n", v.what.c_str(), v.ezone, v.pg, v.ratio,
                  v.ratio_label.c_str(), v.target.c_str(), met);
    else
      std::printf("| %s | %.2f | - | - | %s | %s |\n", v.what.c_str(), v.ezone, v.target.c_str(), met);
  }
}

json verdicts_json(const std::vector<Verdict>& vs) {
  json out = json::array();
  for (const auto& v : vs) {
    json j = {{"figure", v.what}, {"ezone", round_to(v.ezone, 2)}, {"target", v.target}};
    if (v.has_pg) {
      j["pg"] = round_to(v.pg, 2);
      j["ratio"] = round_to(v.ratio, 3);
      j["ratio_is"] = v.ratio_label;
    }
    j["met"] = v.met ? json(*v.met) : json(nullptr);
    out.push_back(j);
  }
  return out;
}

}  // namespace ezone::drc
