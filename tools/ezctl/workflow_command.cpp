#include "tools/ezctl/workflow_command.hpp"

#include <chrono>
#include <cstdio>
#include <thread>

#include "tools/ezctl/admin_client.hpp"

namespace ezctl {
namespace {

using nlohmann::json;

constexpr int64_t kFollowPollMs = 50;

// "a=1,b=2" -> {"a": 1, "b": 2}; false with *error on a malformed pair.
bool parse_pairs(const std::string& text, json* out, std::string* error) {
  *out = json::object();
  for (const std::string& pair : split_commas(text)) {
    size_t eq = pair.find('=');
    char* end = nullptr;
    double v = eq == std::string::npos ? 0 : std::strtod(pair.c_str() + eq + 1, &end);
    if (eq == std::string::npos || eq == 0 || end == pair.c_str() + eq + 1 || *end != '\0')
      return *error = "'" + pair + "' is not NAME=NUMBER", false;
    (*out)[pair.substr(0, eq)] = v;
  }
  if (out->empty()) return *error = "no NAME=NUMBER pairs given", false;
  return true;
}

std::string summary(const json& w) {
  std::string out = w.value("id", "?") + ": " + w.value("kind", "?") + " of shard(s)";
  for (const json& s : w.value("shards", json::array())) out += " " + std::to_string(s.get<int64_t>());
  out += "\n";
  const json from = w.value("from", json::object()), to = w.value("to", json::object());
  for (auto it = from.begin(); it != from.end(); ++it)
    out += "  shard " + it.key() + ": " + it.value().get<std::string>() + " -> " + to.value(it.key(), "?") + "\n";
  return out;
}

void print_final(const json& w) {
  std::printf("%s: %s", w.value("id", "?").c_str(), w.value("outcome", "?").c_str());
  if (w.value("window_ms", int64_t{0}) > 0)
    std::printf(" (write-forbidden window %lld ms)", static_cast<long long>(w.value("window_ms", int64_t{0})));
  std::printf("\n  %s\n", w.value("detail", "").c_str());
}

int exit_code(const json& w) {
  const std::string outcome = w.value("outcome", "");
  return outcome == "done" ? 0 : outcome == "running" ? 3 : 1;
}

// Polls the workflow until it ends, printing a line whenever its step or
// what it waits on changes.
int follow(const Options& options, const std::string& id, std::string* outcome = nullptr) {
  const int64_t start = now_ms();
  std::string last;
  for (;;) {
    auto reply = admin_call(options, "GET", "/admin/v1/workflows/" + id);
    if (!reply) return fail("workflow " + id, reply.status().message());
    if (reply->status != 200) return fail("workflow " + id, reply_error(*reply));
    const json& w = reply->body;
    std::string line = w.value("step", "?") + "  " + w.value("waiting_on", "");
    if (line != last && !options.json) {
      std::printf("[%7.3fs] %s\n", (now_ms() - start) / 1000.0, line.c_str());
      std::fflush(stdout);
      last = line;
    }
    if (w.value("outcome", "running") != "running") {
      if (outcome) *outcome = w.value("outcome", "");
      if (options.json) std::printf("%s\n", w.dump(2).c_str());
      else print_final(w);
      return exit_code(w);
    }
    if (now_ms() - start > options.wait_ms) {
      std::fprintf(stderr, "ezctl: stopped following %s after %lld ms; it goes on in the cluster "
                           "(ezctl workflows %s, ezctl cancel %s)\n",
                   id.c_str(), static_cast<long long>(options.wait_ms), id.c_str(), id.c_str());
      return 3;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kFollowPollMs));
  }
}

// Starts a workflow from `body` and follows it (unless dry run / no wait).
int start(const Options& options, const std::string& what, json body) {
  body["dry_run"] = options.dry_run;
  if (!options.id.empty()) body["id"] = options.id;
  auto reply = admin_call(options, "POST", "/admin/v1/workflows", body.dump());
  if (!reply) return fail(what, reply.status().message());
  if (reply->status == 503)
    return fail(what, reply_error(*reply) +
                          "\n  (etcd may have lost its quorum: with two members and one gone, restart the survivor's "
                          "member with --force-new-cluster first, knowing it then decides alone)");
  if (reply->status != 200 && reply->status != 201) return fail(what, reply_error(*reply));
  const json& w = reply->body;
  if (options.json && (options.dry_run || options.no_wait)) return std::printf("%s\n", w.dump(2).c_str()), 0;
  std::printf("%s%s", options.dry_run ? "dry run, nothing changed: " : reply->status == 200 ? "already journaled: " : "",
              summary(w).c_str());
  if (options.dry_run || options.no_wait || w.value("outcome", "") != "running") {
    if (w.value("outcome", "") != "running") print_final(w);
    return exit_code(w) == 3 ? 0 : exit_code(w);
  }
  return follow(options, w.value("id", ""));
}

}  // namespace

int run_switchover(const Options& options) {
  std::vector<std::string> shards = split_commas(options.shards);
  if (shards.empty() || options.to.empty()) return fail("switchover", "give --shards S1,S2 (names or ids) and --to EZONE");
  return start(options, "switchover", json{{"kind", "switchover"}, {"shards", shards}, {"to", options.to}});
}

int run_failover(const Options& options) {
  if (options.zone.empty()) return fail("failover", "give --zone EZONE (the failed one)");
  if (options.force)
    std::fprintf(stderr,
                 "ezctl failover --force: %s's shards move NOW, without waiting for its lease to expire.\n"
                 "  If %s is still alive and reachable by clients, both zones may accept writes to the same\n"
                 "  shards until %s fences itself (split brain for those entities), and every write %s made\n"
                 "  that was not yet replicated returns as a conflict or a quarantined entity when it comes back.\n"
                 "  Only do this when %s is known to be dead or cut off.\n",
                 options.zone.c_str(), options.zone.c_str(), options.zone.c_str(), options.zone.c_str(),
                 options.zone.c_str());
  return start(options, "failover", json{{"kind", "failover"}, {"zone", options.zone}, {"force", options.force}});
}

