// The cluster actor: keeps this node connected to its configured peers over
// the CAF middleman and maintains the membership view.
//
// Per peer:
//
//   connecting --connect + hello ok--> up
//       |                               |  down_msg (connection lost: kill -9)
//       | connect/hello failed          |  no pong for peer_down_after_ms (SIGSTOP)
//       v                               v
//      down <---------------------------+
//       |  every reconnect_interval_ms: connect again; CAF may hand back the
//       |  stale proxy of a process that died, so a handle counts only once
//       +--> up when the peer answers a hello on it
//
// Failure detection has two layers: the middleman's heartbeats (configured on
// the actor system by the Node) close silent connections, and the actor's own
// ping/pong marks a peer down after peer_down_after_ms of silence.
// Every change is logged as one structured line and counted.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "config/node_config.hpp"

namespace caf {
class actor;
class actor_system;
}  // namespace caf

namespace spdlog {
class logger;
}

namespace ezone {

class Metrics;
class MembershipSlot;

struct ClusterActorConfig {
  std::string ezone;
  uint64_t incarnation = 0;
  std::vector<PeerConfig> peers;
  TimeoutsConfig timeouts;
  std::shared_ptr<MembershipSlot> slot;    // where snapshots are published
  std::shared_ptr<spdlog::logger> logger;  // structured membership lines
  Metrics* metrics = nullptr;              // must outlive the actor system
};

// Spawns the cluster actor in system. It answers peers at once but connects
// to none until start_cluster_actor(): a node that fails to publish must not
// have connects in flight while its actor system shuts down. The slot holds
// a view (every peer connecting) when it returns.
caf::actor spawn_cluster_actor(caf::actor_system& system, ClusterActorConfig config);
void start_cluster_actor(const caf::actor& cluster);

// Tells the cluster actor the route-table epoch this node has applied, which
// it reports to peers in hello and pong messages.
void send_epoch(const caf::actor& cluster, int64_t epoch);

}  // namespace ezone
