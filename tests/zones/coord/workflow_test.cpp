#include "zones/coord/workflow.hpp"

#include <gtest/gtest.h>

namespace ezone::coord {
namespace {

Workflow sample() {
  Workflow w;
  w.id = "so-1";
  w.kind = WorkflowKind::switchover;
  w.shards = {1, 4};
  w.from = {{1, "bj"}, {4, "bj"}};
  w.to = {{1, "sh"}, {4, "sh"}};
  w.base_epoch = 7;
  w.forbid_epoch = 8;
  w.high_water = {{"bj", 1234}};
  w.created_wall_ms = 100;
  w.forbid_wall_ms = 150;
  w.enter(Step::forbid, 100, "planned");
  w.enter(Step::await_acks, 150, "write-forbidden at epoch 8");
  return w;
}

TEST(Workflow, JsonRoundTripKeepsEveryField) {
  Workflow w = sample();
  auto back = decode_workflow_json(encode_workflow_json(w));
  ASSERT_TRUE(back) << back.status().message();
  EXPECT_EQ(*back, w);
  EXPECT_EQ(back->step, Step::await_acks);
  EXPECT_EQ(back->step_wall_ms, 150);
}

TEST(Workflow, DecodeNamesTheFieldAtFault) {
  std::string good = encode_workflow_json(sample());
  auto expect_error = [](const std::string& text, const std::string& needle) {
    auto r = decode_workflow_json(text);
    ASSERT_FALSE(r) << text;
    EXPECT_EQ(r.status().code(), Errc::parse_error);
    EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().message();
  };
  expect_error("not json", "workflow JSON");
  expect_error("[]", "not an object");
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t at = s.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    return s.replace(at, from.size(), to);
  };
  expect_error(replace("\"step\":\"await_acks\"", "\"step\":\"teleport\""), "step: 'teleport'");
  expect_error(replace("\"shards\":[1,4]", "\"shards\":[4,1]"), "shards");
  expect_error(replace("\"shards\":[1,4]", "\"shards\":[1,4,5]"), "shard 5");
  expect_error(replace("\"id\":\"so-1\"", "\"id\":\"../etc\""), "id:");
  expect_error(replace("\"base_epoch\":7", "\"base_epoch\":\"7\""), "base_epoch");
}

TEST(Workflow, EventsAreBounded) {
  Workflow w = sample();
  for (int i = 0; i < 200; ++i) w.enter(Step::await_apply, 200 + i, "tick");
  EXPECT_EQ(w.events.size(), kWorkflowEventsMax);
  EXPECT_EQ(w.events.back().wall_ms, 399);
  EXPECT_EQ(w.step_wall_ms, 200);  // the step began at its first event
}

TEST(Workflow, WindowIsForbidToFinal) {
  Workflow w = sample();
  EXPECT_EQ(w.window_ms(), 0);
  w.final_wall_ms = 390;
  EXPECT_EQ(w.window_ms(), 240);
}

TEST(Workflow, IdsAreChecked) {
  EXPECT_TRUE(validate_workflow_id("switchover-20261126-1"));
  EXPECT_FALSE(validate_workflow_id(""));
  EXPECT_FALSE(validate_workflow_id("Upper"));
  EXPECT_FALSE(validate_workflow_id(std::string(65, 'a')));
}

}  // namespace
}  // namespace ezone::coord
