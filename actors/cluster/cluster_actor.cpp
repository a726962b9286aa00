#include "actors/cluster/cluster_actor.hpp"

#include <map>
#include <utility>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/cluster/membership_slot.hpp"
#include "actors/drc/drc_protocol.hpp"
#include "core/clock.hpp"
#include "core/metrics.hpp"

namespace ezone {
namespace {

// Cluster protocol. Only atoms and built-in types cross the wire, so every
// node agrees on the encoding without type registration.
//   (ez_hello, ezone, node_id, incarnation, epoch) -> same tuple from the peer
//   (ez_ping, ezone, epoch)                        -> (ez_ping, ezone, epoch)
using ez_hello_atom = caf::atom_constant<caf::atom("ez_hello")>;
using ez_ping_atom = caf::atom_constant<caf::atom("ez_ping")>;
using ez_tick_atom = caf::atom_constant<caf::atom("ez_tick")>;
using ez_epoch_atom = caf::atom_constant<caf::atom("ez_epoch")>;
using ez_start_atom = caf::atom_constant<caf::atom("ez_start")>;

using std::chrono::milliseconds;

struct PeerSlot {
  PeerConfig config;
  caf::actor handle;       // set while connected and greeted
  caf::node_id node;       // node of handle
  caf::node_id dead_node;  // the node that last went down (to count stale handles)
  bool connecting = false;
  int64_t last_attempt_ms = -1'000'000'000;
  int64_t last_heard_ms = 0;  // monotonic
};

struct ClusterState {
  ClusterActorConfig config;
  MembershipView view;
  std::map<std::string, PeerSlot> peers;
  Counter* rejected_unknown = nullptr;
  Counter* stale_handles = nullptr;
  Counter* connect_failures = nullptr;
  bool started = false;
  caf::actor drc_server;  // where peers' outbox pulls go (actors/drc)
  static inline const char* name = "ezone.cluster";
};

using Self = caf::stateful_actor<ClusterState>*;

int64_t mono_ms() { return SystemClock::instance().now_ms(); }
int64_t wall_ms() { return SystemClock::instance().wall_ms(); }

void log_change(Self self, const MembershipChange& c) {
  auto& st = self->state;
  st.config.logger->info(
      "event=membership_change ezone={} peer={} from={} to={} peer_node_id={} "
      "peer_incarnation={} reason=\"{}\" at_ms={} up_peers={}",
      st.config.ezone, c.ezone, peer_state_name(c.from), peer_state_name(c.to), c.node_id,
      c.incarnation, c.reason, c.at_wall_ms, st.view.up_count());
  MetricLabels labels{{"peer", c.ezone}};
  st.config.metrics->gauge("ezone_peer_up", "1 if the peer is up", labels)
      .set(c.to == PeerState::up ? 1 : 0);
  labels.emplace_back("to", peer_state_name(c.to));
  st.config.metrics->counter("ezone_membership_changes_total", "Membership changes", labels).inc();
  st.config.slot->publish(st.view);
}

void drop_handle(Self self, PeerSlot& peer) {
  if (peer.handle) {
    self->demonitor(peer.handle);
    peer.dead_node = peer.node;
  }
  peer.handle = nullptr;
}

void mark_down(Self self, PeerSlot& peer, const std::string& reason) {
  drop_handle(self, peer);
  if (auto change = self->state.view.mark_down(peer.config.ezone, reason, wall_ms()))
    log_change(self, *change);
}

void greet(Self self, const std::string& ezone, caf::actor handle, caf::node_id node) {
  auto& st = self->state;
  auto timeout = milliseconds(st.config.timeouts.connect_timeout_ms);
  self->request(handle, timeout, ez_hello_atom::value, st.config.ezone, caf::to_string(self->node()),
                st.config.incarnation, st.view.self_epoch())
      .then(
          [=](ez_hello_atom, const std::string& their_ezone, const std::string& node_id,
              uint64_t incarnation, int64_t epoch) {
            PeerSlot& peer = self->state.peers[ezone];
            peer.connecting = false;
            if (their_ezone != ezone) {
              self->state.rejected_unknown->inc();
              return mark_down(self, peer,
                               "peer at " + peer.config.cluster.to_string() + " says it is ezone '" +
                                   their_ezone + "', config expects '" + ezone + "'");
            }
            peer.handle = handle;
            peer.node = node;
            peer.last_heard_ms = mono_ms();
            if (auto change = self->state.view.mark_up(ezone, node_id, incarnation, epoch, wall_ms()))
              log_change(self, *change);
          },
          [=](caf::error& err) {
            PeerSlot& peer = self->state.peers[ezone];
            peer.connecting = false;
            self->demonitor(handle);
            if (node == peer.dead_node) self->state.stale_handles->inc();
            mark_down(self, peer, "hello failed: " + self->system().render(err));
          });
}

void connect(Self self, PeerSlot& peer) {
  auto& st = self->state;
  peer.connecting = true;
  peer.last_attempt_ms = mono_ms();
  std::string ezone = peer.config.ezone;
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, milliseconds(st.config.timeouts.connect_timeout_ms), caf::connect_atom::value,
                peer.config.cluster.host, peer.config.cluster.port)
      .then(
          [=](const caf::node_id& node, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
            PeerSlot& p = self->state.peers[ezone];
            if (!ptr) {
              p.connecting = false;
              self->state.connect_failures->inc();
              return mark_down(self, p, "connect failed: nothing published at " +
                                            p.config.cluster.to_string());
            }
            // The handle may be stale: right after a restart CAF can hand
            // back the proxy of the process that died. Its node id alone does
            // not tell (a peer resumed after SIGSTOP keeps its node id), so
            // the hello decides: only a live process answers it.
            auto handle = caf::actor_cast<caf::actor>(ptr);
            self->monitor(handle);
            greet(self, ezone, handle, node);
          },
          [=](caf::error& err) {
            PeerSlot& p = self->state.peers[ezone];
            p.connecting = false;
            self->state.connect_failures->inc();
            mark_down(self, p, "connect failed: " + self->system().render(err));
          });
}

void ping(Self self, PeerSlot& peer) {
  auto& st = self->state;
  std::string ezone = peer.config.ezone;
  caf::actor handle = peer.handle;
  self->request(handle, milliseconds(st.config.timeouts.peer_down_after_ms), ez_ping_atom::value,
                st.config.ezone, st.view.self_epoch())
      .then(
          [=](ez_ping_atom, const std::string&, int64_t epoch) {
            PeerSlot& p = self->state.peers[ezone];
            if (p.handle != handle) return;  // an answer from a handle we gave up on
            p.last_heard_ms = mono_ms();
            self->state.view.heard_from(ezone, epoch, wall_ms());
          },
          [](caf::error&) {
            // Silence is judged in tick(), against peer_down_after_ms.
          });
}

void tick(Self self) {
  auto& st = self->state;
  const TimeoutsConfig& t = st.config.timeouts;
  int64_t now = mono_ms();
  for (auto& [ezone, peer] : st.peers) {
    if (peer.handle && now - peer.last_heard_ms > t.peer_down_after_ms) {
      mark_down(self, peer, "no answer for " + std::to_string(now - peer.last_heard_ms) +
                                " ms (peer_down_after_ms=" + std::to_string(t.peer_down_after_ms) + ")");
    }
    if (peer.handle) {
      ping(self, peer);
    } else if (!peer.connecting && now - peer.last_attempt_ms >= t.reconnect_interval_ms) {
      connect(self, peer);
    }
  }
  st.config.slot->publish(st.view);
  self->delayed_send(self, milliseconds(t.peer_ping_interval_ms), ez_tick_atom::value);
}

void on_down(Self self, const caf::down_msg& msg) {
  for (auto& [ezone, peer] : self->state.peers) {
    if (!peer.handle || peer.handle.address() != msg.source) continue;
    mark_down(self, peer, "connection lost: " + self->system().render(msg.reason));
    // Try again at once: a restarted peer is usually listening already.
    peer.last_attempt_ms = -1'000'000'000;
  }
}

caf::result<caf::message> on_hello(Self self, const std::string& ezone, uint64_t incarnation) {
  auto& st = self->state;
  auto it = st.peers.find(ezone);
  if (it == st.peers.end()) {
    st.rejected_unknown->inc();
    st.config.logger->warn("event=peer_rejected ezone={} peer={} reason=\"not in [[peers]]\"",
                           st.config.ezone, ezone);
    return caf::make_error(caf::sec::request_receiver_down);
  }
  // A peer that greets us with a new incarnation restarted: connect back now
  // instead of waiting for the next reconnect interval.
  const MemberInfo* info = st.view.find(ezone);
  bool restarted = info && info->incarnation != incarnation;
  if ((restarted || !it->second.handle) && !it->second.connecting) {
    if (it->second.handle) mark_down(self, it->second, "peer restarted (new incarnation)");
    connect(self, it->second);
  }
  return caf::make_message(ez_hello_atom::value, st.config.ezone, caf::to_string(self->node()),
                           st.config.incarnation, st.view.self_epoch());
}

// The view before any peer has answered: every peer connecting.
MembershipView initial_view(const ClusterActorConfig& config, const caf::node_id& node) {
  std::vector<std::pair<std::string, HostPort>> peers;
  for (const auto& p : config.peers) peers.emplace_back(p.ezone, p.cluster);
  return MembershipView(config.ezone, caf::to_string(node), config.incarnation, peers, wall_ms());
}

caf::behavior cluster_actor(Self self, ClusterActorConfig config) {
  auto& st = self->state;
  st.config = std::move(config);
  Metrics& m = *st.config.metrics;
  st.rejected_unknown = &m.counter("ezone_cluster_rejected_messages_total",
                                   "Peer messages rejected", {{"reason", "unknown_or_wrong_ezone"}});
  st.stale_handles = &m.counter("ezone_cluster_stale_handles_total",
                                "Connects that returned the handle of a dead peer process");
  st.connect_failures = &m.counter("ezone_cluster_connect_failures_total", "Failed peer connects");
  for (const auto& p : st.config.peers) st.peers[p.ezone].config = p;
  st.view = initial_view(st.config, self->node());
  st.config.slot->publish(st.view);
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  return {
      [self](ez_start_atom) {
        if (std::exchange(self->state.started, true)) return;
        tick(self);
      },
      [self](ez_hello_atom, const std::string& ezone, const std::string&, uint64_t incarnation,
             int64_t) { return on_hello(self, ezone, incarnation); },
      [self](ez_ping_atom, const std::string&, int64_t) {
        return caf::make_message(ez_ping_atom::value, self->state.config.ezone,
                                 self->state.view.self_epoch());
      },
      [self](ez_tick_atom) { tick(self); },
      [self](ez_epoch_atom, int64_t epoch) {
        self->state.view.set_self_epoch(epoch);
        self->state.config.slot->publish(self->state.view);
      },
      [self](ez_drcset_atom, const caf::actor& server) { self->state.drc_server = server; },
      [self](ez_peer_atom, const std::string& ezone) -> caf::actor {
        auto it = self->state.peers.find(ezone);
        return it == self->state.peers.end() ? caf::actor() : it->second.handle;
      },
      [self](ez_pull_atom atom, const std::string& requester, uint64_t after, uint64_t applied, uint32_t rows_max,
             uint32_t bytes_max, int64_t wait_ms) -> caf::result<caf::message> {
        auto& st = self->state;
        if (!st.peers.count(requester)) {
          st.rejected_unknown->inc();
          return caf::make_error(caf::sec::runtime_error, "ezone '" + requester + "' is not in [[peers]] of '" +
                                                              st.config.ezone + "'");
        }
        if (!st.drc_server) {
          return caf::make_error(caf::sec::runtime_error, "ezone '" + st.config.ezone + "' runs no DAL/DRC");
        }
        return self->delegate(st.drc_server, atom, requester, after, applied, rows_max, bytes_max, wait_ms);
      },
  };
}

}  // namespace

caf::actor spawn_cluster_actor(caf::actor_system& system, ClusterActorConfig config) {
  // The actor builds its first view when a scheduler worker first runs it,
  // which may be after the node serves its admin API: publish it here, so
  // readers of the slot never see it empty.
  config.slot->publish(initial_view(config, system.node()));
  return system.spawn(cluster_actor, std::move(config));
}

void start_cluster_actor(const caf::actor& cluster) { caf::anon_send(cluster, ez_start_atom::value); }

void send_epoch(const caf::actor& cluster, int64_t epoch) {
  caf::anon_send(cluster, ez_epoch_atom::value, epoch);
}

}  // namespace ezone
