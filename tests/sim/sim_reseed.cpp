// Lost disks (Options::disk_loss): a killed site sometimes loses its disk,
// and the operator re-seeds it from a peer before it starts again, as
// `ezoned --reseed-from PEER` does (actors/node/reseed.hpp), with the real
// Dal::snapshot_into, adopt_seed and install_seed:
//   - the source is the peer that applied the most of the lost database's
//     outbox, and every other peer must be up to be asked (the re-seed
//     waits until they are); dal::seed_shortfalls must find nothing;
//   - what no peer had applied is lost with the disk: those commits are
//     marked lost, and the convergence checks expect them nowhere and every
//     other commit everywhere;
//   - the peers then refuse nothing: each restarts the new outbox from
//     seq 1 (Dal::check_origin / restart_origin, on an empty batch too), and
//     drops the answers to pulls sent before (SimSite::pull_generation), as
//     the DRC's puller drops what an older generation of its pipeline brings.
// A disk is lost only while no other site waits for a re-seed and every
// peer follows the site's current database: a second re-seed before a peer
// saw the first names a lineage that peer never applied, and the peer halts
// (the operator re-seeds again); the simulation does not go there.
//
// With three sites or more, a disk is lost only once every peer applied the
// whole outbox. This simulation found that a peer that applied less than
// the source never gets the entries between: the new outbox starts again at
// seq 1 and no site re-ships another's (seed 38 of --disk-loss: bj had
// applied sh up to seq 9, gz up to 19; sh re-seeded from gz, and bj never
// got 10..19). seed_shortfalls now refuses that re-seed, and the break
// reseed-force shows the divergence it prevents.
#include <algorithm>
#include <cstdio>

#include "storage/dal/reseed.hpp"
#include "tests/sim/sim_world.hpp"

namespace ezone::sim {

namespace {
constexpr int64_t kReseedAfterMs = 100;  // links delay at most 40 ms (World::setup)
}  // namespace

void World::lose_disk(int i) {
  SimSite& s = *sites_[static_cast<size_t>(i)];
  if (!lost_disks_.empty() || !s.alive()) return;
  const uint64_t lineage = s.dal().lineage();
  const bool replicated_only = sites_.size() > 2 && !opt_.breaks.reseed_force;
  for (auto& peer : sites_) {
    if (peer.get() == &s) continue;
    if (!peer->alive()) return;
    auto cursor = peer->dal().origin_cursor(s.ezone());
    if (!cursor || (cursor->exists && cursor->lineage != lineage)) return;
    if (replicated_only && (!cursor->exists || cursor->seq != s.dal().outbox_head())) return;
  }
  retired_lineages_[i].insert(lineage);
  lost_disks_[i] = LostDisk{lineage, now()};
  kill_site(i);
  s.lose_disk();
  ++stats_.disk_losses;
  trace("disk of " + s.ezone() + " lost");
}

bool World::reseed_site(int i) {
  SimSite& s = *sites_[static_cast<size_t>(i)];
  // An operator's re-seed comes long after the last answer the lost
  // database sent has arrived: longer than any link's delay.
  const LostDisk lost_disk = lost_disks_.at(i);
  if (now() < lost_disk.at_ms + kReseedAfterMs) return false;
  const uint64_t lost_lineage = lost_disk.lineage;
  SimSite* source = nullptr;
  uint64_t source_seq = 0;
  std::vector<dal::PeerCursor> others;
  for (auto& peer : sites_) {
    if (peer.get() == &s) continue;
    if (!peer->alive()) return false;
    auto cursor = peer->dal().origin_cursor(s.ezone());
    if (!cursor) {
      violation("origin_cursor at " + peer->ezone() + ": " + cursor.status().to_string());
      return false;
    }
    const uint64_t seq = cursor->exists && cursor->lineage == lost_lineage ? cursor->seq : 0;
    others.push_back({peer->ezone(), cursor->exists ? cursor->seq : 0, cursor->exists ? cursor->lineage : 0, ""});
    if (!source || seq > source_seq) source = peer.get(), source_seq = seq;
  }
  const std::string copy = s.db_path() + ".seed";
  std::remove(copy.c_str());
  Status made = source->dal().snapshot_into(copy);
  auto seed = made ? dal::adopt_seed(copy, s.ezone(), source->ezone()) : Result<dal::SeedReport>(made);
  if (seed && seed->replaced_seq != source_seq) {
    violation("re-seed of " + s.ezone() + " from " + source->ezone() + ": the copy says it applied up to seq " +
              std::to_string(seed->replaced_seq) + ", its cursor said " + std::to_string(source_seq));
    return false;
  }
  if (seed) {
    others.erase(std::remove_if(others.begin(), others.end(),
                                [&](const dal::PeerCursor& p) { return p.ezone == source->ezone(); }),
                 others.end());
    const std::vector<std::string> shortfalls = dal::seed_shortfalls(*seed, others);
    if (!shortfalls.empty() && !opt_.breaks.reseed_force) {
      violation("the re-seed of " + s.ezone() + " from " + source->ezone() + " would be refused: " + shortfalls[0]);
      return false;
    }
  }
  auto installed = seed ? dal::install_seed(copy, s.db_path(), clock_.wall_ms()) : Result<std::string>(seed.status());
  if (!installed) {
    violation("re-seed of " + s.ezone() + " from " + source->ezone() + " failed: " + installed.status().to_string());
    return false;
  }
  // The copy carries the source's own commits up to its outbox head: the
  // re-seeded site gets them from it, not by a pull, so they are checked
  // against the source's outbox here.
  for (uint64_t after = 0; violations_.empty();) {
    auto own = source->dal().read_outbox(after, 1000, 64 << 20);
    if (!own) {
      violation("read_outbox at " + source->ezone() + ": " + own.status().to_string());
      return false;
    }
    if (own->entries.empty()) break;
    for (const dal::OutboxEntry& e : own->entries) check_outbox_entry(source->index(), e);
    after = own->entries.back().seq;
  }
  uint64_t lost = 0;
  for (CommitRecord& c : commits_) {
    if (c.site != i || c.generation != generation_[static_cast<size_t>(i)] || c.seq <= source_seq) continue;
    c.lost = true;
    ++lost;
  }
  stats_.lost_with_disk += lost;
  ++stats_.reseeds;
  ++generation_[static_cast<size_t>(i)];
  lost_disks_.erase(i);
  trace("re-seed " + s.ezone() + " from " + source->ezone() + " (it applied up to seq " + std::to_string(source_seq) +
        "; " + std::to_string(lost) + " commits lost with the disk)");
  return true;
}

bool World::stale_lineage(int origin, uint64_t lineage) const {
  auto it = retired_lineages_.find(origin);
  return it != retired_lineages_.end() && it->second.count(lineage) > 0;
}

void World::on_origin_restart(SimSite& s, int peer) {
  const std::string& origin = sites_[static_cast<size_t>(peer)]->ezone();
  cursor_seen_[{s.index(), origin}] = 0;
  s.pull_cursor[peer] = 0;
  ++s.pull_generation[peer];
  s.pull_next_ms[peer] = now();
  ++stats_.origin_restarts;
  trace(s.ezone() + " follows re-seeded " + origin + " from seq 1");
}

}  // namespace ezone::sim
