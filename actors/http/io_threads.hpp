// IoThreads: the I/O threads of one HTTP ingress. Each thread runs its own
// event loop (a "lane"): a connection, the upstream connections its
// requests are forwarded on, and the timers that hold them all live on one
// lane, so the request path needs no lock and never changes thread (the
// nginx worker model). An HttpServer and the HttpForwarder of its router
// share one IoThreads.
//
// Asio stays in io_threads.cpp and io_threads_impl.hpp (which only the
// actors/http .cpp files include).
//
// Lifetime: stop() ends every lane and joins its thread; work still queued
// is destroyed, without running, when the last owner releases the IoThreads.
// Objects that queued work (servers, forwarders, routers) must therefore
// not be used by that work after they are destroyed: they capture shared
// state, or raw pointers to objects that outlive the IoThreads (Metrics).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace ezone {

class IoThreads {
 public:
  struct Impl;

  // Starts threads (>= 1) lanes, each with its thread named name/N.
  static std::shared_ptr<IoThreads> start(int threads, const std::string& name);
  ~IoThreads();
  IoThreads(const IoThreads&) = delete;
  IoThreads& operator=(const IoThreads&) = delete;

  // Stops every lane and joins the threads. Idempotent. Must not be called
  // from a lane thread (it would join itself): it aborts if it is.
  void stop();
  bool stopped() const;
  int lanes() const;
  // The lane the calling thread runs, or -1 if it runs none of this pool's.
  int current_lane() const;
  // Runs fn on lane (0 <= lane < lanes()) after delay_ms (<= 0: soon). If
  // the pool stops first, fn is destroyed without running.
  void run_after(int lane, int64_t delay_ms, std::function<void()> fn);

  Impl& impl() { return *impl_; }

 private:
  explicit IoThreads(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ezone
