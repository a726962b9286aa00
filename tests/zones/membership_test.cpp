#include "zones/membership.hpp"

#include <gtest/gtest.h>

namespace ezone {
namespace {

MembershipView two_peers() {
  return MembershipView("bj", "node-bj", 7, {{"sh", {"127.0.0.1", 2}}, {"gz", {"127.0.0.1", 3}}}, 100);
}

}  // namespace

TEST(Membership, PeersStartConnecting) {
  MembershipView v = two_peers();
  ASSERT_EQ(v.peers().size(), 2u);
  EXPECT_EQ(v.find("sh")->state, PeerState::connecting);
  EXPECT_EQ(v.find("sh")->since_wall_ms, 100);
  EXPECT_EQ(v.up_count(), 0u);
}

TEST(Membership, UpDownUpRecordsEveryChange) {
  MembershipView v = two_peers();
  auto up = v.mark_up("sh", "node-sh", 11, 4, 200);
  ASSERT_TRUE(up);
  EXPECT_EQ(up->from, PeerState::connecting);
  EXPECT_EQ(up->to, PeerState::up);
  EXPECT_EQ(v.find("sh")->last_epoch, 4);
  EXPECT_FALSE(v.mark_up("sh", "node-sh", 11, 5, 250)) << "same incarnation: no change";
  auto down = v.mark_down("sh", "connection lost", 300);
  ASSERT_TRUE(down);
  EXPECT_EQ(down->from, PeerState::up);
  EXPECT_EQ(v.find("sh")->since_wall_ms, 300);
  EXPECT_FALSE(v.mark_down("sh", "again", 310)) << "already down";
  auto back = v.mark_up("sh", "node-sh2", 12, 6, 400);
  ASSERT_TRUE(back);
  EXPECT_EQ(v.find("sh")->incarnation, 12u);
  EXPECT_EQ(v.find("sh")->node_id, "node-sh2");
  EXPECT_EQ(v.find("sh")->transitions, 3u);
}

TEST(Membership, NewIncarnationWhileUpIsAChange) {
  MembershipView v = two_peers();
  ASSERT_TRUE(v.mark_up("sh", "a", 1, 0, 10));
  auto restart = v.mark_up("sh", "b", 2, 0, 20);
  ASSERT_TRUE(restart);
  EXPECT_EQ(restart->from, PeerState::up);
  EXPECT_NE(restart->reason.find("restarted"), std::string::npos);
}

TEST(Membership, UnknownPeersAreIgnored) {
  MembershipView v = two_peers();
  EXPECT_FALSE(v.mark_up("xx", "n", 1, 0, 10));
  EXPECT_FALSE(v.mark_down("xx", "r", 10));
  v.heard_from("xx", 3, 10);
  EXPECT_EQ(v.peers().size(), 2u);
}

TEST(Membership, HeardFromUpdatesOnlyUpPeers) {
  MembershipView v = two_peers();
  v.heard_from("sh", 9, 50);
  EXPECT_EQ(v.find("sh")->last_seen_wall_ms, 0);
  ASSERT_TRUE(v.mark_up("sh", "n", 1, 0, 60));
  v.heard_from("sh", 9, 70);
  EXPECT_EQ(v.find("sh")->last_seen_wall_ms, 70);
  EXPECT_EQ(v.find("sh")->last_epoch, 9);
}

}  // namespace ezone
