#include "tools/ezctl/check_command.hpp"

#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tools/ezctl/admin_client.hpp"

namespace ezctl {
namespace {

using nlohmann::json;
using Sites = std::vector<std::pair<std::string, std::string>>;  // (ezone, admin)

constexpr int64_t kPollMs = 200;

// Every site's report of the check, and whether together they are complete:
// no site still sending, and every site compared every chunk each other
// site sent.
struct Gathered {
  std::vector<json> reports;  // in the order of the sites
  std::string unreachable;    // the first site that could not be read
  bool complete = false;
  uint64_t sent = 0, compared = 0, expected = 0;
};

Gathered gather(const Options& options, const Sites& sites, const std::string& id) {
  Gathered g;
  for (const auto& [ezone, admin] : sites) {
    Options at = options;
    at.node = admin;
    auto reply = admin_call(at, "GET", "/admin/v1/dal/checks/" + id + "?limit=" + std::to_string(options.limit));
    if (!reply || reply->status != 200) {
      if (g.unreachable.empty()) {
        g.unreachable = (ezone.empty() ? admin : ezone) + ": " + (reply ? reply_error(*reply) : reply.status().message());
      }
      g.reports.push_back(json::object());
      continue;
    }
    g.reports.push_back(reply->body);
  }
  if (!g.unreachable.empty()) return g;
  g.complete = true;
  std::map<std::string, uint64_t> sent;  // by the sending ezone
  for (const json& r : g.reports) {
    if (r.value("running", false)) g.complete = false;
    sent[r.value("ezone", "")] = r.value("issued_chunks", uint64_t{0});
    g.sent += r.value("issued_chunks", uint64_t{0});
  }
  for (const json& r : g.reports) {
    std::map<std::string, uint64_t> got;
    for (const json& c : r.value("received", json::array())) got[c.value("origin", "")] = c.value("chunks", uint64_t{0});
    for (const auto& [origin, n] : sent) {
      if (origin == r.value("ezone", "")) continue;
      g.expected += n;
      g.compared += std::min(got[origin], n);
      if (got[origin] < n) g.complete = false;
    }
  }
  return g;
}

// Prints the reports; returns whether everything was compared and equal.
bool print(const Gathered& g, const Sites& sites, const std::string& id, bool json_out) {
  bool clean = g.complete;
  uint64_t differing = 0;
  for (const json& r : g.reports) {
    for (const json& c : r.value("received", json::array()))
      differing += c.value("differing", uint64_t{0}) + c.value("skipped", uint64_t{0});
    for (const json& p : r.value("issued", json::array())) clean = clean && !p.contains("error");
    clean = clean && !r.value("interrupted", false);
  }
  clean = clean && differing == 0;
  if (json_out) {
    std::printf("%s\n", json{{"id", id}, {"complete", g.complete}, {"clean", clean}, {"differing", differing},
                             {"sites", g.reports}}
                            .dump(2)
                            .c_str());
    return clean;
  }
  std::printf("check %s: %zu sites, %llu of %llu chunks compared, %llu differ or could not be compared\n", id.c_str(),
              sites.size(), static_cast<unsigned long long>(g.compared), static_cast<unsigned long long>(g.expected),
              static_cast<unsigned long long>(differing));
  for (size_t i = 0; i < sites.size(); ++i) {
    const json& r = g.reports[i];
    uint64_t rows = 0;
    for (const json& p : r.value("issued", json::array())) rows += p.value("rows", uint64_t{0});
    std::printf("%s (%s): sent %llu chunks of %zu parts (%llu rows)%s\n", r.value("ezone", "?").c_str(),
                sites[i].second.c_str(), static_cast<unsigned long long>(r.value("issued_chunks", uint64_t{0})),
                r.value("issued", json::array()).size(), static_cast<unsigned long long>(rows),
                r.value("interrupted", false) ? ", INTERRUPTED (the node restarted or failed while sending)" : "");
    for (const json& p : r.value("issued", json::array())) {
      if (!p.contains("error")) continue;
      std::printf("  %s shard %lld stopped after %llu chunks: %s\n", p.value("table", "?").c_str(),
                  static_cast<long long>(p.value("shard", int64_t{-1})),
                  static_cast<unsigned long long>(p.value("chunks", uint64_t{0})), p.value("error", "").c_str());
    }
    for (const json& c : r.value("received", json::array())) {
      std::printf("  from %-8s %llu chunks (%llu rows): %llu match, %llu differ, %llu skipped\n",
                  c.value("origin", "?").c_str(), static_cast<unsigned long long>(c.value("chunks", uint64_t{0})),
                  static_cast<unsigned long long>(c.value("rows", uint64_t{0})),
                  static_cast<unsigned long long>(c.value("matched", uint64_t{0})),
                  static_cast<unsigned long long>(c.value("differing", uint64_t{0})),
                  static_cast<unsigned long long>(c.value("skipped", uint64_t{0})));
    }
    for (const json& d : r.value("differences", json::array())) {
      const std::string after = d.value("after", ""), upto = d.value("upto", "");
      std::printf("  %s: %s shard %lld chunk %lld, keys (%s, %s]: %s has %llu rows, %s %llu%s%s\n",
                  d.value("result", "?") == "differ" ? "DIFFER" : "SKIPPED", d.value("table", "?").c_str(),
                  static_cast<long long>(d.value("shard", int64_t{-1})),
                  static_cast<long long>(d.value("chunk", int64_t{0})), after.empty() ? "start" : after.c_str(),
                  upto.empty() ? "end" : upto.c_str(), d.value("origin", "?").c_str(),
                  static_cast<unsigned long long>(d.value("origin_rows", uint64_t{0})), r.value("ezone", "?").c_str(),
                  static_cast<unsigned long long>(d.value("local_rows", uint64_t{0})),
                  d.value("detail", "").empty() ? "" : ": ", d.value("detail", "").c_str());
    }
  }
  if (!g.complete) std::printf("not complete: some chunks were not compared yet (see --wait-ms)\n");
  return clean;
}

// Polls the sites until the check is complete or --wait-ms passed.
int follow(const Options& options, const Sites& sites, const std::string& id) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options.wait_ms);
  auto last_progress = std::chrono::steady_clock::now();
  Gathered g;
  for (;;) {
    g = gather(options, sites, id);
    if (!g.unreachable.empty()) return fail("check " + id, "cannot read the results at " + g.unreachable);
    if (g.complete || std::chrono::steady_clock::now() >= deadline) break;
    if (!options.json && std::chrono::steady_clock::now() - last_progress >= std::chrono::seconds(1)) {
      last_progress = std::chrono::steady_clock::now();
      std::fprintf(stderr, "check %s: %llu chunks sent, %llu of %llu compared\n", id.c_str(),
                   static_cast<unsigned long long>(g.sent), static_cast<unsigned long long>(g.compared),
                   static_cast<unsigned long long>(g.expected));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
  const bool clean = print(g, sites, id, options.json);
  if (!clean) std::fprintf(stderr, "ezctl: check %s: not every chunk was compared and equal; see above\n", id.c_str());
  return clean ? 0 : 1;
}

// The body of POST /admin/v1/dal/checks.
ezone::Result<json> start_body(const Options& options, const std::string& id) {
  json body{{"id", id}};
  if (!options.tables.empty()) body["tables"] = split_commas(options.tables);
  if (!options.shards.empty()) {
    json shards = json::array();
    for (const std::string& s : split_commas(options.shards)) {
      if (s.empty() || s.size() > 9 || s.find_first_not_of("0123456789") != std::string::npos)
        return ezone::Status(ezone::Errc::invalid_argument, "--shards takes shard ids here, not '" + s + "'");
      shards.push_back(std::stoll(s));
    }
    body["shards"] = shards;
  }
  if (options.chunk_rows > 0) body["chunk_rows"] = options.chunk_rows;
  if (options.pause_ms > 0) body["pause_ms"] = options.pause_ms;
  return body;
}

}  // namespace

int run_check(const Options& options) {
  const bool results = options.args.size() == 3 && options.args[1] == "results";
  if (!results && options.args.size() != 1) return fail("check", "the command is `check [options]` or `check results ID`");
  auto sites = cluster_admins(options);
  if (!sites) return fail("check", sites.status().message());
  if (results) return follow(options, *sites, options.args[2]);
  const std::string id = options.id.empty() ? "check-" + std::to_string(now_ms()) : options.id;
  auto body = start_body(options, id);
  if (!body) return fail("check", body.status().message());
  for (const auto& [ezone, admin] : *sites) {
    Options at = options;
    at.node = admin;
    auto reply = admin_call(at, "POST", "/admin/v1/dal/checks", body->dump());
    if (!reply) return fail("check", "cannot start it at " + ezone + " (" + admin + "): " + reply.status().message());
    if (reply->status != 202) return fail("check", "not started at " + ezone + " (" + admin + "): " + reply_error(*reply));
  }
  if (options.no_wait) {
    std::printf("%s\n", options.json ? json{{"id", id}}.dump().c_str() : id.c_str());
    return 0;
  }
  return follow(options, *sites, id);
}

}  // namespace ezctl
