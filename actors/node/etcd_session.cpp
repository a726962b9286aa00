#include "actors/node/etcd_session.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/process_identity.hpp"

namespace ezone {
namespace {
int64_t mono_ms() { return SystemClock::instance().now_ms(); }
int64_t wall_ms() { return SystemClock::instance().wall_ms(); }

// The instances of the sessions that live in this process: a registration
// written by this process is its twin's only while its session lives (test
// rigs run several nodes in one process).
std::mutex g_live_mutex;
std::multiset<std::string> g_live_instances;

bool instance_live(const std::string& instance) {
  std::lock_guard<std::mutex> lock(g_live_mutex);
  return !instance.empty() && g_live_instances.count(instance) > 0;
}

// The identity a registration records under "process"; nullopt for one
// without it (an older ezoned's, or not JSON).
std::optional<ProcessIdentity> identity_of(const std::string& registration) {
  auto doc = parse_json_or_discarded(registration);  // depth-bounded, as every outside JSON
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  auto it = doc.find("process");
  if (it == doc.end()) return std::nullopt;
  return ProcessIdentity::from_json(*it);
}
}  // namespace

std::string node_registration_key(const std::string& ezone) { return "/ezone/v1/nodes/" + ezone; }

EtcdSession::EtcdSession(meta::MetaStore& store, const NodeConfig& config, std::string registration,
                         std::shared_ptr<spdlog::logger> logger, Metrics& metrics)
    : store_(store),
      ezone_(config.ezone),
      key_(node_registration_key(config.ezone)),
      registration_(std::move(registration)),
      timeouts_(config.timeouts),
      logger_(std::move(logger)),
      reachable_gauge_(metrics.gauge("ezone_etcd_reachable", "1 if etcd answered the last probe")),
      errors_(metrics.counter("ezone_etcd_session_errors_total",
                              "Failed etcd calls of the node's session")) {
  if (auto me = identity_of(registration_); me && !me->instance.empty()) {
    instance_ = me->instance;
    std::lock_guard<std::mutex> lock(g_live_mutex);
    g_live_instances.insert(instance_);
  }
}

EtcdSession::~EtcdSession() {
  stop();
  if (instance_.empty()) return;
  std::lock_guard<std::mutex> lock(g_live_mutex);
  auto it = g_live_instances.find(instance_);
  if (it != g_live_instances.end()) g_live_instances.erase(it);
}

void EtcdSession::set_fence_epoch_source(std::function<Result<int64_t>()> source) {
  fence_epoch_source_ = std::move(source);
}

void EtcdSession::set_fault_state(std::shared_ptr<FaultState> fault) { fault_ = std::move(fault); }

void EtcdSession::refresh_fence_epoch() {
  if (!fence_epoch_source_) return;
  auto epoch = fence_epoch_source_();
  if (!epoch) {
    errors_.inc();
    logger_->warn("event=fence_epoch_unknown ezone={} error=\"{}\" (fenced until the route table is read)", ezone_,
                  epoch.status().to_string());
    return;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  state_.fence_epoch = *epoch;
}

Status EtcdSession::twin_refusal() const {
  const std::string twin = state().twin;
  if (twin.empty()) return Status::ok();
  return Status(Errc::conflict, "ezone " + ezone_ + " is already run by " + twin + ": it holds " + key_ +
                                    " in etcd. Fix: stop that process first; or, if it must give way, start this one "
                                    "with --takeover (that one is then fenced: it stops accepting writes)");
}

Status EtcdSession::check_alone() {
  // Past a holder's expiry margin (may_replace) when its TTL is this one's.
  const int64_t give_up_ms = mono_ms() + timeouts_.lease_ttl_s * 1000 + 4000;
  for (;;) {
    auto read = store_.range(key_);
    // Unreachable: nothing to tell now; the session judges the holder
    // again before it registers.
    if (!read || read->kvs.empty() || read->kvs[0].lease == 0 || may_replace(read->kvs[0].value, read->kvs[0].lease))
      return Status::ok();
    if (Status refused = twin_refusal(); !refused) return refused;
    // Undecided past the bound: the node starts unregistered (so fenced)
    // and the session goes on watching.
    if (mono_ms() >= give_up_ms || !wait_ms(timeouts_.etcd_check_interval_ms)) return Status::ok();
  }
}

Status EtcdSession::start() {
  // The first registration happens before start() returns, so a node that
  // reports itself started is visible in etcd when etcd is up.
  step();
  // A twin that registered after check_alone() (both started at once).
  if (Status refused = twin_refusal(); !refused) return refused;
  thread_ = std::thread([this] { run(); });
  return Status::ok();
}

void EtcdSession::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  int64_t lease = state().lease_id;
  if (lease != 0 && store_.lease_revoke(lease)) {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.lease_id = 0;
    state_.registered = false;
    state_.lease_valid_until_mono_ms = 0;
  }
}

EtcdState EtcdSession::state() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_;
}

int64_t EtcdSession::fence_epoch() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return state_.fence_epoch;
}

