// lean_read_some: socket.async_read_some without the wasted recv.
//
// Boost.Asio 1.74 tries every read at once (a "speculative" recv) and only
// stops after a read returned 0 bytes. On a keep-alive connection the read
// for the peer's answer starts right after our write, before the peer can
// have answered, so that recv nearly always fails with EAGAIN: measured,
// 1.9 failed recv calls per forwarded request on the forwarding router and
// 1 on the owner (a system call costs about 1 us in this VM). nginx keeps a
// ready flag per socket instead, cleared when a read returns less than it
// asked for.
//
// This does the same through Asio's own reactor. A read that returns less
// than it asked for drained the socket; it reports that to the reactor as
// "done and exhausted", which clears the reactor's flag for speculative
// reads on that socket until the next readiness event (epoll is
// edge-triggered, so data arriving after the short read always brings
// one). A read for an answer (ReadFor::answer) then costs no recv and no
// epoll_ctl until the answer arrives.
//
// The exception is an end of stream that arrived together with the data
// of the short read: it brings no further event (Asio does not ask for
// EPOLLRDHUP, which nginx uses for this). A read that continues a message
// (ReadFor::rest) therefore always tries its recv first, so a truncated
// message or a body that runs to the end of the stream is seen at once.
// A read for an answer on a connection whose peer half-closed right after
// its last message waits for the next event or its deadline instead (the
// HTTP server's sessions peek once after a second idle to find it).
//
// It reaches into Asio's detail namespace (reactor_op, the reactor's
// start_op and the socket's implementation), as found in Debian's Boost
// 1.74. With another Boost version these are plain async_read_some calls:
// correct, with the wasted recv back (kLeanReads says which).
#pragma once

#include <sys/socket.h>

#include <cerrno>
#include <cstddef>
#include <memory>
#include <type_traits>
#include <utility>

// io_threads_impl.hpp brings io_context, which the reactor's headers need first.
#include "actors/http/io_threads_impl.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/error.hpp>
#include <boost/version.hpp>

#if BOOST_VERSION / 100 == 1074
#define EZONE_LEAN_READS 1
#else
#define EZONE_LEAN_READS 0
#endif

namespace ezone {

// Whether lean_read_some skips the wasted recv with this Boost version.
constexpr bool kLeanReads = EZONE_LEAN_READS;

#if EZONE_LEAN_READS
namespace lean_read_detail {

namespace ad = boost::asio::detail;

// The socket's Asio implementation (descriptor, state, reactor data), which
// basic_socket keeps protected.
struct SocketAccess : LaneSocket {
  static auto& implementation(LaneSocket& s) { return (s.*(&SocketAccess::impl_)).get_implementation(); }
};

template <class Handler>
class RecvOp final : public ad::reactor_op {
 public:
  RecvOp(int fd, boost::asio::mutable_buffer buffer, Handler&& handler)
      : reactor_op(boost::system::error_code(), &RecvOp::do_perform, &RecvOp::do_complete),
        fd_(fd),
        buffer_(buffer),
        handler_(std::move(handler)) {}

  // While set, perform() reports "not done" without a recv.
  void skip_speculative(bool skip) { skip_ = skip; }

  static status do_perform(reactor_op* base) {
    auto* o = static_cast<RecvOp*>(base);
    if (o->skip_) return not_done;
    for (;;) {
      ssize_t n = ::recv(o->fd_, o->buffer_.data(), o->buffer_.size(), 0);
      if (n > 0) {
        o->bytes_transferred_ = static_cast<size_t>(n);
        // A short read drained the socket: the next read waits for an event.
        return o->bytes_transferred_ < o->buffer_.size() ? done_and_exhausted : done;
      }
      if (n == 0) {
        o->ec_ = boost::asio::error::eof;
        return done_and_exhausted;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return not_done;
      o->ec_ = boost::system::error_code(errno, boost::asio::error::get_system_category());
      return done;
    }
  }

 private:
  // owner is null when the io_context is destroyed with the read pending:
  // the handler is then destroyed without running, as Asio's own ops do.
  static void do_complete(void* owner, ad::operation* base, const boost::system::error_code&, std::size_t) {
    std::unique_ptr<RecvOp> o(static_cast<RecvOp*>(base));
    Handler handler(std::move(o->handler_));
    boost::system::error_code ec = o->ec_;
    size_t n = o->bytes_transferred_;
    o.reset();
    if (owner) handler(ec, n);
  }

  int fd_;
  boost::asio::mutable_buffer buffer_;
  Handler handler_;
  bool skip_ = false;
};

}  // namespace lean_read_detail
#endif

// What a read waits for, which decides whether it tries its recv at once.
enum class ReadFor {
  // The peer's answer to what we just sent (the client's next request after
  // our response, the upstream's response after our request): after a
  // short read, no recv until the next readiness event.
  answer,
  // The rest of a message already begun, or whatever the peer sends next
  // while we only watch for its close: the recv is always tried first.
  rest,
};

// Reads at most buffer.size() (> 0) bytes, like socket.async_read_some, and
// calls handler(error_code, bytes) from the lane's event loop, never inline:
// eof when the peer closed, operation_aborted when the socket was cancelled
// or closed. The socket must be open and belong to the calling thread's lane.
template <class Handler>
void lean_read_some(LaneSocket& socket, boost::asio::mutable_buffer buffer, ReadFor read_for, Handler&& handler) {
#if !EZONE_LEAN_READS
  (void)read_for;
  socket.async_read_some(buffer, std::forward<Handler>(handler));
#else
  namespace ad = boost::asio::detail;
  using Op = lean_read_detail::RecvOp<std::decay_t<Handler>>;
  auto& impl = lean_read_detail::SocketAccess::implementation(socket);
  auto op = std::make_unique<Op>(impl.socket_, buffer, std::forward<Handler>(handler));
  auto& reactor = boost::asio::use_service<ad::reactor>(socket.get_executor().context());
  if (buffer.size() == 0 || impl.socket_ == ad::invalid_socket) {
    op->ec_ = buffer.size() == 0 ? boost::asio::error::invalid_argument : boost::asio::error::bad_descriptor;
    reactor.post_immediate_completion(op.release(), false);
    return;
  }
  if (!(impl.state_ & ad::socket_ops::non_blocking) &&
      !ad::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_, true, op->ec_)) {
    reactor.post_immediate_completion(op.release(), false);
    return;
  }
  if (read_for == ReadFor::rest && Op::do_perform(op.get()) != ad::reactor_op::not_done) {
    reactor.post_immediate_completion(op.release(), false);
    return;
  }
  // For a rest read the recv above found nothing, so the reactor's
  // speculative attempt (made inside start_op if its flag allows) would
  // find nothing either: skip it. Only this thread runs the loop, so no
  // event reaches the op before the skip is cleared, and the next one
  // performs the read. An answer read leaves the choice to the flag.
  Op* queued = op.release();
  queued->skip_speculative(read_for == ReadFor::rest);
  reactor.start_op(ad::reactor::read_op, impl.socket_, impl.reactor_data_, queued, false, true);
  queued->skip_speculative(false);
#endif
}

}  // namespace ezone
