// The cluster actor's slot is filled before the actor first runs: the node
// serves GET /admin/v1/cluster (which reads the slot) from the moment its
// admin server starts, and a scheduler worker may not have run the new
// actor by then. An empty slot crashed that handler (a null view).
#include "actors/cluster/cluster_actor.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <caf/all.hpp>
#include <chrono>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <thread>

#include "actors/cluster/membership_slot.hpp"
#include "core/metrics.hpp"

namespace ezone {
namespace {

TEST(ClusterActor, ItsSlotHoldsAViewBeforeItsFirstRun) {
  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", size_t{1});
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("logger.console-verbosity", caf::atom("quiet"));
  caf::actor_system system{cfg};
  // The only worker is busy until `release`: nothing spawned now runs.
  std::atomic<bool> busy{false}, release{false};
  auto blocker = system.spawn([&](caf::event_based_actor*) -> caf::behavior {
    return {[&](int) {
      busy = true;
      for (int i = 0; i < 5000 && !release; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }};
  });
  caf::anon_send(blocker, 1);
  for (int i = 0; i < 5000 && !busy; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(busy);

  Metrics metrics("bj");
  ClusterActorConfig cc;
  cc.ezone = "bj";
  cc.incarnation = 7;
  cc.peers.push_back(PeerConfig{"sh", {"127.0.0.1", 1}, {"127.0.0.1", 2}, {"127.0.0.1", 3}});
  cc.slot = std::make_shared<MembershipSlot>();
  cc.logger = std::make_shared<spdlog::logger>("cluster_actor_test", std::make_shared<spdlog::sinks::null_sink_mt>());
  cc.metrics = &metrics;
  auto slot = cc.slot;
  auto cluster = spawn_cluster_actor(system, std::move(cc));
  auto view = slot->get();
  ASSERT_NE(view, nullptr);
  EXPECT_EQ(view->self_ezone(), "bj");
  EXPECT_EQ(view->self_incarnation(), 7u);
  EXPECT_EQ(view->self_node_id(), caf::to_string(system.node()));
  ASSERT_EQ(view->peers().size(), 1u);
  EXPECT_EQ(view->peers().at("sh").state, PeerState::connecting);

  release = true;
  caf::anon_send_exit(cluster, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(blocker, caf::exit_reason::user_shutdown);
}

}  // namespace
}  // namespace ezone
