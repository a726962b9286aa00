#include "core/fault_state.hpp"

#include <gtest/gtest.h>

namespace ezone {
namespace {

TEST(FaultState, IsolationEndsAtItsDeadlineOrAtTheHeal) {
  ManualClock clock;
  FaultState fault(clock);
  EXPECT_FALSE(fault.isolated());
  EXPECT_FALSE(fault.snapshot().isolated);
  EXPECT_TRUE(fault.isolate(1000));
  EXPECT_TRUE(fault.isolated());
  const FaultState::Snapshot s = fault.snapshot();
  EXPECT_TRUE(s.isolated);
  EXPECT_EQ(s.since_wall_ms, clock.wall_ms());
  EXPECT_EQ(s.heals_at_wall_ms, clock.wall_ms() + 1000);

  // Isolating again keeps the start and moves the deadline.
  clock.advance_ms(500);
  EXPECT_FALSE(fault.isolate(1000));
  EXPECT_EQ(fault.snapshot().since_wall_ms, s.since_wall_ms);
  EXPECT_EQ(fault.snapshot().heals_at_wall_ms, clock.wall_ms() + 1000);
  clock.advance_ms(999);
  EXPECT_TRUE(fault.isolated());
  EXPECT_FALSE(fault.heal_if_due());
  clock.advance_ms(1);
  EXPECT_FALSE(fault.isolated());  // at the deadline, before anyone notices
  EXPECT_FALSE(fault.snapshot().isolated);
  EXPECT_TRUE(fault.heal_if_due());
  EXPECT_FALSE(fault.heal_if_due());  // once

  EXPECT_TRUE(fault.isolate(FaultState::kIsolationMsMax));
  EXPECT_TRUE(fault.heal());
  EXPECT_FALSE(fault.isolated());
  EXPECT_FALSE(fault.heal());
  EXPECT_EQ(fault.snapshot().since_wall_ms, 0);
}

}  // namespace
}  // namespace ezone
