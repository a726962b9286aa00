// What each site does on its own (lease, route table, replication pulls),
// the store's side of those requests, and the client workload.
//
// Every request and reply crosses a simulated link, so any of them may be
// lost, late or overtaken. Replies name the incarnation that asked: a reply
// reaching a restarted process is dropped, as a new process would never
// have matched it to a request.
#include <cinttypes>

#include "storage/coord/journal.hpp"
#include "tests/sim/sim_world.hpp"

namespace ezone::sim {

namespace {
constexpr int64_t kGrantRetryMs = 1000;    // a grant with no answer is sent again
constexpr int64_t kPollIntervalMs = 500;   // route-table poll (the watch push may be lost)
constexpr int64_t kPullIdleMs = 100;       // next pull after an empty batch
constexpr int64_t kPullTimeoutMs = 500;    // a pull with no answer is sent again
constexpr size_t kPullRowsMax = 8;
}  // namespace

void World::site_actions(SimSite& s) {
  const int64_t t = now();
  if (s.lease_id() == 0) {
    if (!s.grant_pending || t - s.grant_sent_ms >= kGrantRetryMs) send_grant(s);
  } else if (t - s.keepalive_sent_ms >= s.lease_ttl_ms() / 3) {
    send_keepalive(s);
  }
  if (t - s.poll_sent_ms >= kPollIntervalMs) send_poll(s);
  for (auto& peer : sites_) {
    const int p = peer->index();
    if (p == s.index()) continue;
    auto sent = s.pull_sent_ms.find(p);
    const bool outstanding = sent != s.pull_sent_ms.end() && t - sent->second < kPullTimeoutMs;
    const bool due = t >= s.pull_next_ms[p];
    // Now and then a second pull while one is out: replies then overtake
    // each other and repeat entries, which apply must take exactly once.
    if ((!outstanding && due) || (outstanding && chance(rng_, 0.02))) send_pull(s, p);
    if (!violations_.empty()) return;
  }
}

// Registration, as actors/node/etcd_session.cpp does it: read the
// registration key's revision, then grant a lease and put the key under it
// only if the key is still at that revision (a CAS). A request of a killed
// incarnation that is still in flight can then never replace the
// registration its successor made after it (seed 777000610: bj's first
// process registered lease 4 after its restarted process had registered
// lease 2, which it went on renewing and counting as valid).
void World::send_grant(SimSite& s) {
  const int idx = s.index();
  const uint64_t inc = s.incarnation();
  const uint64_t attempt = ++s.grant_attempt;
  s.grant_pending = true;
  s.grant_sent_ms = now();
  // The break is the protocol before the CAS: grant and put, nothing read.
  if (opt_.breaks.blind_registration) return send_registration(s, attempt, 0);
  net_->send(now(), idx, store_node(), [this, idx, inc, attempt] {
    SimSite& site = *sites_[static_cast<size_t>(idx)];
    auto read = store_->range(std::string(coord::kNodeKeyPrefix) + site.ezone());
    if (!read) return;
    const int64_t revision = read->kvs.empty() ? 0 : read->kvs[0].mod_revision;
    net_->send(now(), store_node(), idx, [this, idx, inc, attempt, revision] {
      SimSite& s = *sites_[static_cast<size_t>(idx)];
      if (!s.alive() || s.incarnation() != inc || s.grant_attempt != attempt || s.lease_id() != 0) return;
      send_registration(s, attempt, revision);
    });
  });
}

void World::send_registration(SimSite& s, uint64_t attempt, int64_t revision) {
  const int idx = s.index();
  const uint64_t inc = s.incarnation();
  const int64_t sent = now();
  net_->send(sent, idx, store_node(), [this, idx, inc, attempt, sent, revision] {
    // At the store: grant, register under the lease if nobody registered
    // since the read, then read the current epoch: the site stays fenced
    // until it has installed it.
    SimSite& site = *sites_[static_cast<size_t>(idx)];
    auto lease = store_->lease_grant(opt_.lease_ttl_s);
    if (!lease) return;
    const std::string key = std::string(coord::kNodeKeyPrefix) + site.ezone();
    meta::TxnRequest cas;
    if (!opt_.breaks.blind_registration) cas.compares.push_back({key, meta::Compare::Target::mod_revision, revision, ""});
    cas.success.push_back({meta::Op::Kind::put, key, "{\"admin\":\"sim\"}", lease->id});
    auto registered = store_->txn(cas);
    if (!registered) return;
    if (!registered->succeeded) {
      store_->lease_revoke(lease->id);
      net_->send(now(), store_node(), idx, [this, idx, inc, attempt] {
        SimSite& s = *sites_[static_cast<size_t>(idx)];
        if (!s.alive() || s.incarnation() != inc || s.grant_attempt != attempt) return;
        s.grant_pending = false;  // raced: read again and retry at once
        trace("registration of " + s.ezone() + " raced another; again");
      });
      return;
    }
    auto loaded = routes_->load();
    if (!loaded) return;
    const Epoch fence = loaded->epoch();
    const int64_t id = lease->id, ttl_ms = lease->ttl_s * 1000;
    net_->send(now(), store_node(), idx, [this, idx, inc, attempt, sent, id, ttl_ms, fence] {
      SimSite& s = *sites_[static_cast<size_t>(idx)];
      if (!s.alive() || s.incarnation() != inc || s.grant_attempt != attempt || s.lease_id() != 0) return;
      s.set_lease(id, sent + ttl_ms, fence);
      s.grant_pending = false;
      trace("lease " + s.ezone() + " id " + std::to_string(id) + " valid until " + std::to_string(sent + ttl_ms) +
            " once at epoch " + std::to_string(fence));
    });
  });
}

void World::send_keepalive(SimSite& s) {
  const int idx = s.index();
  const uint64_t inc = s.incarnation();
  const int64_t sent = now();
  const int64_t id = s.lease_id();
  s.keepalive_sent_ms = sent;
  net_->send(sent, idx, store_node(), [this, idx, inc, sent, id] {
    auto ttl = store_->lease_keepalive(id);
    if (!ttl && ttl.status().code() != Errc::not_found) return;  // unreachable store: no answer
    bool lost = !ttl;
    if (!lost) {
      // As the node does: a registration that is no longer under this lease
      // (another process of the ezone took the key) is a lost lease.
      auto reg = store_->range(std::string(coord::kNodeKeyPrefix) + sites_[static_cast<size_t>(idx)]->ezone());
      lost = reg && (reg->kvs.empty() || reg->kvs[0].lease != id);
    }
    const int64_t ttl_ms = ttl ? *ttl * 1000 : 0;
    net_->send(now(), store_node(), idx, [this, idx, inc, sent, id, lost, ttl_ms] {
      SimSite& s = *sites_[static_cast<size_t>(idx)];
      if (!s.alive() || s.incarnation() != inc || s.lease_id() != id) return;
      if (!lost) return s.renew_lease(id, sent + ttl_ms);
      s.lose_lease();
      trace("lease lost " + s.ezone() + " id " + std::to_string(id));
    });
  });
}

void World::send_poll(SimSite& s) {
  const int idx = s.index();
  const uint64_t inc = s.incarnation();
  s.poll_sent_ms = now();
  net_->send(now(), idx, store_node(), [this, idx, inc] {
    auto loaded = routes_->load();
    if (!loaded) return;
    auto table = std::make_shared<const RouteTable>(std::move(*loaded));
    net_->send(now(), store_node(), idx, [this, idx, inc, table] { deliver_table(idx, inc, table, "poll"); });
  });
}

void World::push_table(std::shared_ptr<const RouteTable> table) {
  for (auto& s : sites_) {
    if (!s->alive()) continue;
    const int idx = s->index();
    const uint64_t inc = s->incarnation();
    net_->send(now(), store_node(), idx, [this, idx, inc, table] { deliver_table(idx, inc, table, "watch"); });
  }
}

void World::deliver_table(int idx, uint64_t inc, std::shared_ptr<const RouteTable> table, const char* how) {
  SimSite& s = *sites_[static_cast<size_t>(idx)];
  if (!s.alive() || s.incarnation() != inc) return;
  if (s.install(table)) trace("install " + s.ezone() + " epoch " + std::to_string(table->epoch()) + " by " + how);
}

void World::send_pull(SimSite& s, int peer) {
  const int idx = s.index();
  const uint64_t inc = s.incarnation();
  const std::string origin = sites_[static_cast<size_t>(peer)]->ezone();
  // Like drc: the durable cursor is read once per process, then tracked.
  if (!s.pull_cursor.count(peer)) {
    auto cursor = s.dal().cursor(origin);
    if (!cursor) return violation("cursor of " + s.ezone() + " for " + origin + ": " + cursor.status().to_string());
    s.pull_cursor[peer] = *cursor;
  }
  s.pull_sent_ms[peer] = now();
  s.pull_next_ms[peer] = now() + kPullIdleMs;
  const uint64_t after = s.pull_cursor[peer];
  const uint64_t gen = s.pull_generation[peer];
  const size_t rows = static_cast<size_t>(uniform_int(rng_, 1, kPullRowsMax));
  net_->send(now(), idx, peer, [this, idx, inc, peer, after, rows, gen] {
    SimSite& p = *sites_[static_cast<size_t>(peer)];
    if (!p.alive()) return;
    // drc long-polls: with nothing after the cursor the pull ends with an
    // empty batch, which still names the outbox's database.
    auto batch = p.dal().read_outbox(after, rows, 1 << 20);
    if (!batch) return violation("read_outbox at " + p.ezone() + ": " + batch.status().to_string());
    // Invariant 4, "never re-shipped": an outbox holds only the site's own
    // commits, each under the seq and HLC its commit answered with.
    if (batch->origin != p.ezone()) return violation("invariant 4: " + p.ezone() + "'s outbox batch names origin " + batch->origin);
    for (const dal::OutboxEntry& e : batch->entries) check_outbox_entry(peer, e);
    if (!violations_.empty()) return;
    const std::string wire = dal::encode_batch(*batch);
    net_->send(now(), peer, idx, [this, idx, inc, peer, gen, wire] { on_pull_reply(idx, inc, peer, gen, wire); });
  });
}

void World::on_pull_reply(int idx, uint64_t inc, int peer, uint64_t gen, const std::string& wire) {
  SimSite& s = *sites_[static_cast<size_t>(idx)];
  if (!s.alive() || s.incarnation() != inc) return;
  s.pull_sent_ms.erase(peer);
  if (gen != s.pull_generation[peer])
    return trace(s.ezone() + " drops an answer of " + sites_[static_cast<size_t>(peer)]->ezone() +
                 " pulled before it was re-seeded");
  auto batch = dal::decode_batch(wire);
  if (!batch) return violation("a batch did not decode: " + batch.status().to_string());
  const std::string& origin = batch->origin;
  // Its answers all arrived before the re-seed (which waits longer than any
  // link delays): one now would be a pull answered by a dead database.
  if (stale_lineage(peer, batch->lineage) && !lost_disks_.count(peer))
    return violation(s.ezone() + " got a batch of " + origin + "'s lost database after it was re-seeded");
  if (batch->entries.empty()) {
    // Nothing new, so nothing to apply; but it may say that the origin was
    // re-seeded, and drc then restarts the cursor (drc_puller.cpp on_batch).
    bool restarts = false;
    if (Status checked = s.dal().check_origin(*batch, &restarts); !checked)
      return violation("the timeline check at " + s.ezone() + " refused " + origin +
                       "'s empty batch: " + checked.to_string());
    if (!restarts) return;
    if (Status reset = s.dal().restart_origin(*batch); !reset)
      return violation("restart_origin at " + s.ezone() + " for " + origin + ": " + reset.to_string());
    return on_origin_restart(s, peer);
  }
  auto c0 = s.dal().cursor(origin);
  auto report = s.dal().apply(*batch);
  if (!c0) return violation("cursor read failed at " + s.ezone());
  // Pulls always ask after the durable cursor, so a batch either repeats
  // applied entries or continues the cursor: a refusal is a bug.
  if (!report) return violation("apply at " + s.ezone() + " of " + origin + "'s batch failed: " + report.status().to_string());
  // The durable cursor is exactly where the last apply left it: not behind
  // (entries would apply twice), not ahead (entries would be skipped).
  uint64_t& seen = cursor_seen_[{idx, origin}];
  if (*c0 != seen)
    return violation("invariant 4: " + s.ezone() + "'s cursor for " + origin + " is " + std::to_string(*c0) +
                     " but the last apply left it at " + std::to_string(seen));
  if (report->restarted) on_origin_restart(s, peer);
  const uint64_t from = report->restarted ? 0 : *c0;  // a re-seeded origin's outbox counts from 1 again
  const auto c1 = std::optional<uint64_t>(report->cursor);
  uint64_t fresh = 0, last = from;
  for (const dal::OutboxEntry& e : batch->entries) {
    if (e.seq <= from) continue;
    if (e.seq != last + 1) break;
    last = e.seq;
    ++fresh;
  }
  if (*c1 != last || report->entries != fresh)
    return violation("invariant 4: " + s.ezone() + " applied " + std::to_string(report->entries) + " entries of " + origin +
                     " moving its cursor " + std::to_string(from) + " -> " + std::to_string(*c1) + "; expected " +
                     std::to_string(fresh) + " entries up to " + std::to_string(last));
  seen = *c1;
  s.pull_cursor[peer] = *c1;
  ++stats_.applies;
  stats_.applied_entries += report->entries;
  stats_.conflicts += report->conflicts;
  s.pull_next_ms[peer] = now();
  if (report->entries > 0)
    trace("apply " + s.ezone() + " <- " + origin + " " + std::to_string(*c0) + ".." + std::to_string(*c1) +
          " conflicts " + std::to_string(report->conflicts));
}

// ---- client workload ----

void World::workload() {
  if (!chance(rng_, opt_.writes_per_s * static_cast<double>(opt_.tick_ms) / 1000.0)) return;
  const int entry = static_cast<int>(uniform_int(rng_, 0, static_cast<int64_t>(sites_.size()) - 1));
  const auto shard = static_cast<ShardId>(uniform_int(rng_, 0, opt_.shards - 1));
  attempt_write(entry, shard);
}

void World::attempt_write(int entry, ShardId shard) {
  SimSite& s = *sites_[static_cast<size_t>(entry)];
  if (!s.alive()) return trace("client: " + s.ezone() + " is down");
  auto view = s.view();
  const Epoch e = view ? view->epoch() : 0;
  const double u = uniform01(rng_);
  if (u < 0.04 && e > 1) return submit_at(s, shard, e - 1, "stale epoch");
  if (u < 0.06) return submit_at(s, shard, e + 1, "epoch ahead");
  const ShardRoute* route = view ? view->find(shard) : nullptr;
  if (route && route->owner != s.ezone()) {
    if (u < 0.3) return submit_at(s, shard, e, "wrong zone on purpose");
    // The router forwards to the owner's router, which resolves again with
    // the table it holds.
    int owner = -1;
    for (auto& o : sites_)
      if (o->ezone() == route->owner) owner = o->index();
    if (owner < 0 || !net_->call(entry, owner)) return trace("client: forward " + s.ezone() + " -> " + route->owner + " lost");
    SimSite& o = *sites_[static_cast<size_t>(owner)];
    if (!o.alive()) return trace("client: forward to " + o.ezone() + ": down");
    return submit_at(o, shard, o.epoch(), "forwarded by " + s.ezone());
  }
  submit_at(s, shard, e, "local");
}

void World::submit_at(SimSite& s, ShardId shard, Epoch epoch, const std::string& how) {
  const std::string key = "s" + std::to_string(shard) + "-k" + std::to_string(uniform_int(rng_, 0, 2));
  const std::string value = "w" + std::to_string(++write_count_) + "@" + s.ezone();
  ++stats_.attempts;
  dal::TxOutcome out = s.dal().run({shard, epoch}, [&](dal::Tx& tx) -> Status {
    return tx
        .exec("INSERT INTO kv(k, shard, v) VALUES(?1, ?2, ?3) ON CONFLICT(k) DO UPDATE SET v=excluded.v",
              {dal::Value(key), dal::Value(static_cast<int64_t>(shard)), dal::Value(value)})
        .status();
  });
  const GateSeen gate = s.last_gate();
  trace("write " + s.ezone() + " shard " + std::to_string(shard) + " " + key + "=" + value + " at epoch " +
        std::to_string(epoch) + " (" + how + "): " + (out.ok() ? "committed seq " + std::to_string(out.outbox_seq)
                                                                : std::string("refused ") + dal::refusal_name(out.refusal)));
  if (out.ok()) {
    check_commit(s, out, shard, epoch, key, value, gate);
  } else {
    check_refusal(s, out, shard, epoch, gate, key);
  }
}

}  // namespace ezone::sim
