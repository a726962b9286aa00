// The checks after healing and quiescing: convergence (invariant 7), the
// conflict winners and nothing lost silently (invariant 5), and exactly-once
// apply seen from the change feed (invariant 4). See sim_check.cpp.
#include <set>

#include "tests/sim/sim_world.hpp"

namespace ezone::sim {

namespace {
using Version = std::pair<HlcTime, std::string>;  // (hlc, origin)
std::string version_text(const Version& v) { return v.second + "@" + std::to_string(v.first); }
}  // namespace

void World::check_converged() {
  SimSite& first = *sites_[0];
  for (auto& s : sites_) {
    for (int shard = -1; shard < opt_.shards; ++shard) {
      std::optional<ShardId> which;
      if (shard >= 0) which = static_cast<ShardId>(shard);
      auto a = first.dal().checksum("kv", which), b = s->dal().checksum("kv", which);
      if (!a || !b) return violation("checksum failed: " + (a ? b.status() : a.status()).to_string());
      if (*a != *b) {
        std::string keys;
        auto ra = first.dal().query("SELECT k, v FROM kv ORDER BY k"), rb = s->dal().query("SELECT k, v FROM kv ORDER BY k");
        std::map<std::string, std::string> va, vb;
        for (const dal::Row& r : ra ? *ra : std::vector<dal::Row>{}) va[std::get<std::string>(r[0])] = std::get<std::string>(r[1]);
        for (const dal::Row& r : rb ? *rb : std::vector<dal::Row>{}) vb[std::get<std::string>(r[0])] = std::get<std::string>(r[1]);
        for (const auto& [k, v] : va)
          if (vb[k] != v) keys += " " + k + ": " + first.ezone() + " has " + v + ", " + s->ezone() + " has " + vb[k] + ";";
        return violation("invariant 7: after healing, " + s->ezone() + " and " + first.ezone() + " differ on table kv" +
                         (shard >= 0 ? " shard " + std::to_string(shard) : "") + ":" + keys);
      }
    }
  }

  // Versions: every acknowledged write, and which of them a later write
  // replaced (its base).
  std::map<std::string, Version> version_of_value;  // value -> its version
  std::map<std::string, std::set<Version>> versions, overwritten;  // key -> ...
  for (const CommitRecord& c : commits_) {
    if (c.lost) continue;  // with a disk, before any peer applied it: expected nowhere
    if (!c.entry_checked)
      return violation("invariant 3: " + c.key + "=" + c.value + " (seq " + std::to_string(c.seq) + " of " +
                       sites_[static_cast<size_t>(c.site)]->ezone() + ") never reached a peer from the outbox");
    const Version v{c.hlc, sites_[static_cast<size_t>(c.site)]->ezone()};
    version_of_value[c.value] = v;
    versions[c.key].insert(v);
    if (!c.base.empty()) overwritten[c.key].insert({c.base.hlc, c.base.origin});
  }
  std::set<Version> losers;
  for (auto& s : sites_) {
    auto conflicts = s->dal().conflicts(1000000);
    if (!conflicts) return violation("conflicts() failed at " + s->ezone());
    for (const dal::ConflictRecord& r : *conflicts) {
      if (!data::wins(data::ConflictPolicy::last_writer_wins, r.winner, r.loser))
        return violation("invariant 5: " + s->ezone() + " kept " + r.winner.origin + "@" + std::to_string(r.winner.hlc) +
                         " over " + r.loser.origin + "@" + std::to_string(r.loser.hlc) + ", against last-writer-wins");
      losers.insert({r.loser.hlc, r.loser.origin});
    }
  }
  auto rows = first.dal().query("SELECT k, v FROM kv ORDER BY k");
  if (!rows) return violation("query failed at " + first.ezone());
  std::map<std::string, std::string> final_value;
  for (const dal::Row& r : *rows) final_value[std::get<std::string>(r[0])] = std::get<std::string>(r[1]);
  for (const auto& [key, all] : versions) {
    auto fv = final_value.find(key);
    if (fv == final_value.end()) return violation("invariant 5: key " + key + " was written but is gone everywhere");
    const Version final_version = version_of_value.at(fv->second);
    // Heads: versions that no acknowledged write replaced. The policy picks
    // the greatest of them (HLC, then ezone name).
    Version best{0, ""};
    for (const Version& v : all)
      if (!overwritten[key].count(v) && v > best) best = v;
    if (final_version != best)
      return violation("invariant 5: key " + key + " converged to " + version_text(final_version) + " (" + fv->second +
                       ") but last-writer-wins among the versions nobody overwrote picks " + version_text(best));
    for (const Version& v : all) {
      if (v == final_version || overwritten[key].count(v) || losers.count(v)) continue;
      return violation("invariant 5: the write " + version_text(v) + " of key " + key +
                       " is lost silently: not the value, not overwritten, not kept as a conflict");
    }
  }

  // Invariant 9: every site quarantines the same rows, each with a conflict
  // recorded somewhere (at the owner that decided it, not necessarily here).
  std::set<std::string> conflicted, first_quarantine;
  for (auto& s : sites_) {
    auto conflicts = s->dal().conflicts(1000000);
    if (!conflicts) return violation("conflicts() failed at " + s->ezone());
    for (const dal::ConflictRecord& r : *conflicts) conflicted.insert(r.table + " " + r.pk);
  }
  for (auto& s : sites_) {
    auto q = s->dal().quarantine(1000000);
    if (!q) return violation("quarantine() failed at " + s->ezone());
    std::set<std::string> here;
    for (const dal::QuarantineEntry& e : *q) {
      if (!conflicted.count(e.table + " " + e.pk))
        return violation("invariant 9: " + s->ezone() + " quarantines " + e.table + " " + e.pk +
                         " but no site recorded a conflict of it");
      here.insert(e.table + " " + e.pk);
    }
    if (s == sites_.front()) first_quarantine = here;
    else if (here != first_quarantine)
      return violation("invariant 9: after healing, " + s->ezone() + " quarantines " + std::to_string(here.size()) +
                       " rows and " + first.ezone() + " " + std::to_string(first_quarantine.size()) + ", not the same ones");
  }

  // Exactly once, from each site's change feed: a peer's version of a row
  // arrives at most once.
  for (auto& s : sites_) {
    auto feed = s->dal().feed_since(0, {"kv"}, 10000000);
    if (!feed) return violation("feed_since failed at " + s->ezone());
    std::set<std::tuple<std::string, std::string, HlcTime>> seen;
    for (const dal::FeedEvent& e : *feed) {
      if (e.origin == s->ezone()) continue;
      if (!seen.insert({e.pk, e.origin, e.hlc}).second)
        return violation("invariant 4: " + s->ezone() + " applied " + e.origin + "'s version " + std::to_string(e.hlc) +
                         " of row " + e.pk + " twice");
    }
  }
  trace("converged: " + std::to_string(commits_.size()) + " commits, " + std::to_string(versions.size()) + " keys");
}

}  // namespace ezone::sim
