#include "actors/node/admin_coord.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>

#include <nlohmann/json.hpp>

#include "actors/node/coordinator.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "storage/dal/dal.hpp"
#include "storage/net/http_client.hpp"

namespace ezone {
namespace {

using nlohmann::json;
using coord::JournaledWorkflow;

constexpr const char* kWorkflowsPath = "/admin/v1/workflows";

json workflow_doc(Coordinator& c, const JournaledWorkflow& j, bool detail) {
  json doc = json::parse(coord::encode_workflow_json(j.workflow));
  doc["revision"] = j.mod_revision;
  if (detail) {
    auto runner = c.engine().journal().runner(j.workflow.id);
    doc["runner"] = runner ? *runner : "";
    doc["waiting_on"] = c.waiting_on(j.workflow.id);
    doc["now_wall_ms"] = SystemClock::instance().wall_ms();
  }
  return doc;
}

HttpResponse site_report(const CoordAdminSources& s) {
  if (!s.dal) return HttpResponse::error(404, s.ezone + " runs no DAL: it cannot write");
  coord::SiteReport r;
  r.ezone = s.ezone;
  r.acknowledged_epoch = s.dal->acknowledged_epoch();
  r.outbox_head = s.dal->outbox_head();
  r.lineage = s.dal->lineage();
  for (const std::string& peer : s.peers) {
    auto cursor = s.dal->origin_cursor(peer);
    if (!cursor) return error_response(cursor.status());
    auto applied = s.dal->applied_through(peer);  // short of rows that wait parked
    if (!applied) return error_response(applied.status());
    r.applied[peer] = std::min(*applied, cursor->seq);
    r.applied_lineage[peer] = cursor->lineage;
  }
  return HttpResponse::json(200, coord::encode_site_report_json(r) + "\n");
}

// The registered nodes (their leases are alive) and whether this node's
// coordinator fails a zone over by itself: what a drill needs to know.
HttpResponse live_nodes_doc(Coordinator& c) {
  auto nodes = c.engine().journal().live_nodes();
  if (!nodes) return error_response(nodes.status());
  json list = json::array();
  for (const coord::LiveNode& n : *nodes) list.push_back(json{{"ezone", n.ezone}, {"admin", n.admin}, {"lease", n.lease}});
  return HttpResponse::json(200, json{{"auto_failover", c.auto_failover()}, {"nodes", list}}.dump(2) + "\n");
}

// kind-<wall ms>-<random>: two requests in the same millisecond must not
// share an id, or the second would be answered with the first workflow.
std::string generated_id(const std::string& kind) {
  static std::mt19937 rng{std::random_device{}()};
  static std::mutex rng_mutex;
  std::lock_guard<std::mutex> lock(rng_mutex);
  char suffix[8];
  std::snprintf(suffix, sizeof(suffix), "%04x", static_cast<unsigned>(rng() & 0xffff));
  return kind + "-" + std::to_string(SystemClock::instance().wall_ms()) + "-" + suffix;
}

Result<std::vector<ShardId>> shard_list(const json& body, const RouteTable& table) {
  if (!body.contains("shards") || !body["shards"].is_array() || body["shards"].empty())
    return Status(Errc::invalid_argument, "\"shards\" must be a non-empty array of shard names or ids");
  std::vector<ShardId> out;
  for (const json& s : body["shards"]) {
    std::string text = s.is_string() ? s.get<std::string>() : s.is_number_unsigned() ? std::to_string(s.get<uint64_t>()) : "";
    auto id = table.find_shard(text);
    if (!id) return id.status();
    out.push_back(*id);
  }
  return out;
}

HttpResponse answer(const Result<JournaledWorkflow>& j, Coordinator& c, bool dry_run, bool created) {
  if (!j) return error_response(j.status());
  if (created) c.kick();
  json doc = workflow_doc(c, *j, false);
  doc["dry_run"] = dry_run;
  return HttpResponse::json(created ? 201 : 200, doc.dump(2) + "\n");
}

// A rebalance weighs shards by the last five minutes unless told otherwise.
constexpr int64_t kTrafficWindowDefaultS = 300;

json shard_counts(const std::vector<uint64_t>& served) {
  json shards = json::object();
  for (size_t i = 0; i < served.size(); ++i)
    if (served[i] > 0) shards[std::to_string(i)] = served[i];
  return shards;
}

// Since the node started ("shards") and over the last window_s ("window":
// its span is shorter when the node's history is).
json traffic_doc(const CoordAdminSources& s, int64_t window_s) {
  json doc{{"ezone", s.ezone}, {"shards", json::object()}};
  if (s.served_per_shard) doc["shards"] = shard_counts(s.served_per_shard());
  if (s.served_recently) {
    TrafficWindow::Served recent = s.served_recently(window_s * 1000);
    doc["window"] = json{{"requested_s", window_s}, {"span_s", recent.span_ms / 1000.0},
                         {"shards", shard_counts(recent.counts)}};
  }
  return doc;
}

// window_s from a query string or a body: a positive number of seconds.
Result<int64_t> window_seconds(const std::string& text) {
  return parse_window_seconds(text, kTrafficWindowDefaultS, 1, 86400);
}

struct MeasuredWeights {
  coord::ShardWeights weights;
  double shortest_span_s = -1;  // the shortest history among the nodes; -1: none reported one
};

// Requests served per shard by every live node over the last window_s:
// this one's counts plus each other node's GET /admin/v1/traffic.
// unavailable naming a node that does not answer (a rebalance must not
// weigh by half the traffic).
Result<MeasuredWeights> measured_weights(const CoordAdminSources& s, Coordinator& c, int64_t window_s) {
  MeasuredWeights out;
  // A report's counts by shard id; false when it is malformed (a peer's).
  auto add = [&](const json& doc) -> bool {
    const bool windowed = doc.contains("window") && doc["window"].is_object();
    const json& shards = windowed ? doc["window"]["shards"] : doc["shards"];
    if (!shards.is_object()) return false;
    if (windowed && doc["window"].contains("span_s") && doc["window"]["span_s"].is_number()) {
      const double span = doc["window"]["span_s"].get<double>();
      if (out.shortest_span_s < 0 || span < out.shortest_span_s) out.shortest_span_s = span;
    }
    for (auto it = shards.begin(); it != shards.end(); ++it) {
      char* end = nullptr;
      const unsigned long id = std::strtoul(it.key().c_str(), &end, 10);
      if (it.key().empty() || *end != '\0' || id > kShardIdMax || !it.value().is_number_unsigned()) return false;
      out.weights[static_cast<ShardId>(id)] += it.value().get<double>();
    }
    return true;
  };
  add(traffic_doc(s, window_s));
  auto nodes = c.engine().journal().live_nodes();
  if (!nodes) return nodes.status();
  for (const coord::LiveNode& n : *nodes) {
    if (n.ezone == s.ezone) continue;
    auto admin = parse_host_port(n.admin);
    if (!admin) return Status(Errc::unavailable, n.ezone + " registered no usable admin address");
    net::HttpRequest req{"GET", "/admin/v1/traffic?window_s=" + std::to_string(window_s), "", "", {}};
    net::add_bearer_token(req, s.admin_token.sent());
    auto r = net::HttpConnection(*admin, s.admin_tls).request(req, 2000);
    if (!r || r->status != 200)
      return Status(Errc::unavailable, "cannot measure the traffic served by " + n.ezone + ": " +
                                           (r ? "status " + std::to_string(r->status) : r.status().message()) +
                                           "; give the weights by hand");
    json doc = parse_json_or_discarded(r->body);
    const bool window_ok = !doc.is_object() || !doc.contains("window") ||
                           (doc["window"].is_object() && doc["window"].contains("shards"));
    if (!doc.is_object() || !doc.contains("shards") || !window_ok || !add(doc))
      return Status(Errc::unavailable, n.ezone + " sent a malformed traffic report");
  }
  return out;
}

HttpResponse rebalance(const CoordAdminSources& s, Coordinator& c, const json& body, const RouteTable& table,
                       const std::string& id, bool dry_run) {
  if (!body.contains("target") || !body["target"].is_object())
    return HttpResponse::error(400, "\"target\" must be an object of ezone -> percent, e.g. {\"bj\": 52, \"sh\": 48}");
  std::map<std::string, double> target;
  for (auto it = body["target"].begin(); it != body["target"].end(); ++it) {
    if (!it.value().is_number()) return HttpResponse::error(400, "target." + it.key() + " must be a number");
    target[it.key()] = it.value().get<double>();
  }
  coord::ShardWeights weights;
  std::string source = "given";
  if (!body.contains("weights")) {
    std::string window_text;
    if (body.contains("window_s")) {
      if (!body["window_s"].is_number_integer()) return HttpResponse::error(400, "window_s must be a whole number of seconds");
      window_text = std::to_string(body["window_s"].get<int64_t>());
    }
    auto window_s = window_seconds(window_text);
    if (!window_s) return error_response(window_s.status());
    auto measured = measured_weights(s, c, *window_s);
    if (!measured) return error_response(measured.status());
    weights = std::move(measured->weights);
    source = "measured: requests served per shard in the last " + std::to_string(*window_s) + " s";
    if (measured->shortest_span_s >= 0 && measured->shortest_span_s + 1 < double(*window_s))
      source += " (a node has only " + std::to_string(std::llround(measured->shortest_span_s)) + " s of history)";
    if (weights.empty()) source = "uniform: no traffic measured in the last " + std::to_string(*window_s) + " s";
    // A shard with no measured requests weighs nothing, not the default 1.
    for (const ShardRoute& r : table.shards())
      if (!weights.empty() && !weights.count(r.shard)) weights[r.shard] = 0;
  } else {
    if (!body["weights"].is_object()) return HttpResponse::error(400, "\"weights\" must be an object of shard -> weight");
    for (auto it = body["weights"].begin(); it != body["weights"].end(); ++it) {
      auto shard = table.find_shard(it.key());
      if (!shard) return error_response(shard.status());
      if (!it.value().is_number()) return HttpResponse::error(400, "weights." + it.key() + " must be a number");
      weights[*shard] = it.value().get<double>();
    }
  }
  auto plan = coord::plan_rebalance(table, weights, target);
  if (!plan) return error_response(plan.status());
  json moves = json::array();
  std::map<std::pair<std::string, std::string>, std::vector<ShardId>> groups;
  for (const coord::Move& m : plan->moves) {
    moves.push_back(json{{"shard", m.shard}, {"name", table.find(m.shard)->name}, {"from", m.from}, {"to", m.to}, {"weight", m.weight}});
    groups[{m.from, m.to}].push_back(m.shard);
  }
  json started = json::array();
  int n = 0;
  for (const auto& [pair, shards] : groups) {
    if (dry_run) break;
    auto j = c.engine().submit_switchover(shards, pair.second, id + "-" + std::to_string(++n), false);
    if (!j) return error_response(j.status());
    started.push_back(j->workflow.id);
  }
  if (!started.empty()) c.kick();
  // The weights the plan used, so that a caller can run exactly the plan it
  // was shown (measured traffic keeps changing between two requests).
  json used = json::object();
  for (const ShardRoute& r : table.shards()) {
    auto w = weights.find(r.shard);
    used[std::to_string(r.shard)] = w == weights.end() ? 1.0 : w->second;
  }
  json doc{{"id", id}, {"dry_run", dry_run}, {"epoch", table.epoch()}, {"weights_source", source}, {"weights", used},
           {"moves", moves},
           {"share_before", plan->share_before}, {"share_after", plan->share_after}, {"workflows", started}};
  return HttpResponse::json(dry_run ? 200 : 201, doc.dump(2) + "\n");
}

HttpResponse start(const CoordAdminSources& s, Coordinator& c, const HttpRequest& req) {
  json body = parse_json_or_discarded(req.body);
  if (!body.is_object() || !body.contains("kind") || !body["kind"].is_string())
    return HttpResponse::error(400, "body must be a JSON object with \"kind\": switchover, failover or rebalance");
  const std::string kind = body["kind"].get<std::string>();
  bool dry_run = body.value("dry_run", false);
  std::string id = body.contains("id") && body["id"].is_string() ? body["id"].get<std::string>() : generated_id(kind);
  auto table = RouteStore(c.engine().journal().store()).load();
  if (!table) return error_response(table.status());
  if (kind == "switchover") {
    auto shards = shard_list(body, *table);
    if (!shards) return error_response(shards.status());
    if (!body.contains("to") || !body["to"].is_string()) return HttpResponse::error(400, "\"to\" must name the target ezone");
    bool created = false;
    auto j = c.engine().submit_switchover(*shards, body["to"].get<std::string>(), id, dry_run, &created);
    return answer(j, c, dry_run, created);
  }
  if (kind == "failover") {
    if (!body.contains("zone") || !body["zone"].is_string()) return HttpResponse::error(400, "\"zone\" must name the failed ezone");
    bool created = false;
    auto j = c.engine().submit_failover(body["zone"].get<std::string>(), body.value("force", false), id, dry_run, {}, {},
                                        &created);
    return answer(j, c, dry_run, created);
  }
  if (kind == "rebalance") return rebalance(s, c, body, *table, id, dry_run);
  return HttpResponse::error(400, "unknown kind '" + kind + "'; use switchover, failover or rebalance");
}

HttpResponse workflows(const CoordAdminSources& s, Coordinator& c, const HttpRequest& req) {
  const std::string path = req.path();
  if (path == kWorkflowsPath) {
    if (req.method == "POST") return start(s, c, req);
    if (req.method != "GET") return HttpResponse::error(405, "use GET or POST");
    std::vector<std::string> bad;
    auto all = c.engine().journal().list(&bad);
    if (!all) return error_response(all.status());
    json list = json::array();
    for (const JournaledWorkflow& j : *all) list.push_back(workflow_doc(c, j, false));
    return HttpResponse::json(200, json{{"workflows", list}, {"malformed", bad}}.dump(2) + "\n");
  }
  std::string rest = path.substr(std::string(kWorkflowsPath).size() + 1);
  const std::string cancel_suffix = "/cancel";
  if (rest.size() > cancel_suffix.size() && rest.compare(rest.size() - cancel_suffix.size(), cancel_suffix.size(), cancel_suffix) == 0) {
    if (req.method != "POST") return HttpResponse::error(405, "use POST to cancel");
    auto j = c.engine().cancel(rest.substr(0, rest.size() - cancel_suffix.size()));
    if (!j) return error_response(j.status());
    c.kick();
    return HttpResponse::json(200, workflow_doc(c, *j, true).dump(2) + "\n");
  }
  if (req.method != "GET") return HttpResponse::error(405, "use GET");
  auto j = c.engine().journal().load(rest);
  if (!j) return error_response(j.status());
  return HttpResponse::json(200, workflow_doc(c, *j, true).dump(2) + "\n");
}

}  // namespace

std::optional<HttpResponse> handle_coord_admin(const CoordAdminSources& s, const HttpRequest& req) {
  const std::string path = req.path();
  if (path == "/admin/v1/coord/site") {
    if (req.method != "GET") return HttpResponse::error(405, "use GET");
    return site_report(s);
  }
  if (path == "/admin/v1/coord/nodes") {
    if (req.method != "GET") return HttpResponse::error(405, "use GET");
    if (!s.coordinator) return HttpResponse::error(404, "this node runs no coordinator");
    return live_nodes_doc(*s.coordinator);
  }
  if (path == "/admin/v1/traffic") {
    if (req.method != "GET") return HttpResponse::error(405, "use GET");
    auto window_s = window_seconds(req.query_param("window_s"));
    if (!window_s) return error_response(window_s.status());
    return HttpResponse::json(200, traffic_doc(s, *window_s).dump(2) + "\n");
  }
  if (path == kWorkflowsPath || path.rfind(std::string(kWorkflowsPath) + "/", 0) == 0) {
    if (!s.coordinator) return HttpResponse::error(404, "this node runs no coordinator");
    try {
      return workflows(s, *s.coordinator, req);
    } catch (const nlohmann::json::exception& e) {
      // A field of the wrong type (e.g. "dry_run": "yes").
      return HttpResponse::error(400, std::string("malformed request body: ") + e.what());
    }
  }
  return std::nullopt;
}

}  // namespace ezone