bool EtcdSession::wait_ms(int64_t ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !wake_.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping_; });
}

void EtcdSession::run() {
  while (wait_ms(timeouts_.etcd_check_interval_ms)) step();
}

void EtcdSession::step() {
  if (fault_) {
    if (fault_->heal_if_due())
      logger_->warn("event=fault_healed ezone={} reason=\"the isolation's duration_ms ran out\"", ezone_);
    // A dark IDC reaches no etcd member: no call, not even a revoke.
    if (fault_->isolated()) return set_reachable(false, "isolated by fault injection (a drill): etcd is not called");
  }
  Status health = store_.health();
  if (!health) {
    errors_.inc();
    return set_reachable(false, health.message());
  }
  set_reachable(true, "");
  if (ensure_registered() && state().fence_epoch == INT64_MAX) refresh_fence_epoch();
}

bool EtcdSession::ensure_registered() {
  EtcdState now = state();
  if (now.registered && mono_ms() - last_keepalive_ms_ < timeouts_.lease_ttl_s * 1000 / 3)
    return true;
  if (now.registered) {
    const int64_t sent_ms = mono_ms();
    auto ttl = store_.lease_keepalive(now.lease_id);
    bool taken = false;
    std::string lost = ttl ? registration_lost(now.lease_id, &taken) : ttl.status().to_string();
    if (lost.empty()) {
      last_keepalive_ms_ = mono_ms();
      std::lock_guard<std::mutex> lock(mutex_);
      state_.lease_valid_until_mono_ms = sent_ms + *ttl * 1000;
      return true;
    }
    errors_.inc();
    logger_->warn("event=etcd_lease_lost ezone={} lease={} reason=\"{}\"", ezone_, now.lease_id, lost);
    displaced_ = taken;
    std::lock_guard<std::mutex> lock(mutex_);
    state_.registered = false;
    state_.lease_id = 0;
    state_.lease_valid_until_mono_ms = 0;
  }
  // Register with a compare-and-swap on the key as read before the grant:
  // a registration made meanwhile (a late request of this ezone's previous
  // process, or another process of the same ezone) is never overwritten
  // by this one, and a late request of this process cannot overwrite a
  // later registration either.
  auto read = store_.range(key_);
  if (!read) return errors_.inc(), set_reachable(false, read.status().message()), false;
  const int64_t revision = read->kvs.empty() ? 0 : read->kvs[0].mod_revision;
  // Displaced by a newer process of this ezone (it registered over this
  // one's live lease): the newest process acts, this one stays fenced for
  // as long as the other's registration lives, instead of taking the key
  // back and forth with it.
  const int64_t holder = read->kvs.empty() ? 0 : read->kvs[0].lease;
  if (displaced_ && holder != 0) {
    const std::string why = "another process of ezone " + ezone_ + " registered " + key_ + " (lease " +
                            std::to_string(holder) + ") over this one's; this one stays fenced while it lives";
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_.last_error != why)
      logger_->error("event=etcd_registration_displaced ezone={} key={} holder_lease={} detail=\"{}\"", ezone_, key_,
                     holder, why);
    state_.last_error = why;
    return false;
  }
  displaced_ = false;
  // Held by another lease: not replaced while its process may be running
  // (a twin).
  if (holder != 0 && !may_replace(read->kvs[0].value, holder)) return false;
  const int64_t sent_ms = mono_ms();
  auto lease = store_.lease_grant(timeouts_.lease_ttl_s);
  if (!lease) return errors_.inc(), set_reachable(false, lease.status().message()), false;
  meta::TxnRequest cas;
  cas.compares.push_back({key_, meta::Compare::Target::mod_revision, revision, ""});
  cas.success.push_back({meta::Op::Kind::put, key_, registration_, lease->id});
  auto put = store_.txn(cas);
  if (!put) return errors_.inc(), set_reachable(false, put.status().message()), false;
  if (!put->succeeded) {
    errors_.inc();
    store_.lease_revoke(lease->id);  // best effort: unrevoked, it expires unused
    logger_->warn("event=etcd_registration_raced ezone={} key={} detail=\"the key changed between the read and the "
                  "write (another process of this ezone, or a late request of a previous one); registering again\"",
                  ezone_, key_);
    return false;
  }
  last_keepalive_ms_ = mono_ms();
  takeover_ = false;
  watch_ = HolderWatch{};
  logger_->info("event=etcd_registered ezone={} key={} lease={} ttl_s={}", ezone_, key_, lease->id,
                lease->ttl_s);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.lease_id = lease->id;
    state_.registered = true;
    state_.twin.clear();
    state_.lease_valid_until_mono_ms = sent_ms + lease->ttl_s * 1000;
    // A new lease: whatever the node missed while it had none, it must
    // catch up with before acting (see EtcdState::fence_epoch).
    if (fence_epoch_source_) state_.fence_epoch = INT64_MAX;
  }
  refresh_fence_epoch();
  return true;
}

