#include "tools/ezctl/drill_command.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "tools/ezctl/admin_client.hpp"
#include "tools/ezctl/drill_judge.hpp"
#include "tools/ezctl/drill_load.hpp"
#include "tools/loadgen/verifier.hpp"

namespace ezctl {
namespace {

using nlohmann::json;
using ezone::Errc;
using ezone::HostPort;
using ezone::Result;
using ezone::ShardId;
using ezone::Status;
namespace loadgen = ezone::loadgen;

constexpr int64_t kPollMs = 20;
constexpr int64_t kTakeoverWaitMs = 120000;  // isolation -> survivors own every shard
constexpr int64_t kRejoinWaitMs = 120000;    // heal -> registered again
constexpr double kCatchUpWaitS = 180;
constexpr int64_t kLoadStartWaitMs = 300000;  // the loadgen registers users and merchants first

void sleep_ms(int64_t ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// Bounded polling: true once `done` holds, false after `bound_ms`.
template <class F>
bool poll_until(int64_t bound_ms, F&& done) {
  const int64_t end = now_ms() + bound_ms;
  while (!done()) {
    if (now_ms() >= end) return false;
    sleep_ms(kPollMs);
  }
  return true;
}

Result<json> call_at(const Options& base, const std::string& admin, const std::string& method,
                     const std::string& target, const std::string& body = "") {
  Options o = base;
  o.node = admin;
  auto r = admin_call(o, method, target, body);
  if (!r) return r.status();
  if (r->status != 200 && r->status != 201)
    return Status(Errc::unavailable, admin + " " + method + " " + target + ": " + reply_error(*r));
  return r->body;
}

// What the drill knows of the cluster before it breaks it.
struct Cluster {
  std::map<std::string, std::string> admin;  // ezone -> admin HOST:PORT
  std::map<std::string, std::string> http;   // ezone -> router HOST:PORT
  std::set<ShardId> shards_of_zone;          // the zone's shards before the drill
  std::map<ShardId, std::string> shard_owner;
  std::vector<std::string> survivors;
  bool auto_failover = false;
  ezone::net::TlsContextPtr http_tls;  // ezctl's context when node.http speaks TLS ([tls] http)
};

Result<Cluster> discover(const Options& o) {
  Cluster c;
  auto self = call_at(o, o.node, "GET", "/admin/v1/cluster");
  if (!self) return self.status();
  const json tls = self->value("tls", json::object());
  if (tls.is_object() && tls.value("http", false)) {
    if (!o.tls) return Status(Errc::invalid_argument, "node.http speaks TLS ([tls] http): give --ca-file");
    c.http_tls = o.tls;
  }
  auto nodes = call_at(o, o.node, "GET", "/admin/v1/coord/nodes");
  if (!nodes) return nodes.status();
  for (const json& n : (*nodes)["nodes"]) c.admin[n.value("ezone", "")] = n.value("admin", "");
  auto routes = call_at(o, o.node, "GET", "/admin/v1/routes");
  if (!routes) return routes.status();
  for (const json& z : (*routes)["ezones"]) c.http[z.value("name", "")] = z.value("site", "");
  for (const json& s : (*routes)["shards"]) {
    const ShardId id = s.value("id", ShardId{0});
    c.shard_owner[id] = s.value("owner", "");
    if (c.shard_owner[id] == o.zone) c.shards_of_zone.insert(id);
  }
  if (!c.admin.count(o.zone)) return Status(Errc::invalid_argument, "zone '" + o.zone + "' has no registered node");
  if (c.shards_of_zone.empty()) return Status(Errc::invalid_argument, "zone '" + o.zone + "' owns no shard: nothing to fail over");
  for (const auto& [zone, admin] : c.admin) {
    if (zone == o.zone) continue;
    if (!c.http.count(zone)) return Status(Errc::invalid_argument, "zone '" + zone + "' is not in the route table");
    c.survivors.push_back(zone);
  }
  if (c.survivors.empty()) return Status(Errc::invalid_argument, "no other zone is registered to take over");
  auto survivor_nodes = call_at(o, c.admin[c.survivors[0]], "GET", "/admin/v1/coord/nodes");
  if (!survivor_nodes) return survivor_nodes.status();
  c.auto_failover = survivor_nodes->value("auto_failover", false);
  return c;
}

std::vector<HostPort> addresses(const std::map<std::string, std::string>& by_zone) {
  std::vector<HostPort> out;
  for (const auto& [zone, text] : by_zone) {
    auto hp = ezone::parse_host_port(text);
    if (hp) out.push_back(*hp);
  }
  return out;
}

// Isolates the zone, and heals it on every path out of the drill.
class Isolation {
 public:
  Isolation(const Options& o, std::string admin) : o_(o), admin_(std::move(admin)) {}
  ~Isolation() { heal(); }
  Status isolate(int64_t duration_ms) {
    auto r = call_at(o_, admin_, "POST", "/admin/v1/fault/isolate", json{{"duration_ms", duration_ms}}.dump());
    if (r) active_ = true;
    return r.status();
  }
  Status heal() {
    if (!active_) return Status::ok();
    auto r = call_at(o_, admin_, "POST", "/admin/v1/fault/heal", "{}");
    if (r) active_ = false;
    return r.status();
  }

 private:
  const Options& o_;
  std::string admin_;
  bool active_ = false;
};

// True when every shard the zone had is owned, active, by a survivor whose
// DAL acknowledged the epoch of that route table.
bool survivors_took_over(const Options& o, const Cluster& c, std::map<ShardId, std::string>* owners) {
  auto routes = call_at(o, c.admin.at(c.survivors[0]), "GET", "/admin/v1/routes");
  if (!routes) return false;
  const int64_t epoch = routes->value("epoch", int64_t{0});
  std::set<std::string> new_owners;
  owners->clear();
  for (const json& s : (*routes)["shards"]) {
    const ShardId id = s.value("id", ShardId{0});
    if (!c.shards_of_zone.count(id)) continue;
    const std::string owner = s.value("owner", "");
    if (owner == o.zone || s.value("state", "") != "active" || !c.admin.count(owner)) return false;
    (*owners)[id] = owner;
    new_owners.insert(owner);
  }
  for (const std::string& z : new_owners) {
    auto site = call_at(o, c.admin.at(z), "GET", "/admin/v1/coord/site");
    if (!site || site->value("acknowledged_epoch", int64_t{0}) < epoch) return false;
  }
  return owners->size() == c.shards_of_zone.size();
}

// The failover of the zone started at or after since_ms: {id, outcome}.
std::pair<std::string, std::string> failover_workflow(const Options& o, const std::string& admin, int64_t since_ms) {
  auto list = call_at(o, admin, "GET", "/admin/v1/workflows");
  if (!list) return {"", ""};
  std::pair<std::string, std::string> out;
  for (const json& w : (*list)["workflows"]) {
    if (w.value("kind", "") != "failover" || w.value("dead_ezone", "") != o.zone) continue;
    if (w.value("created_wall_ms", int64_t{0}) < since_ms) continue;
    out = {w.value("id", ""), w.value("outcome", "")};
  }
  return out;
}

std::map<int64_t, std::string> states_at(const Options& o, const Cluster& c, const std::string& http,
                                         const std::map<int64_t, drill::AckedState>& acked, std::string* error) {
  std::vector<loadgen::AckedOrder> ids;
  for (const auto& [id, a] : acked) ids.push_back(loadgen::AckedOrder{id, a.shard, 0, 0, 0, a.state, ""});
  std::map<int64_t, std::string> out;
  auto hp = ezone::parse_host_port(http);
  if (!hp) {
    *error = hp.status().message();
    return out;
  }
  const loadgen::SiteRows rows = loadgen::read_site(*hp, ids, 500, o.service_token, o.timeout_ms, c.http_tls);
  *error = rows.error;
  for (const loadgen::OrderRow& r : rows.rows) out[r.id] = r.state;
  return out;
}

// Checksums of every replicated table, and of every shard of the sharding
// ones, on every site; the differences, for a person.
json convergence(const Options& o, const Cluster& c) {
  json out{{"equal", false}, {"compared", 0}, {"differences", json::array()}};
  auto drc = call_at(o, o.node, "GET", "/admin/v1/drc");
  if (!drc) {
    out["differences"].push_back("cannot list the tables: " + drc.status().message());
    return out;
  }
  std::vector<std::string> targets;
  for (const json& t : (*drc)["tables"]) {
    const std::string name = t.value("name", "");
    targets.push_back("/admin/v1/dal/checksum?table=" + name);
    if (t.value("kind", "") != "sharding-zone") continue;  // data::table_kind_name
    for (const auto& [shard, owner] : c.shard_owner)
      targets.push_back("/admin/v1/dal/checksum?table=" + name + "&shard=" + std::to_string(shard));
  }
  int64_t compared = 0;
  for (const std::string& target : targets) {
    std::map<std::string, std::string> sums;
    for (const auto& [zone, admin] : c.admin) {
      auto sum = call_at(o, admin, "GET", target);
      sums[zone] = sum ? sum->value("checksum", std::string("?")) : "unreadable: " + sum.status().message();
    }
    ++compared;
    std::set<std::string> distinct;
    for (const auto& [zone, sum] : sums) distinct.insert(sum);
    if (distinct.size() == 1 && distinct.begin()->rfind("unreadable", 0) != 0) continue;
    std::string d = target.substr(target.find('?') + 1) + ":";
    for (const auto& [zone, sum] : sums) d += " " + zone + "=" + sum;
    out["differences"].push_back(d);
  }
  out["compared"] = compared;
  out["equal"] = out["differences"].empty();
  return out;
}

// The orders' keys in the conflict table or in quarantine at any site, and
// their counts.
std::set<std::string> kept_versions(const Options& o, const Cluster& c, json* loss) {
  std::set<std::string> pks, conflicts, quarantined;
  for (const auto& [zone, admin] : c.admin) {
    if (auto list = call_at(o, admin, "GET", "/admin/v1/drc/conflicts?limit=100000")) {
      for (const json& x : (*list)["conflicts"])
        if (x.value("table", "") == "orders") conflicts.insert(x.value("pk", ""));
    }
    if (auto list = call_at(o, admin, "GET", "/admin/v1/quarantine?limit=100000")) {
      for (const json& x : (*list)["quarantined"])
        if (x.value("table", "") == "orders") quarantined.insert(x.value("pk", ""));
    }
  }
  (*loss)["conflicts"] = conflicts.size();
  (*loss)["quarantined"] = quarantined.size();
  (*loss)["quarantined_orders"] = quarantined;
  pks = conflicts;
  pks.insert(quarantined.begin(), quarantined.end());
  return pks;
}

class Drill {
 public:
  Drill(const Options& o, Cluster c) : o_(o), c_(std::move(c)), isolation_(o, c_.admin.at(o.zone)) {}
  json run();

 private:
  bool fail(const std::string& why) {
    report_["error"] = why;
    return false;
  }
  bool outage(LoadRun& load);
  // The grading policy a survivor serves (its [incident]), else the defaults.
  ezone::IncidentPolicy incident_policy() {
    auto doc = call_at(o_, c_.admin.at(c_.survivors[0]), "GET", "/admin/v1/incident");
    if (doc && doc->contains("policy"))
      if (auto policy = ezone::parse_incident_policy((*doc)["policy"].dump())) return *policy;
    std::fprintf(stderr, "drill: %s serves no incident policy; grading with the defaults\n", c_.survivors[0].c_str());
    return ezone::IncidentPolicy::defaults();
  }
  void measure_rpo();
  bool restore(LoadRun& load);
  void verify(LoadRun& load);

  const Options& o_;
  Cluster c_;
  Isolation isolation_;
  drill::AckLog log_;
  json report_;
  int64_t isolated_ms_ = 0;
  std::vector<drill::RpoEntry> rpo_;
};

bool Drill::outage(LoadRun& load) {
  if (!poll_until(kLoadStartWaitMs, [&] { return log_.calls() > 0 || load.finished(); }) || log_.calls() == 0)
    return fail("the load did not start (see the loadgen's messages above)");
  std::fprintf(stderr, "drill: load running; isolating %s in %.0f s\n", o_.zone.c_str(), o_.warmup_s);
  sleep_ms(static_cast<int64_t>(o_.warmup_s * 1000));
  isolated_ms_ = now_ms();
  const int64_t bound_ms = std::min<int64_t>(600000, static_cast<int64_t>((o_.duration_s + 300) * 1000));
  if (Status s = isolation_.isolate(bound_ms); !s) return fail("cannot isolate " + o_.zone + ": " + s.message());
  std::fprintf(stderr, "drill: %s isolated\n", o_.zone.c_str());
  json& f = report_["failover"];
  f["shards"] = c_.shards_of_zone;
  f["submitted_by_drill"] = !c_.auto_failover;
  if (!c_.auto_failover) {
    const json body{{"kind", "failover"}, {"zone", o_.zone}, {"id", "drill-" + std::to_string(isolated_ms_)}};
    auto r = call_at(o_, c_.admin.at(c_.survivors[0]), "POST", "/admin/v1/workflows", body.dump());
    if (!r) return fail("cannot submit the failover: " + r.status().message());
  }
  std::map<ShardId, std::string> owners;
  if (!poll_until(kTakeoverWaitMs, [&] { return survivors_took_over(o_, c_, &owners); }))
    return fail("the survivors did not take " + o_.zone + "'s shards within " + std::to_string(kTakeoverWaitMs) + " ms");
  f["rto_ms"] = now_ms() - isolated_ms_;
  json to = json::object();
  for (const auto& [shard, owner] : owners) {
    to[std::to_string(shard)] = owner;
    c_.shard_owner[shard] = owner;
  }
  f["new_owners"] = to;
  const auto [id, outcome] = failover_workflow(o_, c_.admin.at(c_.survivors[0]), isolated_ms_ - 1000);
  f["workflow"] = id;
  f["outcome"] = outcome;
  std::fprintf(stderr, "drill: survivors own %s's shards after %lld ms\n", o_.zone.c_str(),
               static_cast<long long>(f["rto_ms"].get<int64_t>()));
  measure_rpo();
  // The clients' view: the first write on one of the zone's shards that a
  // survivor acknowledged (bounded: a shard may see no traffic).
  int64_t first = 0;
  poll_until(10000, [&] { return (first = log_.first_takeover_ack(c_.shards_of_zone, o_.zone, isolated_ms_)) != 0; });
  if (first != 0) f["client_rto_ms"] = first - isolated_ms_;
  return true;
}

void Drill::measure_rpo() {
  const auto acked = log_.served_by(o_.zone, now_ms());
  json entries = json::array();
  for (const std::string& z : c_.survivors) {
    std::string error;
    const auto rows = states_at(o_, c_, c_.http.at(z), acked, &error);
    if (!error.empty()) {
      report_["rpo"]["errors"].push_back(z + ": " + error);
      continue;
    }
    for (drill::RpoEntry& e : drill::rpo_entries(acked, rows, z)) rpo_.push_back(std::move(e));
  }
  report_["rpo"]["acked_by_zone"] = acked.size();
  report_["rpo"]["missing"] = rpo_.size();
}

bool Drill::restore(LoadRun& load) {
  const int64_t bound = static_cast<int64_t>((o_.duration_s + 120) * 1000);
  if (!load.wait_load_done(bound)) fail("the load did not end within " + std::to_string(bound) + " ms");
  const int64_t healed = now_ms();
  json& r = report_["restore"];
  if (Status s = isolation_.heal(); !s) return fail("cannot heal " + o_.zone + ": " + s.message());
  const bool rejoined = poll_until(kRejoinWaitMs, [&] {
    auto nodes = call_at(o_, c_.admin.at(c_.survivors[0]), "GET", "/admin/v1/coord/nodes");
    if (!nodes) return false;
    for (const json& n : (*nodes)["nodes"])
      if (n.value("ezone", "") == o_.zone) return true;
    return false;
  });
  if (!rejoined) return fail(o_.zone + " did not register again within " + std::to_string(kRejoinWaitMs) + " ms of the heal");
  r["rejoin_ms"] = now_ms() - healed;
  const loadgen::ReplicationWait wait =
      loadgen::wait_for_replication(addresses(c_.admin), o_.admin_token, kCatchUpWaitS, o_.timeout_ms, o_.tls);
  r["caught_up"] = wait.caught_up;
  r["catch_up_ms"] = now_ms() - healed;
  if (!wait.caught_up) return fail("replication did not catch up after the heal: " + wait.lag);
  std::fprintf(stderr, "drill: %s rejoined after %lld ms; replication caught up\n", o_.zone.c_str(),
               static_cast<long long>(r["rejoin_ms"].get<int64_t>()));
  return true;
}

void Drill::verify(LoadRun& load) {
  auto result = load.join();
  json& l = report_["loss"];
  if (!result) {
    fail("the load failed: " + result.status().message());
    return;
  }
  const json& steps = result->report.value("steps", json::array());
  if (!steps.empty()) {
    const json& s = steps[0];
    report_["clients"] = json{{"requests", s.value("requests", 0)}, {"flows_completed", s.value("flows_completed", 0)},
                              {"flows_failed", s.value("flows_failed", 0)}, {"errors", s.value("errors", json::object())},
                              {"served_by", s.value("served_by", json::object())}};
  }
  // The RPO orders after the restore: back (replicated late), or kept as a conflict.
  std::map<int64_t, drill::AckedState> rpo_orders;
  for (const drill::RpoEntry& e : rpo_) rpo_orders[e.order_id] = drill::AckedState{e.shard, e.acked_state, o_.zone, 0};
  std::string error;
  const auto after = rpo_orders.empty() ? std::map<int64_t, std::string>{}
                                        : states_at(o_, c_, c_.http.at(c_.survivors[0]), rpo_orders, &error);
  json entries = json::array();
  for (const drill::RpoEntry& e : rpo_) {
    auto it = after.find(e.order_id);
    entries.push_back(json{{"order", e.order_id}, {"shard", e.shard}, {"acked_state", e.acked_state},
                           {"survivor", e.survivor}, {"survivor_state", e.survivor_state},
                           {"after_restore", it == after.end() ? std::string("no row") : it->second}});
  }
  report_["rpo"]["entries"] = entries;
  report_["convergence"] = convergence(o_, c_);
  const std::set<std::string> pks = kept_versions(o_, c_, &l);
  l["orders"] = result->acked.size();
  l["verified"] = result->verified;
  if (!result->verified) {
    fail("the loadgen did not verify");
    return;
  }
  const drill::LossVerdict v = drill::judge_problems(result->verify.problems, pks);
  l["problems"] = result->verify.problems.size();
  l["explained"] = v.explained.size();
  l["silent"] = v.silent.size();
  l["explained_problems"] = json::array();
  l["silent_problems"] = json::array();
  for (const auto& p : v.explained) l["explained_problems"].push_back(drill::problem_json(p));
  for (const auto& p : v.silent) l["silent_problems"].push_back(drill::problem_json(p));
  report_["incident"] = drill::incident_json(report_.value("clients", json::object()), rpo_, v.silent, result->acked,
                                             incident_policy());
}

json Drill::run() {
  report_ = json{{"zone", o_.zone}, {"mode", "isolate"}, {"rate", o_.rate}, {"duration_s", o_.duration_s},
                 {"survivors", c_.survivors}, {"auto_failover", c_.auto_failover}, {"started_wall_ms", now_ms()},
                 {"rpo", json{{"errors", json::array()}}}};
  const loadgen::ReplicationWait before =
      loadgen::wait_for_replication(addresses(c_.admin), o_.admin_token, 60, o_.timeout_ms, o_.tls);
  if (!before.caught_up) {
    fail("replication has not caught up before the drill: " + before.lag);
    report_["ok"] = false;
    return report_;
  }
  loadgen::Options lo;
  lo.nodes = addresses(c_.http);
  lo.admins = addresses(c_.admin);
  lo.admin_token = o_.admin_token;
  lo.service_token = o_.service_token;
  lo.tls = o_.tls;
  lo.admins_https = o_.tls != nullptr;
  lo.nodes_https = c_.http_tls != nullptr;
  if (!o_.fences_dir.empty()) lo.fences_dir = o_.fences_dir;
  if (!o_.shards_file.empty()) lo.shards_file = o_.shards_file;
  lo.rate = o_.rate;
  lo.duration_s = o_.duration_s;
  lo.entry = loadgen::EntryPolicy::random;
  lo.workers = 64;
  lo.users = 50;
  lo.merchants_per_shard = 2;
  lo.timeout_ms = 2000;
  lo.verify_wait_s = kCatchUpWaitS;
  lo.seed = static_cast<uint64_t>(now_ms());
  bool ok = false;
  {
    LoadRun load(lo, log_);
    ok = outage(load);
    ok = restore(load) && ok;
    verify(load);
  }
  const json& l = report_.value("loss", json::object());
  // An RPO that could not be read at a survivor is a failed measurement.
  ok = ok && report_.value("error", std::string()).empty() && report_["rpo"]["errors"].empty() &&
       l.value("verified", false) && l.value("silent", int64_t{1}) == 0 &&
       report_["convergence"].value("equal", false);
  report_["ok"] = ok;
  report_["finished_wall_ms"] = now_ms();
  return report_;
}

}  // namespace

int run_drill(const Options& options) {
  if (options.args.size() != 2 || options.args[1] != "idc-down")
    return fail("drill", "usage: drill idc-down --zone ZONE [--rate N] [--duration S] [--warmup S] [--report-dir DIR]");
  if (options.zone.empty()) return fail("drill", "give --zone ZONE, the IDC to take down");
  if (options.warmup_s >= options.duration_s)
    return fail("drill", "--warmup must be shorter than --duration (the outage happens during the load)");
  auto cluster = discover(options);
  if (!cluster) return fail("drill", cluster.status().message());
  std::fprintf(stderr, "drill: %s owns %zu shard(s); survivors: %zu; failover by %s\n", options.zone.c_str(),
               cluster->shards_of_zone.size(), cluster->survivors.size(),
               cluster->auto_failover ? "the survivors (auto_failover)" : "this drill");
  const json report = Drill(options, std::move(*cluster)).run();
  const std::string text = drill::report_text(report);
  const std::string base = options.report_dir + "/drill-" + std::to_string(report.value("started_wall_ms", int64_t{0}));
  std::ofstream(base + ".json") << report.dump(2) << "\n";
  std::ofstream(base + ".txt") << text;
  if (options.json) std::printf("%s\n", report.dump(2).c_str());
  else std::printf("%s\nreport: %s.json, %s.txt\n", text.c_str(), base.c_str(), base.c_str());
  return report.value("ok", false) ? 0 : 1;
}

}  // namespace ezctl
