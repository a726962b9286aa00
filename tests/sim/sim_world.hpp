// The deterministic multi-site simulator (DESIGN.md, "Invariants"; issue 6,
// "Deterministic simulator"). One World is one run of one seed:
//
//   - N sites (SimSite: the real Dal on SQLite), the in-memory metadata
//     store (MemoryMetaStore: CAS, leases, watches) on a ManualClock, and a
//     coordinator running the real WorkflowEngine, all joined by simulated
//     links (Net) that drop, delay, reorder and partition, in either
//     direction on its own;
//   - each site keeps its lease alive over its link to the store, learns
//     route tables from a lossy watch push and by polling, and pulls its
//     peers' outboxes (pull model; replies may be lost, late or reordered);
//   - a random workload writes random keys of random shards at random
//     sites, routed by the table the entry site holds (and, on purpose,
//     sometimes to a site that does not own the shard, or at a wrong epoch);
//   - faults: partitions, kills and restarts of sites, the store going
//     unreachable, coordinator restarts; switchovers, failovers (plain,
//     forced for a site kept down, and, in half the seeds, automatic for an
//     ezone whose registration went, as the node's Coordinator does) and
//     cancels go through the engine's step() from the simulation loop. The
//     engine reaches the store over its own link (SimStoreLink): requests
//     and answers get lost, and other messages land between its calls.
//
// Every event is checked as it happens against an oracle of what the store
// decided (route-table history, lease registrations) and what every site
// committed; after the chaos phase the world heals, quiesces and checks that
// all sites converged. The checks are listed in sim_check.cpp.
//
// The run is a pure function of (seed, options): one RNG, simulated time,
// one request at a time into each Dal. trace_hash() fingerprints the event
// log so tests can compare two runs of a seed.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "storage/coord/engine.hpp"
#include "storage/meta/memory_meta_store.hpp"
#include "storage/route/route_store.hpp"
#include "tests/sim/sim_net.hpp"
#include "tests/sim/sim_site.hpp"
#include "tests/sim/sim_store_link.hpp"

namespace ezone::sim {

constexpr int64_t kReleaseEveryMs = 1500;  // World::operator_releases

// FNV-1a: the trace hash (replays compare it) and the operator's choices.
constexpr uint64_t kFnvBasis = 1469598103934665603ull;
inline uint64_t fnv1a(uint64_t h, std::string_view text) {
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ull;
  return h;
}

struct Breaks {
  SiteBreaks site;
  bool probe_skips_watermark = false;  // the probe claims every target applied everything
  bool blind_registration = false;     // a site registers with a plain put, not a CAS on what it read
  // Disks are lost whatever the peers applied, and the re-seed is forced
  // past seed_shortfalls (a peer that applied less than the source).
  bool reseed_force = false;
};

struct Options {
  uint64_t seed = 1;
  int sites = 0;                // 0: 2 + seed % 3
  int shards = 6;
  int64_t tick_ms = 10;
  int64_t chaos_ms = 6000;      // faults and workload
  int64_t quiesce_ms_max = 60000;
  int64_t lease_ttl_s = 2;
  double writes_per_s = 30;     // client writes entering the sites
  int64_t store_hop_ms_max = 0;  // 0: a coordinator<->store hop lets 1-5 ms pass 30% of the time; N: 1-N ms always
  int64_t skew_ms_max = 0;      // 0: most clocks within 50 ms, one seed in five within 3 s
  bool trace_all = false;       // print every trace line
  // Some kills also lose the site's disk; it comes back re-seeded from the
  // peer that applied the most of it (storage/dal/reseed.hpp), and what no
  // peer had applied is lost with the disk (checked as such).
  bool disk_loss = false;
  std::string dir;              // where SQLite files go ("" = /dev/shm or /tmp)
  Breaks breaks;
};

struct Stats {
  uint64_t attempts = 0, commits = 0, refusals = 0, wrong_zone_refused = 0;
  uint64_t applies = 0, applied_entries = 0, conflicts = 0;
  uint64_t kills = 0, partitions = 0, store_outages = 0;
  uint64_t switchovers_done = 0, failovers_done = 0, cancelled = 0, failed = 0;
  uint64_t transfers_checked = 0;
  uint64_t quarantined_refused = 0, releases = 0, kept_losers = 0;
  uint64_t disk_losses = 0, reseeds = 0, lost_with_disk = 0, origin_restarts = 0;
  int64_t sim_ms = 0;
};

struct RunResult {
  std::vector<std::string> violations;  // empty: every invariant held
  std::vector<std::string> trace_tail;  // the last trace lines (for a failure report)
  uint64_t trace_hash = 0;
  Stats stats;
};

RunResult run_world(const Options& options);

// ---- internals shared by the world's .cpp files ----

// One committed local write, with the gate it was judged on.
struct CommitRecord {
  int site = 0;
  ShardId shard = 0;
  std::string key, value;
  HlcTime hlc = 0;
  uint64_t seq = 0;
  Epoch gate_epoch = 0;
  data::RowVersion base;  // the version it replaced, from its outbox entry
  int64_t at_ms = 0;
  bool entry_checked = false;  // its outbox entry was read and matched
  int generation = 0;          // of the site's database (a re-seed starts the next)
  bool lost = false;           // with the site's disk: no peer had applied it
};

class World;

// The coordinator's view of the sites, over its simulated links.
class SimProbe final : public coord::SiteProbe {
 public:
  explicit SimProbe(World& world) : world_(world) {}
  Result<Epoch> acknowledged_epoch(const std::string& ezone) override;
  Result<uint64_t> outbox_head(const std::string& ezone) override;
  Result<uint64_t> applied(const std::string& ezone, const std::string& origin) override;

