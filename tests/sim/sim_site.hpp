// One simulated site (IDC): its real Dal over a SQLite file, the route table
// it holds (and its durable copy, standing in for the LMDB route cache), its
// ownership lease as the node's EtcdSession tracks it, and its hybrid clock.
//
// A kill drops everything in memory (lease, table view, HLC, outstanding
// pulls) and closes the Dal; a restart reopens the same file and starts from
// the durable table copy, fenced until it holds a lease again.
//
// The Dal's writer thread calls gate(); the simulation thread calls
// everything else and always waits for the Dal's answer before going on, so
// the two never run at once and a seed replays exactly.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "core/hlc.hpp"
#include "storage/dal/dal.hpp"
#include "zones/routing/route_table.hpp"

namespace ezone::sim {

// The site's view of wall time: the simulated clock plus a fixed skew, so
// the sites' HLCs disagree the way real clocks do.
class SkewedClock final : public Clock {
 public:
  SkewedClock(const Clock& base, int64_t skew_ms) : base_(base), skew_ms_(skew_ms) {}
  int64_t now_ms() const override { return base_.now_ms(); }
  int64_t wall_ms() const override { return base_.wall_ms() + skew_ms_; }

 private:
  const Clock& base_;
  int64_t skew_ms_;
};

// The gate the Dal's writer took last: what a commit was judged against.
struct GateSeen {
  Epoch epoch = 0;            // 0: no table
  bool lease_valid = false;
  int64_t lease_id = 0;
};

// Deliberate breaks, so tests can show that the checks catch them.
struct SiteBreaks {
  bool no_fence_margin = false;  // lease valid until the lease's own end, and past it
  bool no_catchup_fence = false; // a new lease does not wait for the current epoch
};

// The self-fencing rule of actors/node/etcd_session.cpp (lease_valid): the
// lease was renewed by a request sent at T with TTL t, so the store cannot
// expire it before T + t; the node stops at T + t - margin.
inline int64_t fence_margin_ms(int64_t ttl_ms) { return std::min<int64_t>(1000, std::max<int64_t>(200, ttl_ms / 5)); }

class SimSite {
 public:
  SimSite(int index, std::string ezone, std::string db_path, const Clock& clock, int64_t skew_ms,
          int64_t lease_ttl_s, data::Schema schema, SiteBreaks breaks);
  ~SimSite();

  // Opens the Dal (a restart when it ran before). Aborts on failure: the
  // file is ours and must open.
  void start();
  void kill();
  // The site's disk is gone (it must be dead): its database and its durable
  // route table. It starts again only from a re-seed (World::reseed_site).
  void lose_disk();
  const std::string& db_path() const { return db_path_; }
  bool alive() const { return dal_ != nullptr; }
  uint64_t incarnation() const { return incarnation_; }

  int index() const { return index_; }
  const std::string& ezone() const { return ezone_; }
  dal::Dal& dal() { return *dal_; }
  HybridClock& hlc() { return *hlc_; }

  // ---- route table ----
  std::shared_ptr<const RouteTable> view() const;
  Epoch epoch() const;
  // Installs a table newer than the current one, keeps it durably, tells
  // the Dal and waits until the Dal acknowledged it. False when not newer.
  bool install(std::shared_ptr<const RouteTable> table);

  // ---- lease (as EtcdSession keeps it) ----
  int64_t lease_id() const;
  int64_t lease_ttl_ms() const { return lease_ttl_s_ * 1000; }
  // A new lease; the site may act on it only once it has installed
  // fence_epoch, the store's epoch read right after the registration (as
  // EtcdSession's fence_epoch: a node that restarted, or lost and regained
  // its lease, stays fenced until it has caught up).
  void set_lease(int64_t id, int64_t valid_until_ms, Epoch fence_epoch);
  void renew_lease(int64_t id, int64_t valid_until_ms);  // ignored unless id is current
  void lose_lease();
  bool lease_valid(std::string* why = nullptr) const;
  const SiteBreaks& breaks() const { return breaks_; }

  // Called by the Dal's writer thread.
  dal::WriteGate gate();
  GateSeen last_gate() const;

  // Protocol bookkeeping of the running process (lost on kill).
  bool grant_pending = false;
  int64_t grant_sent_ms = 0;
  uint64_t grant_attempt = 0;
  int64_t keepalive_sent_ms = -1'000'000;
  int64_t poll_sent_ms = -1'000'000;
  std::map<int, int64_t> pull_sent_ms;  // peer index -> when the outstanding pull left
  std::map<int, int64_t> pull_next_ms;  // peer index -> when to pull again
  std::map<int, uint64_t> pull_cursor;  // peer index -> cursor (read from the Dal after a start)
  // peer index -> restarts of the peer's outbox seen (a re-seed): the answer
  // to a pull sent before one is dropped, as drc's puller drops what an
  // older generation of its pipeline brings (drc_puller.cpp on_restart).
  std::map<int, uint64_t> pull_generation;

 private:
  const int index_;
  const std::string ezone_;
  const std::string db_path_;
  const Clock& clock_;
  SkewedClock wall_;
  const int64_t lease_ttl_s_;
  const data::Schema schema_;
  const SiteBreaks breaks_;
  std::shared_ptr<spdlog::logger> logger_;

  mutable std::mutex mutex_;  // the fields below are read by the Dal's writer
  std::shared_ptr<const RouteTable> view_;
  std::shared_ptr<const RouteTable> durable_view_;  // survives kill (the LMDB route cache)
  int64_t lease_id_ = 0;
  int64_t lease_valid_until_ms_ = 0;
  Epoch fence_epoch_ = 0;
  GateSeen last_gate_;

  uint64_t incarnation_ = 0;
  std::unique_ptr<HybridClock> hlc_;
  std::unique_ptr<dal::Dal> dal_;  // last: destroyed first (its writer calls gate())
};

}  // namespace ezone::sim