std::string EtcdSession::registration_lost(int64_t lease_id, bool* taken) {
  auto reg = store_.range(key_);
  if (!reg) return "";  // unknown: the keepalive answered, so the lease stands
  if (reg->kvs.empty()) return "the registration key " + key_ + " is gone";
  if (reg->kvs[0].lease == lease_id) return "";
  *taken = reg->kvs[0].lease != 0;
  return "the registration key " + key_ + " is under lease " + std::to_string(reg->kvs[0].lease) +
         ", not this node's: another process of ezone " + ezone_ + " registered it";
}

bool EtcdSession::may_replace(const std::string& value, int64_t holder) {
  // The operator said --takeover; or it is this session's own earlier
  // lease (its renewal failed while etcd kept it), which is no twin.
  if (takeover_ || value == registration_) return true;
  const std::optional<ProcessIdentity> who = identity_of(value);
  const Liveness local = who ? local_liveness(*who, instance_live) : Liveness::unknown;
  const std::string whom = who ? who->describe() : "a process that did not record its identity";
  if (local == Liveness::alive) return note_twin(holder, whom + ", which is running on this machine");
  if (local == Liveness::dead) {
    if (std::exchange(stale_logged_, holder) != holder)
      logger_->info("event=etcd_registration_stale ezone={} key={} holder_lease={} holder=\"{}\" detail=\"that "
                    "process is gone (a crashed predecessor): registering over its lease\"",
                    ezone_, key_, holder, whom);
    return true;
  }
  // Another machine (or an identity this one cannot check): the lease
  // tells. Unrenewed, it expires within the remaining TTL it shows now
  // plus a second of etcd's rounding, and etcd's leader revokes it within
  // 2 s more (its lessor checks every 500 ms, and revokes through raft); a
  // TTL that grows, or a lease that outlives all that, was renewed.
  if (watch_.lease != holder) watch_ = HolderWatch{holder, -1, 0};
  auto ttl = store_.lease_time_to_live(holder);
  if (!ttl && ttl.status().code() == Errc::not_found) return true;  // gone since the read; the CAS decides
  if (!ttl) return errors_.inc(), set_reachable(false, ttl.status().message()), false;
  const int64_t now = mono_ms();
  if (watch_.expired_by_mono_ms == 0) {
    watch_.expired_by_mono_ms = now + (*ttl + 1) * 1000 + 2000 + timeouts_.etcd_check_interval_ms;
    logger_->warn("event=etcd_registration_held ezone={} key={} holder_lease={} holder=\"{}\" ttl_left_s={} "
                  "detail=\"another process holds this ezone's registration; registering once its lease is seen to "
                  "run out, refusing if it is renewed\"",
                  ezone_, key_, holder, whom, *ttl);
  }
  const bool renewed = (watch_.last_remaining_s >= 0 && *ttl > watch_.last_remaining_s) || now > watch_.expired_by_mono_ms;
  watch_.last_remaining_s = *ttl;
  if (renewed) return note_twin(holder, whom + ", whose lease is being renewed");
  std::lock_guard<std::mutex> lock(mutex_);
  state_.last_error = "waiting to see whether " + whom + " still holds " + key_ + " (lease " + std::to_string(holder) +
                      ", " + std::to_string(*ttl) + " s left)";
  return false;
}

bool EtcdSession::note_twin(int64_t holder, const std::string& who) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (state_.twin != who)
    logger_->error("event=etcd_twin ezone={} key={} holder_lease={} holder=\"{}\" detail=\"another process runs this "
                   "ezone; this one stays unregistered, so fenced, while it does\"",
                   ezone_, key_, holder, who);
  state_.twin = who;
  state_.last_error = "ezone " + ezone_ + " is already run by " + who + " (lease " + std::to_string(holder) +
                      "); this process stays fenced while it does";
  return false;
}

bool EtcdSession::lease_valid(std::string* why) const {
  const EtcdState s = state();
  const int64_t ttl_ms = timeouts_.lease_ttl_s * 1000;
  const int64_t margin_ms = std::min<int64_t>(1000, std::max<int64_t>(200, ttl_ms / 5));
  const int64_t left_ms = s.lease_valid_until_mono_ms - margin_ms - mono_ms();
  if (s.registered && left_ms > 0) return true;
  if (why) {
    *why = !s.registered ? "no lease is held (etcd: " + (s.last_error.empty() ? std::string("not registered yet") : s.last_error) + ")"
                         : "the lease was not renewed in time (" + std::to_string(-left_ms) + " ms past the fencing point)";
  }
  return false;
}

void EtcdSession::set_reachable(bool reachable, const std::string& error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (reachable) state_.last_ok_wall_ms = wall_ms();
  state_.last_error = error;
  reachable_gauge_.set(reachable ? 1 : 0);
  if (state_.reachable == reachable && state_.since_wall_ms != 0) return;
  state_.reachable = reachable;
  state_.since_wall_ms = wall_ms();
  if (reachable)
    logger_->info("event=etcd_state ezone={} reachable=true", ezone_);
  else
    logger_->warn("event=etcd_state ezone={} reachable=false error=\"{}\"", ezone_, error);
}

}  // namespace ezone
