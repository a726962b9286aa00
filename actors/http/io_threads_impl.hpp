// The Asio side of IoThreads, for the .cpp files of actors/http only:
// including Asio costs seconds of compile time per translation unit.
#pragma once

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "actors/http/io_threads.hpp"

namespace ezone {

// A TCP socket bound to one lane's io_context. The concrete executor type
// (instead of Asio's type-erased default) saves work on every operation.
using LaneSocket = boost::asio::basic_stream_socket<boost::asio::ip::tcp, boost::asio::io_context::executor_type>;

// Sockets must not leak into child processes (a spawned tool would keep a
// connection open after we closed it, or hold our listening port); Asio
// does not set close-on-exec itself.
inline void set_cloexec(int fd) { ::fcntl(fd, F_SETFD, FD_CLOEXEC); }

// What one non-blocking peek finds on a connection that has no read
// pending a result: nothing (open and quiet), data, the peer's close, or an
// error. The byte peeked stays in the socket.
enum class Peek { nothing, data, closed, error };
inline Peek peek(int fd) {
  char byte;
  ssize_t n = ::recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return Peek::data;
  if (n == 0) return Peek::closed;
  return errno == EAGAIN || errno == EWOULDBLOCK ? Peek::nothing : Peek::error;
}

// Sends buffers now if the socket takes them all (one sendmsg), and then
// calls done(error_code{}, bytes) inline: an HTTP message of a few hundred
// bytes nearly always fits. Otherwise what is left goes out through
// async_write, and done runs from the event loop (its byte count is then
// that of the rest only); so does done with an error, so a failure never
// recurses into the caller. Requires the socket in non-blocking mode
// (socket.non_blocking(true)); the buffers must live until done runs.
//
// Why: async_write posts its completion to the back of the lane's queue,
// so whatever follows the write (reading the response, or the client's
// next request) waited for a whole turn of the event loop, once per write.
template <class Buffers, class Handler>
void write_now_or_async(LaneSocket& socket, Buffers buffers, Handler&& done) {
  boost::system::error_code ec;
  size_t total = boost::asio::buffer_size(buffers);
  size_t n = socket.write_some(buffers, ec);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) {
    ec = {};
    n = 0;
  }
  if (!ec && n == total) return done(ec, n);
  if (ec) {
    boost::asio::post(socket.get_executor(), [done = std::forward<Handler>(done), ec, n]() mutable { done(ec, n); });
    return;
  }
  for (auto& b : buffers) {
    size_t skip = std::min(n, b.size());
    b += skip;
    n -= skip;
  }
  boost::asio::async_write(socket, buffers, std::forward<Handler>(done));
}

// How often a lane checks the deadlines of its connections.
constexpr int64_t kDeadlineTickMs = 50;

inline int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Something on a lane with a deadline: a connection. Setting a deadline is a
// plain store; the lane's sweep, every kDeadlineTickMs, calls on_deadline()
// for the ones that passed. This replaces a timer per I/O operation, which
// costs a timer-queue update, a cancellation and an extra handler for
// every read and write, with one timer per lane. Deadlines are therefore
// kept to within kDeadlineTickMs. Only the lane's thread touches it.
class Deadline {
 public:
  virtual ~Deadline() = default;
  // Runs on the lane thread once the deadline has passed; it is cleared
  // first, so on_deadline may set a new one.
  virtual void on_deadline() = 0;

  void deadline_after(int64_t ms) { deadline_ms_ = steady_now_ms() + ms; }
  void deadline_at(int64_t steady_ms) { deadline_ms_ = steady_ms; }
  void clear_deadline() { deadline_ms_ = 0; }
  int64_t deadline_ms() const { return deadline_ms_; }

 private:
  friend struct IoLane;
  int64_t deadline_ms_ = 0;  // 0: none
};

struct IoLane {
  // Concurrency hint 1: one thread runs this loop, which lets Asio skip
  // some locking; posts from other threads stay safe.
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  boost::asio::steady_timer sweep_timer{io};  // after io: destroyed before it
  std::vector<std::weak_ptr<Deadline>> watched;
  bool sweeping = false;
  std::thread thread;

  // Lane thread only. Watches d until it is destroyed.
  void watch(std::weak_ptr<Deadline> d);

 private:
  void arm_sweep();
  void sweep();
};

struct IoThreads::Impl {
  std::atomic<bool> stopped{false};  // before lanes: outlives work they destroy
  std::vector<std::unique_ptr<IoLane>> lanes;
  std::atomic<uint32_t> next{0};  // round-robin over lanes

  // The lane the calling thread runs, or nullptr if it is not one of ours.
  IoLane* current() const;
  // The calling thread's lane if it is ours, else the next in round-robin.
  IoLane& current_or_next();
  IoLane& next_lane() { return *lanes[next.fetch_add(1, std::memory_order_relaxed) % lanes.size()]; }
};

}  // namespace ezone
