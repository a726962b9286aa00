#include "actors/node/etcd_session.hpp"

#include <spdlog/spdlog.h>

#include "core/clock.hpp"

namespace ezone {
namespace {
int64_t mono_ms() { return SystemClock::instance().now_ms(); }
int64_t wall_ms() { return SystemClock::instance().wall_ms(); }
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
                              "Failed etcd calls of the node's session")) {}

EtcdSession::~EtcdSession() { stop(); }

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

void EtcdSession::start() {
  // The first registration happens before start() returns, so a node that
  // reports itself started is visible in etcd when etcd is up.
  step();
  thread_ = std::thread([this] { run(); });
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
  logger_->info("event=etcd_registered ezone={} key={} lease={} ttl_s={}", ezone_, key_, lease->id,
                lease->ttl_s);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    state_.lease_id = lease->id;
    state_.registered = true;
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
