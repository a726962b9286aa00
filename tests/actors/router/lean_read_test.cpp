// lean_read_some against a real loopback TCP connection, with the process's
// recv() counted per descriptor (this binary defines recv, which every call
// in it binds to): after a short read the next read makes no recv until
// data arrives, and data, end of stream, cancellation and teardown still
// reach (or spare) the handler as async_read_some's would.
#include "actors/http/lean_read.hpp"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <optional>
#include <string>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

namespace {
std::atomic<int> g_counted_fd{-1};
std::atomic<int> g_recv_calls{0};
}  // namespace

// Counts the calls on g_counted_fd, then does what glibc's recv does.
extern "C" ssize_t recv(int fd, void* buf, size_t n, int flags) {
  if (fd == g_counted_fd.load()) g_recv_calls.fetch_add(1);
  return static_cast<ssize_t>(::syscall(SYS_recvfrom, fd, buf, n, flags, nullptr, nullptr));
}

namespace ezone {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Outcome {
  boost::system::error_code ec;
  size_t bytes = 0;
};

class LeanReadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer_.connect(acceptor.local_endpoint());
    acceptor.accept(socket_);
    socket_.non_blocking(true);
    g_counted_fd = socket_.native_handle();
    g_recv_calls = 0;
  }
  void TearDown() override { g_counted_fd = -1; }

  void peer_sends(const std::string& bytes) { asio::write(peer_, asio::buffer(bytes)); }

  // Starts a read into buffer_ (size bytes) whose outcome lands in outcome_.
  void start_read(size_t size, ReadFor read_for = ReadFor::answer) {
    outcome_.reset();
    lean_read_some(socket_, asio::buffer(buffer_, size), read_for, [this](boost::system::error_code ec, size_t n) {
      outcome_ = Outcome{ec, n};
    });
  }
  // Runs the loop until the read completed (bounded: 2 s).
  Outcome finish_read() {
    for (int i = 0; i < 2000 && !outcome_; ++i) {
      io_.restart();  // a loop that ran out of work stays stopped until restarted
      io_.run_one_for(std::chrono::milliseconds(1));
    }
    EXPECT_TRUE(outcome_.has_value()) << "the read did not complete within 2 s";
    return outcome_.value_or(Outcome{});
  }
  std::string got(size_t n) const { return std::string(buffer_, n); }
  // Runs what is ready now (readiness events included) without waiting.
  void poll() {
    io_.restart();
    io_.poll();
  }
  // The first read of a test waits for its data, which its readiness event
  // then brings: the reactor has no event left over for what follows.
  Outcome read_arriving(const std::string& bytes) {
    start_read(sizeof buffer_);
    poll();
    EXPECT_FALSE(outcome_.has_value());
    peer_sends(bytes);
    return finish_read();
  }

  asio::io_context io_{1};
  asio::io_context peer_io_;
  tcp::socket peer_{peer_io_};
  LaneSocket socket_{io_};
  char buffer_[64] = {};
  std::optional<Outcome> outcome_;
};

TEST_F(LeanReadTest, AfterAShortReadTheNextReadWaitsForDataWithoutARecv) {
  if (!kLeanReads) GTEST_SKIP() << "lean reads need Boost 1.74; this build has plain async_read_some";
  Outcome first = read_arriving("hello");
  ASSERT_FALSE(first.ec) << first.ec.message();
  ASSERT_EQ(got(first.bytes), "hello");

  // The socket is drained: Asio's async_read_some would try a recv here
  // and fail with EAGAIN; lean_read_some leaves it to the readiness event.
  g_recv_calls = 0;
  start_read(sizeof buffer_);
  poll();
  EXPECT_FALSE(outcome_.has_value());
  EXPECT_EQ(g_recv_calls.load(), 0);

  peer_sends("world");
  Outcome second = finish_read();
  ASSERT_FALSE(second.ec) << second.ec.message();
  EXPECT_EQ(got(second.bytes), "world");
  EXPECT_EQ(g_recv_calls.load(), 1);
}

