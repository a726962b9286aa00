#include "tests/support/fake_http_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace ezone::test {
namespace {

constexpr int kPollMs = 10;

// Content-Length of a request header, 0 when absent.
size_t content_length(const std::string& header) {
  static const std::string kName = "content-length:";
  std::string lower = header;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto at = lower.find(kName);
  if (at == std::string::npos) return 0;
  return static_cast<size_t>(std::strtoul(header.c_str() + at + kName.size(), nullptr, 10));
}

}  // namespace

std::string FakeConnection::read_request() {
  char buffer[4096];
  while (true) {
    auto end = pending_.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t total = end + 4 + content_length(pending_.substr(0, end));
      if (pending_.size() >= total) {
        std::string request = pending_.substr(0, total);
        pending_.erase(0, total);
        return request;
      }
    }
    pollfd fd{fd_, POLLIN, 0};
    if (stopping_.load()) return {};
    if (::poll(&fd, 1, kPollMs) <= 0) continue;
    ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
    if (got <= 0) return {};
    pending_.append(buffer, static_cast<size_t>(got));
  }
}

bool FakeConnection::send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool FakeConnection::wait_for_stop(int64_t ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (stopping_.load()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
  return stopping_.load();
}

Result<std::unique_ptr<FakeHttpServer>> FakeHttpServer::start(Handler handler) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status(Errc::io_error, std::string("socket: ") + std::strerror(errno));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    Status error(Errc::io_error, std::string("fake server: ") + std::strerror(errno));
    ::close(fd);
    return error;
  }
  return std::unique_ptr<FakeHttpServer>(
      new FakeHttpServer(fd, ntohs(address.sin_port), std::move(handler)));
}

FakeHttpServer::FakeHttpServer(int listen_fd, uint16_t port, Handler handler)
    : listen_fd_(listen_fd), port_(port), handler_(std::move(handler)) {
  acceptor_ = std::thread([this] { accept_loop(); });
}

FakeHttpServer::~FakeHttpServer() {
  stopping_.store(true);
  acceptor_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& worker : workers_) worker.join();
  ::close(listen_fd_);
}

void FakeHttpServer::accept_loop() {
  while (!stopping_.load()) {
    pollfd fd{listen_fd_, POLLIN, 0};
    if (::poll(&fd, 1, kPollMs) <= 0) continue;
    int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    connections_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mutex_);
    workers_.emplace_back([this, client] {
      FakeConnection connection(client, stopping_);
      handler_(connection);
      ::close(client);
      closed_.fetch_add(1);
    });
  }
}

std::string http_response(int status, const std::string& body, const std::string& content_type) {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace ezone::test
