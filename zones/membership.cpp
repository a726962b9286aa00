#include "zones/membership.hpp"

namespace ezone {

const char* peer_state_name(PeerState state) {
  switch (state) {
    case PeerState::connecting: return "connecting";
    case PeerState::up: return "up";
    case PeerState::down: return "down";
  }
  return "unknown";
}

MembershipView::MembershipView(std::string self_ezone, std::string self_node_id,
                               uint64_t self_incarnation,
                               const std::vector<std::pair<std::string, HostPort>>& peers,
                               int64_t now_wall_ms)
    : self_ezone_(std::move(self_ezone)),
      self_node_id_(std::move(self_node_id)),
      self_incarnation_(self_incarnation) {
  for (const auto& [ezone, addr] : peers) {
    MemberInfo& m = peers_[ezone];
    m.ezone = ezone;
    m.cluster = addr;
    m.since_wall_ms = now_wall_ms;
    m.reason = "starting";
  }
}

std::optional<MembershipChange> MembershipView::transition(MemberInfo& m, PeerState to,
                                                           const std::string& reason,
                                                           int64_t now_wall_ms) {
  MembershipChange change{m.ezone, m.state, to, m.node_id, m.incarnation, reason, now_wall_ms};
  m.state = to;
  m.since_wall_ms = now_wall_ms;
  m.reason = reason;
  ++m.transitions;
  return change;
}

std::optional<MembershipChange> MembershipView::mark_up(const std::string& ezone,
                                                        const std::string& node_id,
                                                        uint64_t incarnation, int64_t epoch,
                                                        int64_t now_wall_ms) {
  auto it = peers_.find(ezone);
  if (it == peers_.end()) return std::nullopt;
  MemberInfo& m = it->second;
  bool restarted = m.incarnation != 0 && m.incarnation != incarnation;
  m.last_seen_wall_ms = now_wall_ms;
  m.last_epoch = epoch;
  if (m.state == PeerState::up && !restarted) return std::nullopt;
  std::string reason = restarted ? "hello from a new incarnation (peer restarted)" : "hello";
  m.node_id = node_id;
  m.incarnation = incarnation;
  return transition(m, PeerState::up, reason, now_wall_ms);
}

std::optional<MembershipChange> MembershipView::mark_down(const std::string& ezone,
                                                          const std::string& reason,
                                                          int64_t now_wall_ms) {
  auto it = peers_.find(ezone);
  if (it == peers_.end() || it->second.state == PeerState::down) return std::nullopt;
  return transition(it->second, PeerState::down, reason, now_wall_ms);
}

void MembershipView::heard_from(const std::string& ezone, int64_t epoch, int64_t now_wall_ms) {
  auto it = peers_.find(ezone);
  if (it == peers_.end() || it->second.state != PeerState::up) return;
  it->second.last_seen_wall_ms = now_wall_ms;
  it->second.last_epoch = epoch;
}

const MemberInfo* MembershipView::find(const std::string& ezone) const {
  auto it = peers_.find(ezone);
  return it == peers_.end() ? nullptr : &it->second;
}

size_t MembershipView::up_count() const {
  size_t n = 0;
  for (const auto& [ezone, m] : peers_) n += m.state == PeerState::up;
  return n;
}

}  // namespace ezone
