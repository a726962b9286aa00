#include "tools/ezctl/drill_judge.hpp"

#include <algorithm>
#include <cstdio>


namespace ezctl::drill {

using nlohmann::json;
using ezone::loadgen::CallEvent;
using ezone::loadgen::Problem;

int state_rank(const std::string& state) {
  static const char* const states[] = {"created", "accepted", "picked_up", "delivered"};
  for (int i = 0; i < 4; ++i)
    if (state == states[i]) return i + 1;
  return 0;
}

void AckLog::record(const CallEvent& e) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++calls_;
  if (!e.ok || e.order_id == 0) return;
  successes_.push_back(Success{e.wall_ms, e.shard, e.served_by});
  const std::string state = ezone::loadgen::state_after(e.step);
  AckedState& a = orders_[e.order_id];
  if (state_rank(state) >= state_rank(a.state)) a = AckedState{e.shard, state, e.served_by, e.wall_ms};
}

std::map<int64_t, AckedState> AckLog::served_by(const std::string& zone, int64_t until_wall_ms) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::map<int64_t, AckedState> out;
  for (const auto& [id, a] : orders_)
    if (a.zone == zone && a.wall_ms <= until_wall_ms) out.emplace(id, a);
  return out;
}

int64_t AckLog::first_takeover_ack(const std::set<ezone::ShardId>& shards, const std::string& failed,
                                   int64_t since_wall_ms) const {
  std::lock_guard<std::mutex> lock(mutex_);
  int64_t first = 0;
  for (const Success& s : successes_) {
    if (s.wall_ms < since_wall_ms || s.zone == failed || s.zone.empty() || !shards.count(s.shard)) continue;
    if (first == 0 || s.wall_ms < first) first = s.wall_ms;
  }
  return first;
}

uint64_t AckLog::calls() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return calls_;
}

std::vector<RpoEntry> rpo_entries(const std::map<int64_t, AckedState>& acked, const std::map<int64_t, std::string>& rows,
                                  const std::string& survivor) {
  std::vector<RpoEntry> out;
  for (const auto& [id, a] : acked) {
    auto it = rows.find(id);
    const std::string held = it == rows.end() ? "" : it->second;
    if (state_rank(held) >= state_rank(a.state)) continue;
    out.push_back(RpoEntry{id, a.shard, a.state, held, survivor});
  }
  return out;
}

LossVerdict judge_problems(const std::vector<Problem>& problems, const std::set<std::string>& pks) {
  LossVerdict v;
  for (const Problem& p : problems) {
    const bool known = p.id != 0 && pks.count("[" + std::to_string(p.id) + "]") > 0;
    (known ? v.explained : v.silent).push_back(p);
  }
  return v;
}

json problem_json(const Problem& p) {
  return json{{"kind", ezone::loadgen::problem_kind_name(p.kind)}, {"id", p.id}, {"site", p.site}, {"detail", p.detail}};
}

json incident_json(const json& clients, const std::vector<RpoEntry>& rpo, const std::vector<Problem>& silent,
                   const std::vector<ezone::loadgen::AckedOrder>& acked, const ezone::IncidentPolicy& policy) {
  ezone::IncidentImpact impact;
  impact.requests = static_cast<uint64_t>(std::max<int64_t>(0, clients.value("requests", int64_t{0})));
  const json errors = clients.value("errors", json::object());  // a copy: items() refers to it
  for (const auto& [kind, n] : errors.items())
    if (n.is_number_integer() && n.get<int64_t>() > 0) impact.failed_requests += n.get<uint64_t>();
  impact.orders = acked.size();
  std::set<int64_t> lost;
  for (const RpoEntry& e : rpo) lost.insert(e.order_id);
  for (const Problem& p : silent)
    if (p.id != 0) lost.insert(p.id);
  impact.orders_lost = lost.size();
  for (const auto& o : acked)
    if (lost.count(o.id)) impact.money_lost_cents += o.amount_cents;
  const ezone::IncidentGrade g = ezone::grade_incident(impact, policy);
  return json{{"grade", g.name()},
              {"reason", g.reason},
              {"requests", impact.requests},
              {"failed_requests", impact.failed_requests},
              {"error_ratio", impact.error_ratio()},
              {"orders", impact.orders},
              {"orders_lost", impact.orders_lost},
              {"loss_ratio", impact.loss_ratio()},
              {"money_lost_cents", impact.money_lost_cents}};
}

namespace {

std::string ms(const json& j, const char* key) {
  const json& v = j.value(key, json());
  return v.is_number() ? std::to_string(v.get<int64_t>()) + " ms" : "-";
}

}  // namespace

