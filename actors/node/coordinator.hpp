// Coordinator: runs the cluster's journaled workflows on this node
// (DESIGN.md, "coordinator"). It is a thread, not an actor: every step
// blocks on etcd and on other nodes' admin APIs, and none of it is on a
// request path.
//
//   scan (every idle_poll_ms, and at once when a registration or a journal
//   record changes, through etcd watches):  list running workflows in the journal;
//                               claim each unclaimed one under this node's
//                               lease (a dead runner's claim goes with its
//                               lease, so a survivor resumes its workflows);
//                               with auto_failover, submit a failover for
//                               every ezone that owns shards, was seen
//                               registered and no longer is
//   drive (every poll_ms):      step each claimed workflow until it waits;
//                               release it once finished
//
// Nothing runs while this node's own lease is not valid: a fenced node must
// not move shards either.
//
// Thread-safety: every public member may be called from any thread.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/metrics.hpp"
#include "core/shared_token.hpp"
#include "storage/coord/engine.hpp"
#include "storage/coord/http_probe.hpp"
#include "storage/meta/meta_store.hpp"

namespace spdlog {
class logger;
}

namespace ezone {

struct CoordinatorConfig {
  std::string ezone;
  bool auto_failover = false;
  coord::EngineOptions engine;
  int64_t poll_ms = 5;          // between steps of a waiting workflow
  int64_t idle_poll_ms = 250;   // between scans of the journal
  int64_t probe_timeout_ms = 1000;
  LiveToken admin_token;  // [admin] token: the sites' admin APIs ask for it (shared with NodeConfig's)
  net::TlsContextPtr admin_tls;  // [tls]'s client context: the sites' node.admin speak TLS; null: plain
};

class Coordinator {
 public:
  // lease_id: this node's current lease (0 = none); may_act: whether this
  // node may act now (its lease is valid). store, logger and metrics must
  // outlive the coordinator.
  Coordinator(meta::MetaStore& store, CoordinatorConfig config, std::function<int64_t()> lease_id,
              std::function<bool()> may_act, std::shared_ptr<spdlog::logger> logger, Metrics& metrics);
  ~Coordinator();

  void start();
  void stop();  // idempotent; joins the thread

  coord::WorkflowEngine& engine() { return engine_; }
  bool auto_failover() const { return config_.auto_failover; }
  // Wakes the thread to scan now (after a submit or a cancel).
  void kick();
  // What a workflow this node runs waits on ("" when unknown here).
  std::string waiting_on(const std::string& id) const;

 private:
  void run();
  bool scan();
  void drive(const std::string& id);
  void detect_failures(const std::set<ShardId>& moving);

  meta::MetaStore& store_;
  CoordinatorConfig config_;
  std::function<int64_t()> lease_id_;
  std::function<bool()> may_act_;
  std::shared_ptr<spdlog::logger> logger_;
  coord::WorkflowJournal journal_;
  coord::HttpSiteProbe probe_;
  coord::WorkflowEngine engine_;
  RouteStore routes_;
  Counter& finished_;
  Counter& errors_;
  Gauge& running_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool kicked_ = false;
  std::set<std::string> claimed_;
  std::map<std::string, std::string> waiting_;
  std::set<std::string> seen_live_;  // zones seen registered (coordinator thread only)
  // Watches on registrations and on the journal: a zone's lease going, or
  // a workflow submitted at another node, wakes the thread at once instead
  // of at its next idle poll.
  std::vector<std::unique_ptr<meta::Watch>> watches_;
  std::thread thread_;
};

}  // namespace ezone
