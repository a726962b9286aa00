#include "actors/node/coordinator.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "core/clock.hpp"

namespace ezone {

using coord::JournaledWorkflow;
using coord::Outcome;

namespace {
// Steps per drive: a workflow that keeps progressing (commit, then journal)
// needs a handful; the bound keeps one workflow from starving the others.
constexpr int kStepsPerDriveMax = 16;
// Distinct automatic failovers tried for one ezone at one epoch (each
// cancelled one, e.g. because the ezone came back, takes a number).
constexpr int kAutoFailoverAttemptsMax = 64;
}  // namespace

Coordinator::Coordinator(meta::MetaStore& store, CoordinatorConfig config, std::function<int64_t()> lease_id,
                         std::function<bool()> may_act, std::shared_ptr<spdlog::logger> logger, Metrics& metrics)
    : store_(store),
      config_(std::move(config)),
      lease_id_(std::move(lease_id)),
      may_act_(std::move(may_act)),
      logger_(std::move(logger)),
      journal_(store),
      probe_(journal_, config_.probe_timeout_ms, config_.admin_token, config_.admin_tls),
      engine_(store, probe_, SystemClock::instance(), config_.engine),
      routes_(store),
      finished_(metrics.counter("ezone_workflows_finished_total", "Workflows this node ran to an end")),
      errors_(metrics.counter("ezone_coordinator_errors_total", "Failed steps of the coordinator (etcd, nodes)")),
      running_(metrics.gauge("ezone_workflows_running", "Workflows this node runs now")) {}

Coordinator::~Coordinator() { stop(); }

void Coordinator::start() {
  for (const char* prefix : {coord::kNodeKeyPrefix, coord::kWorkflowKeyPrefix}) {
    const bool journal = prefix == coord::kWorkflowKeyPrefix;
    meta::WatchCallbacks callbacks;
    callbacks.on_events = [this, journal](const std::vector<meta::WatchEvent>& events) {
      // Every registration change matters; of the journal only new records
      // (each step's own update would otherwise wake a scan every time).
      bool created = std::any_of(events.begin(), events.end(), [](const meta::WatchEvent& e) {
        return e.type == meta::WatchEvent::Type::put && e.kv.version == 1;
      });
      if (!journal || created) kick();
    };
    callbacks.on_status = [this](const Status& s) {
      if (s) kick();  // back after an outage: look again
    };
    // Without the watch the idle poll still finds everything, later.
    auto watch = store_.watch(prefix, /*prefix=*/true, 0, std::move(callbacks));
    if (watch) watches_.push_back(std::move(*watch));
    else logger_->warn("event=coordinator_watch_failed ezone={} prefix={} error=\"{}\"", config_.ezone, prefix,
                       watch.status().to_string());
  }
  thread_ = std::thread([this] { run(); });
}

void Coordinator::stop() {
  watches_.clear();  // waits until no callback runs, so none kicks a stopped coordinator
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Coordinator::kick() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    kicked_ = true;
  }
  wake_.notify_all();
}

std::string Coordinator::waiting_on(const std::string& id) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = waiting_.find(id);
  return it == waiting_.end() ? "" : it->second;
}

void Coordinator::run() {
  int64_t last_scan_ms = 0;
  for (;;) {
    std::set<std::string> claimed;
    bool scan_now = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (stopping_) return;
      scan_now = kicked_ || SystemClock::instance().now_ms() - last_scan_ms >= config_.idle_poll_ms;
      kicked_ = false;
      claimed = claimed_;
    }
    if (scan_now) {
      last_scan_ms = SystemClock::instance().now_ms();
      scan();
      std::lock_guard<std::mutex> lock(mutex_);
      claimed = claimed_;
    }
    for (const std::string& id : claimed) drive(id);
    std::unique_lock<std::mutex> lock(mutex_);
    int64_t wait_ms = claimed_.empty() ? config_.idle_poll_ms : config_.poll_ms;
    wake_.wait_for(lock, std::chrono::milliseconds(wait_ms), [this] { return stopping_ || kicked_; });
  }
}