std::string report_text(const json& r) {
  std::string out;
  char line[512];
  out += "drill idc-down: zone " + r.value("zone", std::string("?")) + " (" + r.value("mode", std::string("?")) +
         ")  result: " + (r.value("ok", false) ? "PASS" : "FAIL") + "\n";
  if (!r.value("error", std::string()).empty()) out += "  error: " + r["error"].get<std::string>() + "\n";
  const json& f = r.value("failover", json::object());
  out += "\nfailover\n";
  out += "  shards of the zone          " + std::to_string(f.value("shards", json::array()).size()) + "\n";
  out += "  workflow                    " + f.value("workflow", std::string("-")) + " (" +
         f.value("outcome", std::string("-")) + ")\n";
  out += "  RTO (routes and DALs ready) " + ms(f, "rto_ms") + "\n";
  out += "  RTO (first client write)    " + ms(f, "client_rto_ms") + "\n";
  const json& rpo = r.value("rpo", json::object());
  std::snprintf(line, sizeof(line), "\nRPO at takeover: %lld of %lld writes acknowledged by %s were not at the survivors\n",
                static_cast<long long>(rpo.value("missing", int64_t{0})),
                static_cast<long long>(rpo.value("acked_by_zone", int64_t{0})), r.value("zone", std::string("?")).c_str());
  out += line;
  size_t shown = 0;
  for (const json& e : rpo.value("entries", json::array())) {
    if (++shown > 20) {
      out += "  ... (all in the JSON report)\n";
      break;
    }
    std::snprintf(line, sizeof(line), "  order %lld shard %lld: acked %s, survivor %s had %s; after restore: %s\n",
                  static_cast<long long>(e.value("order", int64_t{0})), static_cast<long long>(e.value("shard", int64_t{0})),
                  e.value("acked_state", std::string("?")).c_str(), e.value("survivor", std::string("?")).c_str(),
                  e.value("survivor_state", std::string()).empty() ? "no row" : e["survivor_state"].get<std::string>().c_str(),
                  e.value("after_restore", std::string("?")).c_str());
    out += line;
  }
  const json& c = r.value("clients", json::object());
  std::snprintf(line, sizeof(line), "\nclients: %lld requests, %lld flows completed, %lld failed\n",
                static_cast<long long>(c.value("requests", int64_t{0})), static_cast<long long>(c.value("flows_completed", int64_t{0})),
                static_cast<long long>(c.value("flows_failed", int64_t{0})));
  out += line;
  const json errors = c.value("errors", json::object());
  for (const auto& [kind, n] : errors.items())
    out += "  error " + kind + ": " + std::to_string(n.get<int64_t>()) + "\n";
  const json& rs = r.value("restore", json::object());
  out += "\nrestore\n  rejoined after heal          " + ms(rs, "rejoin_ms") + "\n  replication caught up        " +
         std::string(rs.value("caught_up", false) ? "yes" : "NO") + " (" + ms(rs, "catch_up_ms") + ")\n";
  const json& cv = r.value("convergence", json::object());
  out += "  checksums                    " + std::string(cv.value("equal", false) ? "equal" : "DIFFER") + " (" +
         std::to_string(cv.value("compared", int64_t{0})) + " table/shard checksums on every site)\n";
  for (const json& d : cv.value("differences", json::array())) out += "    differs: " + d.get<std::string>() + "\n";
  const json& l = r.value("loss", json::object());
  std::snprintf(line, sizeof(line),
                "\nverification of %lld acknowledged orders: %lld problems; %lld explained (conflict or quarantine), "
                "%lld SILENT\n  conflicts %lld, quarantined rows %lld\n",
                static_cast<long long>(l.value("orders", int64_t{0})), static_cast<long long>(l.value("problems", int64_t{0})),
                static_cast<long long>(l.value("explained", int64_t{0})), static_cast<long long>(l.value("silent", int64_t{0})),
                static_cast<long long>(l.value("conflicts", int64_t{0})), static_cast<long long>(l.value("quarantined", int64_t{0})));
  out += line;
  for (const json& p : l.value("silent_problems", json::array()))
    out += "  SILENT " + p.value("kind", std::string("?")) + " order " + std::to_string(p.value("id", int64_t{0})) +
           " at " + p.value("site", std::string("?")) + ": " + p.value("detail", std::string()) + "\n";
  const json& inc = r.value("incident", json::object());
  if (!inc.empty()) {
    const int64_t cents = inc.value("money_lost_cents", int64_t{0});
    std::snprintf(line, sizeof(line),
                  "\nincident grade: %s (%s)\n  failed requests %.3f%% of %lld; orders missing at takeover or lost: "
                  "%lld of %lld (%.4f%%), carrying %lld.%02lld\n",
                  inc.value("grade", std::string("?")).c_str(), inc.value("reason", std::string()).c_str(),
                  100 * inc.value("error_ratio", 0.0), static_cast<long long>(inc.value("requests", int64_t{0})),
                  static_cast<long long>(inc.value("orders_lost", int64_t{0})),
                  static_cast<long long>(inc.value("orders", int64_t{0})), 100 * inc.value("loss_ratio", 0.0),
                  static_cast<long long>(cents / 100), static_cast<long long>(cents % 100));
    out += line;
  }
  return out;
}

}  // namespace ezctl::drill
