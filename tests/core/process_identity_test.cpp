// ProcessIdentity (core/process_identity.hpp): what a registration records
// about its process, and what this machine can tell from it.
#include "core/process_identity.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

namespace ezone {
namespace {

bool none_live(const std::string&) { return false; }

// A child that waits until the test kills it; -1 when fork failed.
pid_t paused_child() {
  const pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  return child;
}

TEST(ProcessIdentity, DescribesThisProcessAndReadsBackWhatItWrote) {
  const ProcessIdentity me = ProcessIdentity::self("n1");
  EXPECT_FALSE(me.host.empty());
  EXPECT_EQ(me.boot_id.size(), 36u) << me.boot_id;  // a UUID
  EXPECT_EQ(me.pid_ns.rfind("pid:[", 0), 0u) << me.pid_ns;
  EXPECT_EQ(me.pid, ::getpid());
  EXPECT_GT(me.start_ticks, 0);
  EXPECT_EQ(process_start_ticks(me.pid), me.start_ticks);
  auto back = ProcessIdentity::from_json(me.to_json());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->to_json(), me.to_json());
  EXPECT_EQ(me.describe(), "pid " + std::to_string(me.pid) + " on host " + me.host);
}

TEST(ProcessIdentity, RejectsWhatIsNotAnIdentity) {
  nlohmann::json good = ProcessIdentity::self("n1").to_json();
  EXPECT_FALSE(ProcessIdentity::from_json(nlohmann::json::array()).has_value());
  EXPECT_FALSE(ProcessIdentity::from_json(nlohmann::json("pid 4")).has_value());
  for (const char* key : {"host", "boot_id", "pid_ns", "pid", "start_ticks", "instance"}) {
    SCOPED_TRACE(key);
    nlohmann::json missing = good;
    missing.erase(key);
    EXPECT_FALSE(ProcessIdentity::from_json(missing).has_value());
    nlohmann::json wrong = good;
    wrong[key] = good[key].is_string() ? nlohmann::json(7) : nlohmann::json("7");
    EXPECT_FALSE(ProcessIdentity::from_json(wrong).has_value());
  }
  EXPECT_FALSE(process_start_ticks(0).has_value());
  EXPECT_FALSE(process_start_ticks(-3).has_value());
}

TEST(ProcessIdentity, ThisMachineTellsARunningProcessFromAGoneOne) {
  const pid_t child = paused_child();
  ASSERT_GT(child, 0);
  ProcessIdentity other = ProcessIdentity::self("child");
  other.pid = child;
  auto ticks = process_start_ticks(child);
  ASSERT_TRUE(ticks.has_value());
  other.start_ticks = *ticks;
  EXPECT_EQ(local_liveness(other, none_live), Liveness::alive);
  ProcessIdentity reused = other;  // the same PID, started at another time
  reused.start_ticks += 1;
  EXPECT_EQ(local_liveness(reused, none_live), Liveness::dead);
  ::kill(child, SIGKILL);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  EXPECT_EQ(local_liveness(other, none_live), Liveness::dead);
}

TEST(ProcessIdentity, AProcessThatExitedButWasNotReapedIsGone) {
  // A killed process stays in the process table as a zombie until its
  // parent reaps it; under an init that never reaps, for good. Its
  // registration must not pass for a running twin's.
  const pid_t child = paused_child();
  ASSERT_GT(child, 0);
  ProcessIdentity other = ProcessIdentity::self("child");
  other.pid = child;
  other.start_ticks = process_start_ticks(child).value_or(0);
  ASSERT_GT(other.start_ticks, 0);
  ::kill(child, SIGKILL);
  siginfo_t info{};
  // Wait until it is a zombie, without reaping it.
  ASSERT_EQ(::waitid(P_PID, static_cast<id_t>(child), &info, WEXITED | WNOWAIT), 0);
  EXPECT_FALSE(process_start_ticks(child).has_value());
  EXPECT_EQ(local_liveness(other, none_live), Liveness::dead);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
}

TEST(ProcessIdentity, InThisProcessTheInstanceDecides) {
  const ProcessIdentity me = ProcessIdentity::self("node-a");
  EXPECT_EQ(local_liveness(me, [](const std::string& i) { return i == "node-a"; }), Liveness::alive);
  EXPECT_EQ(local_liveness(me, none_live), Liveness::dead);
  EXPECT_EQ(local_liveness(me, nullptr), Liveness::dead);
}

TEST(ProcessIdentity, AnotherMachineOrNamespaceCannotBeJudgedHereButAnEarlierBootCan) {
  auto all_live = [](const std::string&) { return true; };
  ProcessIdentity remote = ProcessIdentity::self("x");
  remote.host = "another-machine";
  EXPECT_EQ(local_liveness(remote, all_live), Liveness::unknown);
  ProcessIdentity container = ProcessIdentity::self("x");
  container.pid_ns = "pid:[1]";
  EXPECT_EQ(local_liveness(container, all_live), Liveness::unknown);
  ProcessIdentity incomplete = ProcessIdentity::self("x");
  incomplete.start_ticks = 0;
  EXPECT_EQ(local_liveness(incomplete, all_live), Liveness::unknown);
  ProcessIdentity rebooted = ProcessIdentity::self("x");
  rebooted.boot_id = "00000000-0000-0000-0000-000000000000";
  EXPECT_EQ(local_liveness(rebooted, all_live), Liveness::dead);
}

}  // namespace
}  // namespace ezone
