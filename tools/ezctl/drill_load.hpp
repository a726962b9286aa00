// The takeout loadgen in a thread, for `ezctl drill idc-down`: it records
// every call in the drill's AckLog, and holds its verification until the
// drill has healed the zone and replication caught up (release()).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <thread>

#include "tools/ezctl/drill_judge.hpp"
#include "tools/loadgen/run.hpp"

namespace ezctl {

class LoadRun {
 public:
  LoadRun(ezone::loadgen::Options options, drill::AckLog& log);
  // Releases the verification and joins the thread.
  ~LoadRun();
  // Waits, at most bound_ms, until the load is over (verification pending).
  bool wait_load_done(int64_t bound_ms);
  bool finished();
  // Lets the verification run.
  void release();
  // Releases, joins, and hands over the run's result.
  ezone::Result<ezone::loadgen::RunResult> join();

 private:
  ezone::loadgen::Options options_;
  ezone::loadgen::RunHooks hooks_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool load_done_ = false, release_ = false, finished_ = false;
  std::optional<ezone::Result<ezone::loadgen::RunResult>> result_;
  std::thread thread_;
};

}  // namespace ezctl
