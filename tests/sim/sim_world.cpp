// The world's set-up, its main loop and its faults.
#include "tests/sim/sim_world.hpp"

#include <stdlib.h>

#include <cstdio>
#include <filesystem>

namespace ezone::sim {

namespace {

const char* const kZones[] = {"bj", "sh", "gz", "sz"};

data::Schema sim_schema() {
  data::TableSpec kv;
  kv.name = "kv";
  kv.kind = data::TableKind::sharding;
  kv.shard_column = "shard";
  kv.ddl = "CREATE TABLE kv(k TEXT PRIMARY KEY, shard INTEGER NOT NULL, v TEXT NOT NULL)";
  auto schema = data::Schema::create({kv});
  if (!schema) std::abort();
  return std::move(*schema);
}

std::string make_dir(const std::string& base) {
  std::string root = base;
  if (root.empty()) root = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
  std::string pattern = root + "/ezone-sim-XXXXXX";
  if (!mkdtemp(pattern.data())) {
    std::fprintf(stderr, "sim: cannot create a directory under %s\n", root.c_str());
    std::abort();
  }
  return pattern;
}

// p for an event with `rate_per_s` in one tick.
double per_tick(double rate_per_s, int64_t tick_ms) { return rate_per_s * static_cast<double>(tick_ms) / 1000.0; }

}  // namespace

World::World(const Options& options) : opt_(options), rng_(options.seed), schema_(sim_schema()) {
  if (opt_.sites <= 0) opt_.sites = 2 + static_cast<int>(opt_.seed % 3);
  opt_.sites = std::min(opt_.sites, 4);
}

World::~World() {
  engine_.reset();
  coord_store_.reset();
  oracle_journal_.reset();
  table_watch_.reset();
  node_watch_.reset();
  sites_.clear();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

void World::setup() {
  dir_ = make_dir(opt_.dir);
  store_ = std::make_unique<meta::MemoryMetaStore>(clock_);
  routes_ = std::make_unique<RouteStore>(*store_);
  const int n = opt_.sites;
  std::vector<ShardRoute> shards;
  std::map<std::string, HostPort> addresses;
  for (int i = 0; i < n; ++i) addresses[kZones[i]] = HostPort{"10.0.0." + std::to_string(i + 1), 7100};
  for (int s = 0; s < opt_.shards; ++s)
    shards.push_back({static_cast<ShardId>(s), "shard" + std::to_string(s), kZones[s % n], ShardState::active});
  auto table = RouteTable::create(1, shards, addresses);
  if (!table || !routes_->bootstrap(*table)) std::abort();
  watch_store();

  generation_.assign(static_cast<size_t>(n), 0);
  net_ = std::make_unique<Net>(rng_, n + 2);
  const double drops[] = {0.0, 0.02, 0.1};
  const double drop = drops[uniform_int(rng_, 0, 2)];
  const int64_t delay_max = uniform_int(rng_, 2, 40);
  for (int a = 0; a < n + 2; ++a)
    for (int b = 0; b < n + 2; ++b) net_->link(a, b) = Link{true, drop, 1, delay_max};
  trace("setup sites=" + std::to_string(n) + " shards=" + std::to_string(opt_.shards) +
        " drop=" + std::to_string(drop) + " delay_max_ms=" + std::to_string(delay_max));

  for (int i = 0; i < n; ++i) {
    // Most clocks agree within 50 ms; some are off by seconds (NTP lost).
    int64_t skew_max = chance(rng_, 0.2) ? 3000 : 50;
    if (opt_.skew_ms_max > 0) skew_max = opt_.skew_ms_max;
    const int64_t skew = uniform_int(rng_, -skew_max, skew_max);
    sites_.push_back(std::make_unique<SimSite>(i, kZones[i], dir_ + "/" + kZones[i] + ".db", clock_, skew,
                                               opt_.lease_ttl_s, schema_, opt_.breaks.site));
    sites_.back()->start();
    trace("start " + sites_.back()->ezone() + " skew_ms=" + std::to_string(skew));
  }
  coord::EngineOptions eo;
  eo.ack_timeout_ms = 1500;
  eo.apply_timeout_ms = 3000;
  const int64_t margins[] = {0, 200, 1000};
  eo.skew_margin_ms = margins[uniform_int(rng_, 0, 2)];
  eo.failover_wait_ms = 3000;
  auto_failover_ = chance(rng_, 0.5);
  trace(std::string("coordinator: automatic failover ") + (auto_failover_ ? "on" : "off") + ", skew margin " +
        std::to_string(eo.skew_margin_ms) + " ms");
  coord_store_ = std::make_unique<SimStoreLink>(
      *store_, [this] { return coord_store_hop(true); }, [this] { return coord_store_hop(false); });
  oracle_journal_ = std::make_unique<coord::WorkflowJournal>(*store_);
  engine_ = std::make_unique<coord::WorkflowEngine>(*coord_store_, probe_, clock_, eo);
}

RunResult World::run() {
  setup();
  const int64_t start = now();
  while (now() - start < opt_.chaos_ms && violations_.empty()) tick(true);
  if (violations_.empty()) heal();
  const int64_t quiesce_start = now();
  bool converged = false;
  while (violations_.empty() && now() - quiesce_start < opt_.quiesce_ms_max) {
    tick(false);
    if ((now() / opt_.tick_ms) % 10 == 0 && quiet()) {
      converged = true;
      break;
    }
  }
  if (violations_.empty() && !converged) violation("invariant 7: the sites did not converge within " +
                                                   std::to_string(opt_.quiesce_ms_max) + " ms after healing");
  if (violations_.empty()) check_converged();
  stats_.sim_ms = now() - start;
  RunResult r;
  r.violations = violations_;
  r.trace_tail.assign(tail_.begin(), tail_.end());
  r.trace_hash = hash_;
  r.stats = stats_;
  return r;
}

void World::tick(bool chaos) {
  clock_.advance_ms(opt_.tick_ms);
  store_->tick();
  net_->run_due(now());
  for (auto& s : sites_)
    if (s->alive() && violations_.empty()) site_actions(*s);
  if (violations_.empty() && now() >= next_release_ms_) {
    next_release_ms_ = now() + kReleaseEveryMs;
    operator_releases();
  }
  if (chaos && violations_.empty()) {
    workload();
    inject_faults();
  }
  if (violations_.empty()) coordinator_actions(chaos);
  {
    // Sites that a forced failover kept down come back once it finished.
    for (int i : std::set<int>(pinned_dead_)) {
      bool held = false;
      for (const auto& [id, site] : forced_dead_) held = held || site == i;
      if (!held) {
        pinned_dead_.erase(i);
        restart_site(i);
      }
    }
  }
  if (violations_.empty()) check_sites();
}

void World::inject_faults() {
  const int n = static_cast<int>(sites_.size());
  const int64_t t = opt_.tick_ms;
  if (chance(rng_, per_tick(0.6, t))) {
    const int a = static_cast<int>(uniform_int(rng_, 0, n + 1));
    int b = static_cast<int>(uniform_int(rng_, 0, n));
    if (b >= a) ++b;
    const bool both = chance(rng_, 0.5);
    const int64_t until = now() + uniform_int(rng_, 200, 3000);
    net_->link(a, b).up = false;
    if (both) net_->link(b, a).up = false;
    ++stats_.partitions;
    trace("partition " + std::to_string(a) + (both ? " <-> " : " -> ") + std::to_string(b) + " until " +
          std::to_string(until));
    net_->at(until, [this, a, b, both] {
      net_->link(a, b).up = true;
      if (both) net_->link(b, a).up = true;
      trace("heal " + std::to_string(a) + (both ? " <-> " : " -> ") + std::to_string(b));
    });
  }
  if (chance(rng_, per_tick(0.25, t))) {
    const int i = static_cast<int>(uniform_int(rng_, 0, n - 1));
    if (sites_[static_cast<size_t>(i)]->alive()) {
      if (opt_.disk_loss && chance(rng_, 0.3)) lose_disk(i);  // when it may: see sim_reseed.cpp
      kill_site(i);
      const int64_t back = now() + uniform_int(rng_, 300, 4000);
      net_->at(back, [this, i] { restart_site(i); });
    }
  }
  if (store_up_ && chance(rng_, per_tick(0.08, t))) {
    store_up_ = false;
    store_->set_available(false);
    ++stats_.store_outages;
    const int64_t back = now() + uniform_int(rng_, 100, 1500);
    trace("store down until " + std::to_string(back));
    net_->at(back, [this] {
      if (store_up_) return;
      store_up_ = true;
      store_->set_available(true);
      trace("store up");
    });
  }
  if (chance(rng_, per_tick(0.1, t))) {
    // The coordinator's node dies; another (or it, restarted) resumes the
    // journaled workflows. The engine holds no state, so a new one will do.
    coord_down_until_ms_ = now() + uniform_int(rng_, 0, 500);
    engine_ = std::make_unique<coord::WorkflowEngine>(*coord_store_, probe_, clock_, engine_->options());
    trace("coordinator restarts, back at " + std::to_string(coord_down_until_ms_));
  }
}

void World::kill_site(int i) {
  SimSite& s = *sites_[static_cast<size_t>(i)];
  if (!s.alive()) return;
  s.kill();
  ++stats_.kills;
  trace("kill " + s.ezone());
}

void World::restart_site(int i) {
  SimSite& s = *sites_[static_cast<size_t>(i)];
  if (s.alive()) return;
  if (pinned_dead_.count(i)) return;  // a forced failover holds it down; tick() restarts it later
  const bool reseeded = lost_disks_.count(i) > 0;
  if (reseeded && !reseed_site(i)) {
    if (violations_.empty()) net_->at(now() + 200, [this, i] { restart_site(i); });  // too soon or a peer down: later
    return;
  }
  s.start();
  for (auto& peer : sites_) {
    if (!reseeded || peer.get() == &s) continue;
    auto cursor = s.dal().cursor(peer->ezone());  // the copy's: the source's, and of the source its head
    if (!cursor) return violation("cursor at re-seeded " + s.ezone() + ": " + cursor.status().to_string());
    cursor_seen_[{i, peer->ezone()}] = *cursor;
  }
  trace("restart " + s.ezone() + " at epoch " + std::to_string(s.epoch()) + " inc " +
        std::to_string(s.incarnation()));
}

void World::heal() {
  trace("heal everything");
  net_->heal_all();
  if (!store_up_) {
    store_up_ = true;
    store_->set_available(true);
  }
  for (size_t i = 0; i < sites_.size(); ++i) restart_site(static_cast<int>(i));
}

void World::operator_releases() {
  for (auto& s : sites_) {
    if (!s->alive()) continue;
    auto q = s->dal().quarantine(1000000);
    if (!q) return violation("quarantine() failed at " + s->ezone());
    for (const dal::QuarantineEntry& e : *q) {
      if (fnv1a(kFnvBasis, e.pk + "@" + std::to_string(now())) % 2 == 1 && operator_keeps_loser(e)) continue;
      if (!violations_.empty()) return;
      auto seq = s->dal().release_quarantine(e.table, e.pk);
      if (!seq) return violation("release of " + e.table + " " + e.pk + " at " + s->ezone() + " failed: " + seq.status().to_string());
      ++stats_.releases;
      trace("operator releases " + e.table + " " + e.pk + " at " + s->ezone() + " (outbox seq " + std::to_string(*seq) + ")");
    }
    return;
  }
}

bool World::operator_keeps_loser(const dal::QuarantineEntry& e) {
  if (e.shard < 0) return false;
  const ShardId shard = static_cast<ShardId>(e.shard);
  const ShardRoute* route = tables_.rbegin()->second->find(shard);
  SimSite* owner = nullptr;
  for (auto& s : sites_)
    if (route && s->ezone() == route->owner && s->alive()) owner = s.get();
  if (!owner) return false;
  auto conflicts = owner->dal().conflicts(1000000);
  if (!conflicts) return false;
  const dal::ConflictRecord* record = nullptr;
  for (const dal::ConflictRecord& r : *conflicts)
    if (r.table == e.table && r.pk == e.pk && r.loser_op == dal::ChangeOp::upsert) record = &r;
  if (!record) return false;
  auto row = dal::parse_row_text(record->loser_row);
  auto pk = dal::parse_row_text(e.pk);
  if (!row || row->size() != 3 || !pk || pk->size() != 1) {
    violation("the conflict record of " + e.table + " " + e.pk + " at " + owner->ezone() + " does not read back: " +
              record->loser_row);
    return false;
  }
  const std::string key = std::get<std::string>((*pk)[0]), value = std::get<std::string>((*row)[2]);
  const Epoch epoch = owner->epoch();
  dal::TxOutcome out = owner->dal().release_quarantine_keeping(e.table, e.pk, record->loser.origin, record->loser.hlc);
  const GateSeen gate = owner->last_gate();
  trace("operator keeps " + key + "=" + value + " (" + record->loser.origin + "@" + std::to_string(record->loser.hlc) +
        ", the loser) at " + owner->ezone() + ": " +
        (out.ok() ? "committed seq " + std::to_string(out.outbox_seq) : "refused: " + out.status.to_string()));
  if (!out.ok()) return false;
  ++stats_.releases;
  ++stats_.kept_losers;
  check_commit(*owner, out, shard, epoch, key, value, gate);
  return true;
}

bool World::quiet() {
  if (!workflows_.empty() || !store_up_) return false;
  const Epoch epoch = tables_.rbegin()->first;
  for (auto& s : sites_)
    if (!s->alive() || !s->lease_valid() || s->epoch() != epoch) return false;
  for (auto& x : sites_) {
    for (auto& y : sites_) {
      if (x == y) continue;
      // Of y's current outbox: after a re-seed of y, a cursor of its lost
      // one may hold the same seq as the new head (seed 6210).
      auto cursor = x->dal().origin_cursor(y->ezone());
      const uint64_t head = y->dal().outbox_head();
      if (!cursor || cursor->seq != head) return false;
      if (head > 0 && cursor->lineage != y->dal().lineage()) return false;
    }
  }
  return true;
}

void World::trace(const std::string& line) {
  std::string text = std::to_string(now()) + " " + line;
  hash_ = fnv1a(hash_, text + "\n");
  if (opt_.trace_all) std::printf("  %s\n", text.c_str());
  tail_.push_back(std::move(text));
  if (tail_.size() > 400) tail_.pop_front();
}

void World::violation(const std::string& what) {
  trace("VIOLATION " + what);
  violations_.push_back(what);
}

RunResult run_world(const Options& options) {
  World world(options);
  return world.run();
}

}  // namespace ezone::sim
