// FakeHttpServer: a loopback TCP server with hand-written answers, for tests
// of HTTP clients against misbehaving peers (garbage, silence, streams that
// end or hang). Plain POSIX sockets, so tests need no Beast.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/address.hpp"
#include "core/status.hpp"

namespace ezone::test {

// One accepted connection, handed to the server's handler on a thread of
// its own.
class FakeConnection {
 public:
  FakeConnection(int fd, const std::atomic<bool>& stopping) : fd_(fd), stopping_(stopping) {}
  // Reads one request (header and Content-Length body); empty when the peer
  // closed or the server is stopping.
  std::string read_request();
  // Writes raw bytes; false when the peer is gone.
  bool send(const std::string& bytes);
  // Sleeps up to ms, returning early (true) when the server stops.
  bool wait_for_stop(int64_t ms);

 private:
  int fd_;
  const std::atomic<bool>& stopping_;
  std::string pending_;
};

class FakeHttpServer {
 public:
  using Handler = std::function<void(FakeConnection&)>;
  // Listens on a free loopback port. The connection is closed when the
  // handler returns.
  static Result<std::unique_ptr<FakeHttpServer>> start(Handler handler);
  // Stops accepting, tells handlers to stop (wait_for_stop returns) and
  // joins every thread.
  ~FakeHttpServer();

  HostPort endpoint() const { return {"127.0.0.1", port_}; }
  size_t connections() const { return connections_.load(); }
  // Connections whose handler has returned and whose socket is closed.
  size_t closed_connections() const { return closed_.load(); }

 private:
  FakeHttpServer(int listen_fd, uint16_t port, Handler handler);
  void accept_loop();

  int listen_fd_;
  uint16_t port_;
  Handler handler_;
  std::atomic<bool> stopping_{false};
  std::atomic<size_t> connections_{0};
  std::atomic<size_t> closed_{0};
  std::mutex mutex_;  // guards workers_
  std::vector<std::thread> workers_;
  std::thread acceptor_;
};

// An HTTP/1.1 response with a Content-Length body.
std::string http_response(int status, const std::string& body,
                          const std::string& content_type = "application/json");

}  // namespace ezone::test
