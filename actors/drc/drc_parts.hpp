// Parts of the DRC service shared by its server (drc_service.cpp) and its
// per-peer pullers (drc_puller.cpp): the actors' messages, the job thread
// that runs their blocking SQLite calls, the status board and the tracker
// of applies in flight. Internal to actors/drc.
#pragma once

#include <pthread.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <caf/all.hpp>

#include "actors/drc/drc_service.hpp"
#include "core/clock.hpp"

namespace ezone::drc_detail {

using ez_grew_atom = caf::atom_constant<caf::atom("ez_grew")>;
using ez_next_atom = caf::atom_constant<caf::atom("ez_next")>;
using ez_tick_atom = caf::atom_constant<caf::atom("ez_dtick")>;
using ez_read_atom = caf::atom_constant<caf::atom("ez_read")>;
using ez_applied_atom = caf::atom_constant<caf::atom("ez_applied")>;
using ez_decoded_atom = caf::atom_constant<caf::atom("ez_decoded")>;
using ez_restart_atom = caf::atom_constant<caf::atom("ez_restart")>;

// The ticker's period: the resolution of held pulls' expiry and of retries.
constexpr int64_t kTickMs = 20;

inline int64_t mono_ms() { return SystemClock::instance().now_ms(); }
inline int64_t wall_ms() { return SystemClock::instance().wall_ms(); }

inline bool isolated(const DrcServiceConfig& config) { return config.fault && config.fault->isolated(); }
inline std::string isolated_error(const DrcServiceConfig& config) {
  return "ezone '" + config.ezone + "' is isolated by fault injection (a drill): it neither serves nor pulls "
         "outboxes until healed";
}

// Runs blocking jobs one at a time, in order, on its own thread.
class JobThread {
 public:
  explicit JobThread(std::string name)
      : thread_([this, name = std::move(name)] {
          pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
          run();
        }) {}
  ~JobThread() { stop(); }

  void post(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (stopping_) return;
      jobs_.push_back(std::move(job));
    }
    wake_.notify_one();
  }

  // Finishes the running job, drops the queued ones, joins.
  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
      jobs_.clear();
    }
    wake_.notify_one();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
        if (stopping_) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      job();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> jobs_;
  bool stopping_ = false;
  std::thread thread_;  // last: starts after the members it uses
};

// Shared with status(): what each puller last saw.
struct StatusBoard {
  mutable std::mutex mutex;
  std::map<std::string, DrcPeerStatus> peers;

  void update(const std::string& peer, const std::function<void(DrcPeerStatus&)>& fn) {
    std::lock_guard<std::mutex> lock(mutex);
    fn(peers[peer]);
  }
};

// Applies queued to the DAL's writer and not yet answered, so stop() can
// wait for them: after stop() nothing of the service touches the DAL.
struct ApplyTracker {
  std::mutex mutex;
  std::condition_variable idle;
  int outstanding = 0;

  void begin() {
    std::lock_guard<std::mutex> lock(mutex);
    ++outstanding;
  }
  void end() {
    {
      std::lock_guard<std::mutex> lock(mutex);
      --outstanding;
    }
    idle.notify_all();
  }
  void wait_idle() {
    std::unique_lock<std::mutex> lock(mutex);
    idle.wait(lock, [this] { return outstanding == 0; });
  }
};

// Spawns the puller of one peer, starting from the durable cursor (drc_puller.cpp).
caf::actor spawn_drc_puller(caf::actor_system& system, DrcServiceConfig config, std::string peer, uint64_t cursor,
                            caf::actor cluster, std::shared_ptr<StatusBoard> board, std::shared_ptr<JobThread> jobs,
                            std::shared_ptr<ApplyTracker> applies);

}  // namespace ezone::drc_detail
