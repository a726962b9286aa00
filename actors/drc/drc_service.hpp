// DrcService: this node's half of replication (DESIGN.md, "drc").
//
//   server   answers peers' pulls from this site's outbox. A pull that finds
//            nothing new is held up to wait_ms and answered as soon as a
//            commit adds entries (long polling), so replication lag is a
//            network round trip plus an apply, not a polling interval.
//   pullers  one per peer: pull a bounded batch after the durable cursor,
//            decode it, apply it through the DAL (cursor in the same
//            transaction), with a few batches in a pipeline. Pulling is the
//            back-pressure: a slow site asks for less, and no site ever
//            pushes.
//
// Isolation (config.fault, a drill): while the node is isolated the server
// answers every pull with an error naming it, and the pullers send none;
// both resume after the heal, the pullers from their durable cursors.
//
// Both are detached CAF actors (each has its own thread), because applying
// and reading SQLite block. The header is CAF-free.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/fault_state.hpp"
#include "core/metrics.hpp"
#include "storage/dal/dal.hpp"

namespace caf {
class actor;
class actor_system;
}  // namespace caf

namespace spdlog {
class logger;
}

namespace ezone {

struct DrcTuning {
  uint32_t batch_rows_max = 2000;
  uint32_t batch_bytes_max = 4u << 20;
  int64_t pull_wait_ms = 500;
  int64_t pull_timeout_ms = 3000;
  int64_t retry_ms = 100;
  // Batches a puller has received and not yet applied (decoding, queued or
  // applying): the depth of its pipeline, and with batch_bytes_max the bound
  // on what it holds.
  uint32_t pipeline_batches_max = 3;
};

// What `ezctl drc` and /admin/v1/drc show per peer.
struct DrcPeerStatus {
  std::string origin;
  bool connected = false;       // the last pull was answered
  uint64_t cursor = 0;          // last seq applied here (the watermark)
  uint64_t head = 0;            // the origin's newest seq, as of the last answer
  uint64_t lag_rows = 0;        // head - cursor
  int64_t lag_ms = 0;           // age of the oldest change not applied yet; 0 when caught up
  HlcTime watermark_hlc = 0;    // HLC of the last applied entry
  int64_t last_apply_wall_ms = 0;
  uint64_t batches = 0, entries = 0, rows = 0, conflicts = 0, parked = 0;
  std::string last_error;       // empty when the last pull and apply succeeded
  // The origin's outbox is not the one the cursor counts in (a replaced or
  // restored database; storage/dal/timeline_check.hpp): replication from it
  // is halted until it is re-seeded. Cleared by the next batch applied.
  bool refused = false;
};

struct DrcServiceConfig {
  std::string ezone;
  std::vector<std::string> peers;  // ezones to pull from
  DrcTuning tuning;
  dal::Dal* dal = nullptr;         // must outlive the service
  Metrics* metrics = nullptr;      // must outlive the service
  std::shared_ptr<spdlog::logger> logger;
  std::shared_ptr<const FaultState> fault;  // optional: null never isolates
};

class DrcService {
 public:
  // Spawns the server and the pullers in `system` and registers the server
  // with the local cluster actor, which delegates peers' pulls to it.
  static std::unique_ptr<DrcService> start(caf::actor_system& system, const caf::actor& cluster,
                                           DrcServiceConfig config);
  ~DrcService();
  // Stops every actor of the service. Call before the actor system goes.
  void stop();
  std::vector<DrcPeerStatus> status() const;

 private:
  struct Impl;
  explicit DrcService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ezone