bool Coordinator::scan() {
  if (!may_act_()) return false;
  auto all = journal_.list();
  if (!all) {
    errors_.inc();
    logger_->warn("event=coordinator_scan_failed ezone={} error=\"{}\"", config_.ezone, all.status().to_string());
    return false;
  }
  const int64_t lease = lease_id_();
  std::set<ShardId> moving;
  for (const JournaledWorkflow& j : *all) {
    if (j.workflow.outcome == Outcome::running) moving.insert(j.workflow.shards.begin(), j.workflow.shards.end());
  }
  for (const JournaledWorkflow& j : *all) {
    if (j.workflow.outcome != Outcome::running || lease == 0) continue;
    // Claimed again at every scan, also the ones this node drives: if its
    // lease lapsed meanwhile, its claim went with it and another node may
    // have taken the workflow over; then this one stops driving it.
    auto claimed = journal_.claim(j.workflow.id, config_.ezone, lease);
    if (!claimed) continue;  // etcd trouble: keep things as they are
    std::lock_guard<std::mutex> lock(mutex_);
    if (!*claimed) {
      if (claimed_.erase(j.workflow.id))
        logger_->warn("event=workflow_lost ezone={} id={} (another node runs it now)", config_.ezone, j.workflow.id);
      continue;
    }
    if (claimed_.insert(j.workflow.id).second)
      logger_->info("event=workflow_claimed ezone={} id={} kind={} step={}", config_.ezone, j.workflow.id,
                    coord::workflow_kind_name(j.workflow.kind), coord::step_name(j.workflow.step));
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.set(static_cast<int64_t>(claimed_.size()));
  }
  if (config_.auto_failover) detect_failures(moving);
  return true;
}

void Coordinator::drive(const std::string& id) {
  if (!may_act_()) return;  // fenced: keep the claim, act again once the lease is back
  for (int i = 0; i < kStepsPerDriveMax; ++i) {
    auto r = engine_.step(id);
    if (!r) {
      if (r.status().code() != Errc::conflict) {
        errors_.inc();
        logger_->warn("event=workflow_step_failed ezone={} id={} error=\"{}\"", config_.ezone, id,
                      r.status().to_string());
      }
      return;
    }
    const coord::Workflow& w = r->state.workflow;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      waiting_[id] = r->waiting_on;
    }
    if (r->progressed && !w.events.empty())
      logger_->info("event=workflow_step ezone={} id={} step={} note=\"{}\"", config_.ezone, id,
                    coord::step_name(w.step), w.events.back().note);
    if (w.outcome != Outcome::running) {
      finished_.inc();
      logger_->info("event=workflow_finished ezone={} id={} outcome={} window_ms={} detail=\"{}\"", config_.ezone,
                    id, coord::outcome_name(w.outcome), w.window_ms(), w.detail);
      journal_.release(id, config_.ezone);
      std::lock_guard<std::mutex> lock(mutex_);
      claimed_.erase(id);
      waiting_.erase(id);
      running_.set(static_cast<int64_t>(claimed_.size()));
      return;
    }
    if (!r->progressed) return;
  }
}

void Coordinator::detect_failures(const std::set<ShardId>& moving) {
  auto table = routes_.load();
  auto nodes = journal_.live_nodes();
  if (!table || !nodes) return;
  std::set<std::string> live;
  for (const coord::LiveNode& n : *nodes) live.insert(n.ezone);
  seen_live_.insert(live.begin(), live.end());
  for (const auto& [zone, site] : table->sites()) {
    // Only a zone this node saw live and now misses lost its lease. One
    // that was never seen may simply not have started yet: failing it over
    // would take the shards of a healthy zone at every cold start. (An
    // operator fails over a zone that never came up with ezctl failover.)
    if (live.count(zone) || !seen_live_.count(zone)) continue;
    std::vector<ShardId> owned = table->shards_owned_by(zone);
    bool busy = std::any_of(owned.begin(), owned.end(), [&](ShardId s) { return moving.count(s) > 0; });
    if (owned.empty() || busy) continue;  // a running workflow already moves its shards
    // One id per (ezone, epoch, attempt): every survivor submits the same
    // ids, and the journal's create-if-absent keeps exactly one of each.
    for (int attempt = 0; attempt < kAutoFailoverAttemptsMax; ++attempt) {
      std::string id = "auto-failover-" + zone + "-e" + std::to_string(table->epoch()) + "-" + std::to_string(attempt);
      auto existing = journal_.load(id);
      if (existing && existing->workflow.outcome == Outcome::cancelled) continue;
      if (existing) break;
      auto submitted = engine_.submit_failover(zone, /*force=*/false, id, /*dry_run=*/false);
      if (submitted) {
        logger_->warn("event=auto_failover_submitted ezone={} dead={} id={} shards={}", config_.ezone, zone, id,
                      submitted->workflow.shards.size());
        kick();
      }
      break;
    }
  }
}

}  // namespace ezone