TEST_F(LeanReadTest, ARestReadAfterAShortOneSeesAnEndOfStreamThatCameWithTheData) {
  if (!kLeanReads) GTEST_SKIP() << "lean reads need Boost 1.74; this build has plain async_read_some";
  // The data and the end of stream both arrive while the first read waits:
  // one readiness event covers both, and none follows the short read.
  start_read(sizeof buffer_);
  poll();
  ASSERT_FALSE(outcome_.has_value());
  peer_sends("abc");
  peer_.shutdown(tcp::socket::shutdown_send);
  bool fin_here = false;
  for (int i = 0; i < 2000 && !fin_here; ++i) {
    tcp_info info{};
    socklen_t len = sizeof info;
    fin_here = ::getsockopt(socket_.native_handle(), IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
               info.tcpi_state == TCP_CLOSE_WAIT;
    if (!fin_here) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(fin_here);
  Outcome first = finish_read();
  ASSERT_EQ(got(first.bytes), "abc");

  // An answer read would now wait for an event that never comes.
  g_recv_calls = 0;
  start_read(sizeof buffer_, ReadFor::rest);
  EXPECT_EQ(finish_read().ec, asio::error::eof);
  EXPECT_EQ(g_recv_calls.load(), 1);
}

TEST_F(LeanReadTest, ARestReadThatFindsNothingWaitsForTheDataWithoutASecondRecv) {
  if (!kLeanReads) GTEST_SKIP() << "lean reads need Boost 1.74; this build has plain async_read_some";
  g_recv_calls = 0;
  start_read(sizeof buffer_, ReadFor::rest);
  poll();
  EXPECT_FALSE(outcome_.has_value());
  EXPECT_EQ(g_recv_calls.load(), 1);  // its own try; the reactor's is skipped
  peer_sends("late");
  Outcome o = finish_read();
  ASSERT_FALSE(o.ec) << o.ec.message();
  EXPECT_EQ(got(o.bytes), "late");
  EXPECT_EQ(g_recv_calls.load(), 2);
}

TEST_F(LeanReadTest, AFullReadLeavesTheRestToBeReadAtOnce) {
  peer_sends("0123456789");
  std::string all;
  while (all.size() < 10) {
    start_read(4);
    Outcome o = finish_read();
    ASSERT_FALSE(o.ec) << o.ec.message();
    ASSERT_GT(o.bytes, 0u);
    all += got(o.bytes);
  }
  EXPECT_EQ(all, "0123456789");
}

TEST_F(LeanReadTest, EndOfStreamCancellationAndCloseReachTheHandler) {
  start_read(sizeof buffer_);
  socket_.cancel();
  EXPECT_EQ(finish_read().ec, asio::error::operation_aborted);

  peer_sends("x");
  start_read(sizeof buffer_);
  EXPECT_EQ(finish_read().bytes, 1u);
  peer_.close();
  start_read(sizeof buffer_);
  EXPECT_EQ(finish_read().ec, asio::error::eof);

  start_read(sizeof buffer_);
  socket_.close();
  EXPECT_EQ(finish_read().ec, asio::error::operation_aborted);
  start_read(sizeof buffer_);  // on a closed socket: an error, not a crash
  EXPECT_EQ(finish_read().ec, asio::error::bad_descriptor);
}

TEST_F(LeanReadTest, ALoopDestroyedWithAReadPendingDestroysTheHandlerUnrun) {
  auto io = std::make_unique<asio::io_context>(1);
  tcp::acceptor acceptor(*io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(peer_io_);
  client.connect(acceptor.local_endpoint());
  auto socket = std::make_unique<LaneSocket>(*io);
  acceptor.accept(*socket);
  auto token = std::make_shared<int>(0);
  std::weak_ptr<int> alive = token;
  bool ran = false;
  lean_read_some(*socket, asio::buffer(buffer_), ReadFor::answer, [token = std::move(token), &ran](boost::system::error_code, size_t) {
    ran = true;
  });
  io->poll();
  socket.reset();  // closing posts the aborted read to the loop, which never runs it
  acceptor.close();
  io.reset();
  EXPECT_FALSE(ran);
  EXPECT_TRUE(alive.expired());
}

}  // namespace
}  // namespace ezone
