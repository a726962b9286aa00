// MembershipView: what one node believes about its peers. Pure logic, no
// CAF: the cluster actor feeds it events and publishes immutable copies.
//
//   connecting --hello ok--> up --down_msg / silence / reconnect--> down
//        ^                                                           |
//        +------------------- reconnect attempt ---------------------+
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/address.hpp"

namespace ezone {

enum class PeerState { connecting, up, down };
const char* peer_state_name(PeerState state);

struct MemberInfo {
  std::string ezone;
  HostPort cluster;
  PeerState state = PeerState::connecting;
  int64_t since_wall_ms = 0;      // when the current state began
  int64_t last_seen_wall_ms = 0;  // last hello or pong from the peer; 0 = never
  std::string node_id;            // the peer process's CAF node id; empty until first hello
  uint64_t incarnation = 0;       // random per peer process start; changes on restart
  int64_t last_epoch = 0;         // the route-table epoch the peer last reported
  std::string reason;             // why the current state began
  uint64_t transitions = 0;       // how many state changes so far
};

// One state change, for the structured log line and the metrics.
struct MembershipChange {
  std::string ezone;
  PeerState from = PeerState::connecting;
  PeerState to = PeerState::connecting;
  std::string node_id;
  uint64_t incarnation = 0;
  std::string reason;
  int64_t at_wall_ms = 0;
};

class MembershipView {
 public:
  MembershipView() = default;
  // self_* describe this node; peers start in `connecting` at now_wall_ms.
  MembershipView(std::string self_ezone, std::string self_node_id, uint64_t self_incarnation,
                 const std::vector<std::pair<std::string, HostPort>>& peers, int64_t now_wall_ms);

  // A successful hello. Returns the change, or nothing if already up with
  // the same incarnation. A new incarnation while up is a restart that was
  // not noticed as a down: it is reported as up -> up with that reason.
  std::optional<MembershipChange> mark_up(const std::string& ezone, const std::string& node_id,
                                          uint64_t incarnation, int64_t epoch, int64_t now_wall_ms);
  // Returns the change, or nothing if unknown or already down.
  std::optional<MembershipChange> mark_down(const std::string& ezone, const std::string& reason,
                                            int64_t now_wall_ms);
  // A pong or other sign of life from an up peer.
  void heard_from(const std::string& ezone, int64_t epoch, int64_t now_wall_ms);

  const std::map<std::string, MemberInfo>& peers() const { return peers_; }
  const MemberInfo* find(const std::string& ezone) const;
  const std::string& self_ezone() const { return self_ezone_; }
  const std::string& self_node_id() const { return self_node_id_; }
  uint64_t self_incarnation() const { return self_incarnation_; }
  int64_t self_epoch() const { return self_epoch_; }
  void set_self_epoch(int64_t epoch) { self_epoch_ = epoch; }
  size_t up_count() const;

 private:
  std::optional<MembershipChange> transition(MemberInfo& m, PeerState to, const std::string& reason,
                                             int64_t now_wall_ms);
  std::string self_ezone_;
  std::string self_node_id_;
  uint64_t self_incarnation_ = 0;
  int64_t self_epoch_ = 0;
  std::map<std::string, MemberInfo> peers_;
};

}  // namespace ezone