int run_rebalance(const Options& options) {
  json target, weights;
  std::string error;
  if (!parse_pairs(options.target, &target, &error)) return fail("rebalance", "--target: " + error);
  json body{{"kind", "rebalance"}, {"target", target}, {"dry_run", true}};
  if (!options.weights.empty()) {
    if (!parse_pairs(options.weights, &weights, &error)) return fail("rebalance", "--weights: " + error);
    body["weights"] = weights;
  }
  if (options.window_s > 0) body["window_s"] = options.window_s;
  if (!options.id.empty()) body["id"] = options.id;
  // The plan first, always.
  auto plan = admin_call(options, "POST", "/admin/v1/workflows", body.dump());
  if (!plan) return fail("rebalance", plan.status().message());
  if (plan->status != 200) return fail("rebalance", reply_error(*plan));
  const json& p = plan->body;
  std::printf("rebalance plan at epoch %lld (weights %s):\n", static_cast<long long>(p.value("epoch", int64_t{0})),
              p.value("weights_source", "?").c_str());
  for (const json& m : p["moves"])
    std::printf("  shard %-4lld %-20s %s -> %s (weight %.1f)\n", static_cast<long long>(m.value("shard", int64_t{0})),
                m.value("name", "").c_str(), m.value("from", "").c_str(), m.value("to", "").c_str(),
                m.value("weight", 0.0));
  for (auto it = p["share_before"].begin(); it != p["share_before"].end(); ++it)
    std::printf("  %-8s %5.1f%% -> %5.1f%%\n", it.key().c_str(), it.value().get<double>(),
                p["share_after"].value(it.key(), 0.0));
  if (p["moves"].empty()) return std::printf("nothing to move\n"), 0;
  if (options.dry_run) return 0;
  body["dry_run"] = false;
  body["id"] = p.value("id", "");
  body["weights"] = p.value("weights", json::object());  // run the plan that was shown
  auto started = admin_call(options, "POST", "/admin/v1/workflows", body.dump());
  if (!started) return fail("rebalance", started.status().message());
  if (started->status != 201) return fail("rebalance", reply_error(*started));
  int code = 0;
  for (const json& id : started->body["workflows"]) {
    std::printf("switchover %s\n", id.get<std::string>().c_str());
    if (options.no_wait) continue;
    int c = follow(options, id.get<std::string>());
    if (c != 0) code = c;
  }
  return code;
}

int run_workflows(const Options& options) {
  if (options.args.size() > 1) {
    auto reply = admin_call(options, "GET", "/admin/v1/workflows/" + options.args[1]);
    if (!reply) return fail("workflows", reply.status().message());
    if (reply->status != 200) return fail("workflows", reply_error(*reply));
    const json& w = reply->body;
    if (options.json) return std::printf("%s\n", w.dump(2).c_str()), 0;
    std::fputs(summary(w).c_str(), stdout);
    std::printf("step %s, outcome %s, runner %s\n", w.value("step", "?").c_str(), w.value("outcome", "?").c_str(),
                w.value("runner", "").empty() ? "-" : w.value("runner", "").c_str());
    if (!w.value("waiting_on", "").empty()) std::printf("waiting on: %s\n", w.value("waiting_on", "").c_str());
    for (const json& e : w.value("events", json::array()))
      std::printf("  %s  %-18s %s\n", ago(e.value("wall_ms", int64_t{0}), now_ms()).c_str(),
                  e.value("step", "?").c_str(), e.value("note", "").c_str());
    return 0;
  }
  auto reply = admin_call(options, "GET", "/admin/v1/workflows");
  if (!reply) return fail("workflows", reply.status().message());
  if (reply->status != 200) return fail("workflows", reply_error(*reply));
  if (options.json) return std::printf("%s\n", reply->body.dump(2).c_str()), 0;
  std::printf("%-36s %-10s %-18s %-9s %-7s %s\n", "ID", "KIND", "STEP", "OUTCOME", "WINDOW", "AGE");
  for (const json& w : reply->body["workflows"]) {
    std::printf("%-36s %-10s %-18s %-9s %-7s %s\n", w.value("id", "?").c_str(), w.value("kind", "?").c_str(),
                w.value("step", "?").c_str(), w.value("outcome", "?").c_str(),
                (std::to_string(w.value("window_ms", int64_t{0})) + "ms").c_str(),
                ago(w.value("created_wall_ms", int64_t{0}), now_ms()).c_str());
  }
  for (const json& bad : reply->body.value("malformed", json::array()))
    std::fprintf(stderr, "malformed journal record: %s\n", bad.get<std::string>().c_str());
  return 0;
}

int run_cancel(const Options& options) {
  if (options.args.size() != 2) return fail("cancel", "give the workflow id: ezctl cancel ID");
  auto reply = admin_call(options, "POST", "/admin/v1/workflows/" + options.args[1] + "/cancel");
  if (!reply) return fail("cancel", reply.status().message());
  if (reply->status != 200) return fail("cancel", reply_error(*reply));
  std::printf("cancel requested for %s; the shards return to their owners at its next step\n", options.args[1].c_str());
  if (options.no_wait) return 0;
  std::string outcome;
  int code = follow(options, options.args[1], &outcome);
  if (outcome == "cancelled") return 0;  // what was asked for
  return code == 0 ? 1 : code;           // done: the cancel came too late
}

}  // namespace ezctl
