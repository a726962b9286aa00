#include "tests/sim/sim_site.hpp"

#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <cstdlib>

namespace ezone::sim {

SimSite::SimSite(int index, std::string ezone, std::string db_path, const Clock& clock, int64_t skew_ms,
                 int64_t lease_ttl_s, data::Schema schema, SiteBreaks breaks)
    : index_(index),
      ezone_(std::move(ezone)),
      db_path_(std::move(db_path)),
      clock_(clock),
      wall_(clock, skew_ms),
      lease_ttl_s_(lease_ttl_s),
      schema_(std::move(schema)),
      breaks_(breaks),
      logger_(std::make_shared<spdlog::logger>("sim-" + ezone_, std::make_shared<spdlog::sinks::null_sink_mt>())) {}

SimSite::~SimSite() { kill(); }

void SimSite::start() {
  if (dal_) return;
  ++incarnation_;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    view_ = durable_view_;
    lease_id_ = 0;
    lease_valid_until_ms_ = 0;
    last_gate_ = {};
  }
  grant_pending = false;
  keepalive_sent_ms = poll_sent_ms = -1'000'000;
  pull_sent_ms.clear();
  pull_next_ms.clear();
  pull_cursor.clear();
  pull_generation.clear();
  // A new process: its HLC starts from its wall clock again (Dal::open
  // then lifts it above every timestamp its database holds).
  hlc_ = std::make_unique<HybridClock>(wall_);
  dal::DalConfig config;
  config.ezone = ezone_;
  config.logger = logger_;
  config.path = db_path_;
  config.synchronous_full = false;
  config.readers = 1;
  config.group_tx_max = 1;
  auto opened = dal::Dal::open(config, schema_, [this] { return gate(); }, *hlc_, nullptr);
  if (!opened) {
    std::fprintf(stderr, "sim: cannot open the Dal of %s at %s: %s\n", ezone_.c_str(), db_path_.c_str(),
                 opened.status().to_string().c_str());
    std::abort();
  }
  dal_ = std::move(*opened);
}

void SimSite::lose_disk() {
  if (dal_) std::abort();
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((db_path_ + suffix).c_str());
  std::lock_guard<std::mutex> lock(mutex_);
  durable_view_.reset();
}

void SimSite::kill() {
  dal_.reset();
  hlc_.reset();
  std::lock_guard<std::mutex> lock(mutex_);
  view_.reset();
  lease_id_ = 0;
  lease_valid_until_ms_ = 0;
}

std::shared_ptr<const RouteTable> SimSite::view() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return view_;
}

Epoch SimSite::epoch() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return view_ ? view_->epoch() : 0;
}

bool SimSite::install(std::shared_ptr<const RouteTable> table) {
  if (!dal_ || !table) return false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (view_ && view_->epoch() >= table->epoch()) return false;
    view_ = table;
    durable_view_ = table;
  }
  // As the node's GZS does (on_epoch -> gate_changed): an idle writer takes
  // the new gate and acknowledges its epoch. The simulation then waits for
  // that by passing an empty transaction (no shard) through the writer,
  // whose group takes the gate too: when it returns, the epoch is
  // acknowledged, at this simulated instant, without spinning.
  dal_->gate_changed();
  dal::TxOutcome out = dal_->run({}, [](dal::Tx&) { return Status::ok(); });
  if (!out.ok() || dal_->acknowledged_epoch() < table->epoch()) {
    std::fprintf(stderr, "sim: the Dal of %s did not acknowledge epoch %llu: %s\n", ezone_.c_str(),
                 static_cast<unsigned long long>(table->epoch()), out.status.to_string().c_str());
    std::abort();
  }
  return true;
}

int64_t SimSite::lease_id() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return lease_id_;
}

void SimSite::set_lease(int64_t id, int64_t valid_until_ms, Epoch fence_epoch) {
  std::lock_guard<std::mutex> lock(mutex_);
  lease_id_ = id;
  lease_valid_until_ms_ = valid_until_ms;
  fence_epoch_ = breaks_.no_catchup_fence ? 0 : fence_epoch;
}

void SimSite::renew_lease(int64_t id, int64_t valid_until_ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Replies can arrive out of order: the latest request sent wins.
  if (id == lease_id_ && id != 0) lease_valid_until_ms_ = std::max(lease_valid_until_ms_, valid_until_ms);
}

void SimSite::lose_lease() {
  std::lock_guard<std::mutex> lock(mutex_);
  lease_id_ = 0;
  lease_valid_until_ms_ = 0;
}

bool SimSite::lease_valid(std::string* why) const {
  std::lock_guard<std::mutex> lock(mutex_);
  if (lease_id_ == 0) {
    if (why) *why = "no lease is held";
    return false;
  }
  const Epoch installed = view_ ? view_->epoch() : 0;
  if (installed < fence_epoch_) {
    if (why) *why = "caught up to epoch " + std::to_string(installed) + " of " + std::to_string(fence_epoch_) + " only";
    return false;
  }
  if (breaks_.no_fence_margin) return true;
  const int64_t left_ms = lease_valid_until_ms_ - fence_margin_ms(lease_ttl_s_ * 1000) - clock_.now_ms();
  if (left_ms > 0) return true;
  if (why) *why = "the lease was not renewed in time (" + std::to_string(-left_ms) + " ms past the fencing point)";
  return false;
}

dal::WriteGate SimSite::gate() {
  dal::WriteGate g;
  g.lease_valid = lease_valid(&g.lease_detail);
  std::lock_guard<std::mutex> lock(mutex_);
  g.routes = view_;
  last_gate_ = GateSeen{view_ ? view_->epoch() : 0, g.lease_valid, lease_id_};
  return g;
}

GateSeen SimSite::last_gate() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_gate_;
}

}  // namespace ezone::sim
