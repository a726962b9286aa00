// EtcdSession: this node's presence in the cluster's memory. On its own
// thread (etcd calls block, so they never run inside an actor) it
//   - grants a lease of lease_ttl_s and registers /ezone/v1/nodes/<ezone>
//     with this node's addresses under that lease;
//   - keeps the lease alive, at a third of its TTL;
//   - probes the store every etcd_check_interval_ms, so the node knows
//     within that interval when etcd is unreachable;
//   - re-registers with a new lease when the old one was lost.
// stop() revokes the lease, so peers see a clean departure at once.
//
// A twin (the same ezone started twice, by mistake) must not take the
// registration from a running process. The registration carries its
// writer's ProcessIdentity (under "process"). When the key is held under a
// lease that is not this session's, the session registers only once the
// holder is known to be gone:
//   - on this machine (same boot and PID namespace) the process table
//     tells at once: a crashed predecessor is replaced immediately, a
//     running process is a twin;
//   - elsewhere the session watches the holder's lease: a remaining TTL
//     that grows was renewed, so its holder lives (seen within a renewal
//     interval, TTL/3); a lease still there 3 s past the remaining TTL it
//     showed at first (a second of etcd's rounding, two for its leader to
//     revoke an expired lease through raft) was renewed too; a dead
//     holder's lease expires and etcd deletes the key.
// check_alone() is that judgement before the node starts anything (it
// watches for at most the session's own TTL plus 4 s), and start()
// fails as well when a twin registered meanwhile. set_takeover(true) skips
// the check for the first registration; the process it replaces finds
// itself displaced (below).
//
// While the node's FaultState says it is isolated (a drill), the session
// makes no etcd call at all and reports etcd unreachable: the lease runs
// down exactly as when renewals fail, so lease_valid() turns false at its
// fencing point and etcd expires the lease at its TTL (nothing revokes it:
// a dark IDC could not). After the heal the session finds the lease gone
// and re-registers with a new one, fenced until it has caught up
// (fence_epoch), as after any lost lease.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/node_config.hpp"
#include "core/fault_state.hpp"
#include "core/metrics.hpp"
#include "storage/meta/meta_store.hpp"

namespace spdlog {
class logger;
}

namespace ezone {

struct EtcdState {
  bool reachable = false;
  int64_t since_wall_ms = 0;    // when `reachable` last changed
  int64_t last_ok_wall_ms = 0;  // last successful call; 0 = never
  std::string last_error;       // empty while reachable
  // A running process of this ezone that holds the registration (a twin),
  // described; empty otherwise.
  std::string twin;
  int64_t lease_id = 0;         // 0 = no lease held
  bool registered = false;      // the node key is written under lease_id
  // Monotonic ms until which this node may act as the lease's holder (see
  // EtcdSession::lease_valid); 0 = never.
  int64_t lease_valid_until_mono_ms = 0;
  // The route-table epoch this node must have installed before it may act
  // on its lease: read from etcd right after each new registration, so a
  // node that restarts (or lost and regained its lease) stays fenced until
  // it has caught up with the epoch current at that moment. INT64_MAX while
  // that read has not succeeded yet; 0 without a fence_epoch source.
  int64_t fence_epoch = 0;
};

// The etcd key under which a node registers.
std::string node_registration_key(const std::string& ezone);

class EtcdSession {
 public:
  // registration is the value written under node_registration_key(ezone).
  // store, logger and metrics must outlive the session.
  EtcdSession(meta::MetaStore& store, const NodeConfig& config, std::string registration,
              std::shared_ptr<spdlog::logger> logger, Metrics& metrics);
  ~EtcdSession();

  // Where fence_epoch comes from (the current route-table epoch in etcd).
  // Set before start(); without it fence_epoch stays 0.
  void set_fence_epoch_source(std::function<Result<int64_t>()> source);
  // The node's fault injection; set before start(). The session also ends
  // an isolation whose deadline has passed (and logs it). Without one it
  // is never isolated.
  void set_fault_state(std::shared_ptr<FaultState> fault);

  // Fails with conflict, naming the other process and the way out, when a
  // running process of this ezone holds the registration (see above);
  // writes nothing. Ok when etcd cannot be reached.
  Status check_alone();
  // Registers, and fails like check_alone() when a twin holds the
  // registration. Otherwise the session runs on its own thread from here,
  // registered or not yet.
  Status start();
  // Register over a live holder once (an operator's --takeover). Set
  // before start().
  void set_takeover(bool takeover) { takeover_ = takeover; }
  // Revokes the lease (bounded by the store's request timeout) and joins.
  void stop();
  EtcdState state() const;
  // state().fence_epoch without copying the rest (every local write asks).
  int64_t fence_epoch() const;
  // True while this ezone still holds its lease with a safety margin: the
  // lease was last renewed (or granted) by a request sent at T with TTL t,
  // so etcd cannot expire it before T + t; the node stops acting as its
  // holder at T + t - margin (a fifth of the TTL, 200..1000 ms). That is the
  // self-fencing of DESIGN.md invariant 8: writes stop before any other
  // ezone can take over. `why` receives the reason when false.
  bool lease_valid(std::string* why = nullptr) const;

 private:
  void run();
  void step();
  // Keeps the lease alive, or registers (a CAS on the key as read first).
  // A registration key that is gone or under another lease counts as a
  // lost lease. Gone: the node registers again, fenced until caught up.
  // Under another lease (a newer process of this ezone took it): the node
  // stays unregistered, so fenced, until that registration is gone.
  bool ensure_registered();
  // "" while the registration key is under lease_id (or etcd did not say);
  // otherwise what happened to it, with *taken set when another lease
  // holds it.
  std::string registration_lost(int64_t lease_id, bool* taken);
  // Whether the registration `value` under `holder` may be replaced now:
  // --takeover, this session's own, its process known dead, or its lease
  // gone. False while it lives
  // (state_.twin says who) or while its lease is still being watched.
  bool may_replace(const std::string& value, int64_t holder);
  // Records a live twin; returns false.
  bool note_twin(int64_t holder, const std::string& who);
  // check_alone()'s error once a twin is known; ok otherwise.
  Status twin_refusal() const;
  void refresh_fence_epoch();
  void set_reachable(bool reachable, const std::string& error);
  bool wait_ms(int64_t ms);  // false when stopping

  meta::MetaStore& store_;
  std::string ezone_;
  std::string key_;
  std::string registration_;
  TimeoutsConfig timeouts_;
  std::shared_ptr<spdlog::logger> logger_;
  Gauge& reachable_gauge_;
  Counter& errors_;
  int64_t last_keepalive_ms_ = 0;
  bool displaced_ = false;  // session thread: another process took the key over this one's lease
  bool takeover_ = false;   // register over a live holder, once
  std::string instance_;    // this session's ProcessIdentity instance, while it lives
  int64_t stale_logged_ = 0;  // the crashed predecessor's lease last logged (check_alone, then start)
  // A holder this machine cannot judge (session thread): its lease, the
  // remaining TTL seen last, and when the lease must be gone if nobody
  // renews it (0 until its first reading).
  struct HolderWatch {
    int64_t lease = 0;
    int64_t last_remaining_s = -1;
    int64_t expired_by_mono_ms = 0;
  } watch_;
  std::function<Result<int64_t>()> fence_epoch_source_;
  std::shared_ptr<FaultState> fault_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  EtcdState state_;
  std::thread thread_;
};

}  // namespace ezone