 private:
  World& world_;
  std::map<std::string, uint64_t> lineages_;  // each site's outbox lineage when last asked its head
};

class World {
 public:
  explicit World(const Options& options);
  ~World();
  RunResult run();

  // ---- used by SimProbe ----
  SimSite* reachable_site(const std::string& ezone);  // nullptr: unknown, dead or cut off
  const Breaks& breaks() const { return opt_.breaks; }

 private:
  friend class SimProbe;
  // sim_world.cpp: setup, loop, faults
  void setup();
  void tick(bool chaos);
  void inject_faults();
  void heal();
  bool quiet();
  void kill_site(int i);
  void restart_site(int i);
  // sim_reseed.cpp: a lost disk and the operator's re-seed
  void lose_disk(int i);
  bool reseed_site(int i);  // false: too soon, or a peer is down (the best source is not known yet)
  // commit_by_seq_'s key for a site's outbox seq: outboxes of different
  // databases of one site count from 1 each.
  std::pair<int, uint64_t> seq_key(int site, uint64_t seq) const {
    return {site + 1000 * generation_[static_cast<size_t>(site)], seq};
  }
  // Whether lineage is one of a lost database of the site `origin`.
  bool stale_lineage(int origin, uint64_t lineage) const;
  // After a batch of `peer` told site idx that peer was re-seeded.
  void on_origin_restart(SimSite& s, int peer);
  int64_t now() const { return clock_.now_ms(); }
  int store_node() const { return static_cast<int>(sites_.size()); }
  int coord_node() const { return store_node() + 1; }

  // sim_protocols.cpp: what each site does, and the store's side of it
  void site_actions(SimSite& s);
  void send_grant(SimSite& s);
  void send_registration(SimSite& s, uint64_t attempt, int64_t revision);
  void send_keepalive(SimSite& s);
  void send_poll(SimSite& s);
  void send_pull(SimSite& s, int peer);
  // gen: the site's pull generation of `peer` when the pull left (SimSite::pull_generation).
  void on_pull_reply(int site, uint64_t inc, int peer, uint64_t gen, const std::string& wire);
  void deliver_table(int site, uint64_t inc, std::shared_ptr<const RouteTable> table, const char* how);
  void push_table(std::shared_ptr<const RouteTable> table);
  void workload();
  void attempt_write(int entry, ShardId shard);
  void submit_at(SimSite& s, ShardId shard, Epoch epoch, const std::string& how);

  // sim_coord.cpp: the coordinator
  bool coord_store_hop(bool request);
  void coordinator_actions(bool chaos);
  void submit_workflow();
  void detect_failures();
  void step_workflows();

