#include "tools/ezctl/check_command.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "tools/ezctl/admin_client.hpp"

namespace ezctl {
namespace {

using nlohmann::json;
using Sites = std::vector<std::pair<std::string, std::string>>;  // (ezone, admin)

constexpr int64_t kPollMs = 200;
constexpr int64_t kDifferencesListed = 1000;  // a site's report lists at most this many (kCheckDifferencesMax)

std::string join_commas(const std::set<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

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
  // A check that compared nothing proves nothing: no site owned what was
  // asked, or no site knows the id.
  clean = clean && differing == 0 && g.expected > 0;
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
  if (g.complete && g.expected == 0) {
    std::printf("nothing was compared: no site %s\n",
                g.sent == 0 ? "sent a chunk (does any site know this id, and own what was asked?)"
                            : "has a peer to compare with");
  }
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

// Starts check `id` at every site; an error message when one refused.
std::string start(const Options& options, const Sites& sites, const std::string& id) {
  auto body = start_body(options, id);
  if (!body) return body.status().message();
  for (const auto& [ezone, admin] : sites) {
    Options at = options;
    at.node = admin;
    auto reply = admin_call(at, "POST", "/admin/v1/dal/checks", body->dump());
    if (!reply) return "cannot start it at " + ezone + " (" + admin + "): " + reply.status().message();
    if (reply->status != 202) return "not started at " + ezone + " (" + admin + "): " + reply_error(*reply);
  }
  return "";
}

using ChunkKey = std::tuple<std::string, int64_t, int64_t>;  // table, shard, chunk

// Asks each owner to send repair images of its chunks that differ at some
// site, then checks the repaired parts again.
int repair(const Options& options, const Sites& sites, const std::string& id) {
  Options listing = options;
  listing.limit = kDifferencesListed;
  const Gathered g = gather(listing, sites, id);
  if (!g.unreachable.empty()) return fail("check repair", "cannot read the results at " + g.unreachable);
  if (!g.complete) {
    return fail("check repair", "check " + id + " is not complete; repair once every chunk was compared (`ezctl "
                                "check results " + id + "`)");
  }
  std::map<std::string, std::set<ChunkKey>> by_owner;
  uint64_t differing = 0, listed = 0;
  for (const json& r : g.reports) {
    for (const json& c : r.value("received", json::array())) differing += c.value("differing", uint64_t{0});
    for (const json& d : r.value("differences", json::array())) {
      if (d.value("result", "") != "differ") continue;
      ++listed;
      by_owner[d.value("origin", "")].insert({d.value("table", ""), d.value("shard", int64_t{-1}), d.value("chunk", int64_t{0})});
    }
  }
  if (by_owner.empty()) {
    std::printf("check %s: nothing to repair: no chunk differs\n", id.c_str());
    return 0;
  }
  std::set<std::string> tables, shards;
  for (const auto& [owner, chunks] : by_owner) {
    auto site = std::find_if(sites.begin(), sites.end(), [&](const auto& s) { return s.first == owner; });
    if (site == sites.end()) return fail("check repair", "the owner " + owner + " is not among the node's peers");
    json list = json::array();
    for (const auto& [table, shard, chunk] : chunks) {
      list.push_back(json{{"table", table}, {"shard", shard}, {"chunk", chunk}});
      tables.insert(table);
      if (shard >= 0) shards.insert(std::to_string(shard));
    }
    Options at = options;
    at.node = site->second;
    auto reply = admin_call(at, "POST", "/admin/v1/dal/checks/" + id + "/repair", json{{"chunks", list}}.dump());
    if (!reply) return fail("check repair", "cannot reach " + owner + ": " + reply.status().message());
    if (reply->status != 200) return fail("check repair", owner + " sent nothing: " + reply_error(*reply));
    std::printf("%s sent %llu repair images of %llu chunks (%llu rows)\n", owner.c_str(),
                static_cast<unsigned long long>(reply->body.value("images", uint64_t{0})),
                static_cast<unsigned long long>(reply->body.value("chunks", uint64_t{0})),
                static_cast<unsigned long long>(reply->body.value("rows", uint64_t{0})));
  }
  if (listed < differing) {
    std::printf("%llu chunk differences were listed of %llu: repair again after the next check\n",
                static_cast<unsigned long long>(listed), static_cast<unsigned long long>(differing));
  }
  Options verify = options;
  verify.tables = join_commas(tables);
  verify.shards = join_commas(shards);
  const std::string verify_id = id.substr(0, 40) + "-verify-" + std::to_string(now_ms());  // ids: 64 at most
  std::printf("checking the repaired parts again: check %s\n", verify_id.c_str());
  if (std::string why = start(verify, sites, verify_id); !why.empty()) return fail("check", why);
  return follow(options, sites, verify_id);
}

}  // namespace

int run_check(const Options& options) {
  const bool results = options.args.size() == 3 && options.args[1] == "results";
  const bool repairs = options.args.size() == 3 && options.args[1] == "repair";
  if (!results && !repairs && options.args.size() != 1) {
    return fail("check", "the command is `check [options]`, `check results ID` or `check repair ID`");
  }
  auto sites = cluster_admins(options);
  if (!sites) return fail("check", sites.status().message());
  if (results) return follow(options, *sites, options.args[2]);
  if (repairs) return repair(options, *sites, options.args[2]);
  const std::string id = options.id.empty() ? "check-" + std::to_string(now_ms()) : options.id;
  if (std::string why = start(options, *sites, id); !why.empty()) return fail("check", why);
  if (options.no_wait) {
    std::printf("%s\n", options.json ? json{{"id", id}}.dump().c_str() : id.c_str());
    return 0;
  }
  return follow(options, *sites, id);
}

}  // namespace ezctl