  // sim_check.cpp: the oracle and the invariants
  void watch_store();
  void on_table_event(const RouteTable& table);
  void check_commit(SimSite& s, const dal::TxOutcome& out, ShardId shard, Epoch target_epoch,
                    const std::string& key, const std::string& value, const GateSeen& gate);
  void check_outbox_entry(int site, const dal::OutboxEntry& e);
  void check_refusal(SimSite& s, const dal::TxOutcome& out, ShardId shard, Epoch target_epoch, const GateSeen& gate,
                     const std::string& key);
  // The operator: every kReleaseEveryMs, the first live site releases every
  // row quarantined there (no randomness: seeds keep their traces). For
  // every other row (by a hash of its key and the time) the operator keeps
  // the losing version instead, at the shard's owner
  // (Dal::release_quarantine_keeping): a commit like a client's, checked as
  // one; when the owner cannot, the row is released plainly.
  void operator_releases();
  bool operator_keeps_loser(const dal::QuarantineEntry& e);
  static bool is_control(const dal::OutboxEntry& e);
  bool control_entry(SimSite& s, uint64_t seq);  // is the site's outbox entry `seq` a control record
  void check_transfer(Epoch epoch, const RouteTable& before, const RouteTable& after);
  void check_sites();
  void check_converged();
  void violation(const std::string& what);
  void trace(const std::string& line);

  Options opt_;
  Rng rng_;
  ManualClock clock_;
  std::unique_ptr<meta::MemoryMetaStore> store_;
  std::unique_ptr<RouteStore> routes_;
  std::unique_ptr<Net> net_;
  std::vector<std::unique_ptr<SimSite>> sites_;
  std::string dir_;
  data::Schema schema_;

  // coordinator
  SimProbe probe_{*this};
  std::unique_ptr<SimStoreLink> coord_store_;     // the engine's way to the store
  std::unique_ptr<coord::WorkflowJournal> oracle_journal_;  // the oracle's, straight to the store
  std::unique_ptr<coord::WorkflowEngine> engine_;
  std::vector<std::string> workflows_;        // running, in submit order
  std::map<std::string, int> forced_dead_;    // workflow id -> site kept down until it ends
  uint64_t workflow_count_ = 0;
  int64_t coord_next_ms_ = 0;
  int64_t coord_down_until_ms_ = 0;
  std::string stepping_;                      // the workflow whose step() runs now
  bool auto_failover_ = false;                // as the node's Coordinator with auto_failover
  std::set<std::string> seen_live_;           // ezones the coordinator saw registered

  // faults
  bool store_up_ = true;
  std::set<int> pinned_dead_;  // sites a forced failover keeps down

  // oracle: what the store decided, seen with no delay
  std::unique_ptr<meta::Watch> table_watch_, node_watch_;
  std::map<Epoch, std::shared_ptr<const RouteTable>> tables_;
  std::map<std::string, int64_t> registered_;  // ezone -> lease of its registration
  std::vector<std::pair<Epoch, std::shared_ptr<const RouteTable>>> pending_tables_;

  // what the sites did
  std::vector<CommitRecord> commits_;
  std::map<std::pair<int, std::string>, uint64_t> cursor_seen_;  // (site, origin) -> highest cursor seen
  std::map<std::pair<ShardId, Epoch>, int> writer_of_;           // (shard, gate epoch) -> site that committed
  std::map<std::pair<int, uint64_t>, size_t> commit_by_seq_;     // (site, outbox seq) -> commits_ index
  std::vector<int> generation_;                        // per site: re-seeds so far
  std::map<int, std::set<uint64_t>> retired_lineages_;  // per site: lineages of its lost databases
  struct LostDisk {
    uint64_t lineage = 0;  // of the database that went with it
    int64_t at_ms = 0;     // when
  };
  std::map<int, LostDisk> lost_disks_;                  // sites waiting for a re-seed
  int64_t next_release_ms_ = 0;
  uint64_t write_count_ = 0;

  Stats stats_;
  std::vector<std::string> violations_;
  std::deque<std::string> tail_;
  uint64_t hash_ = kFnvBasis;
};

}  // namespace ezone::sim
