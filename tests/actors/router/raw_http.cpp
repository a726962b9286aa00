#include "tests/actors/router/raw_http.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>

namespace ezone::test {
namespace {

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string lower(std::string s) {
  for (auto& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  size_t e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Parses a response head; false if it is not one.
bool parse_head(const std::string& head, RawResponse& r) {
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) return false;
  r.status = std::atoi(status_line.c_str() + 9);
  size_t pos = line_end + 2;
  while (pos < head.size()) {
    size_t end = head.find("\r\n", pos);
    if (end == std::string::npos) end = head.size();
    std::string line = head.substr(pos, end - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) r.headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
    pos = end + 2;
  }
  return true;
}

}  // namespace

std::string RawResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

RawConnection::RawConnection(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fd_ = fd;
}

RawConnection::~RawConnection() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawConnection::send(const std::string& bytes) {
  size_t sent = 0;
  while (fd_ >= 0 && sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return fd_ >= 0;
}

void RawConnection::shutdown_send() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

// Reads what is available before the deadline; false on timeout or close.
bool RawConnection::fill(int64_t deadline_ms) {
  if (fd_ < 0 || eof_) return false;
  int64_t left = deadline_ms - now_ms();
  if (left <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
  char buffer[16384];
  ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  pending_.append(buffer, static_cast<size_t>(n));
  return true;
}

RawResponse RawConnection::read_response(int64_t timeout_ms, bool to_head) {
  int64_t deadline = now_ms() + timeout_ms;
  RawResponse r;
  size_t head_end;
  while ((head_end = pending_.find("\r\n\r\n")) == std::string::npos)
    if (!fill(deadline)) return r;
  if (!parse_head(pending_.substr(0, head_end), r)) return RawResponse{};
  size_t length = to_head ? 0 : static_cast<size_t>(std::strtoul(r.header("content-length").c_str(), nullptr, 10));
  size_t total = head_end + 4 + length;
  while (pending_.size() < total)
    if (!fill(deadline)) return RawResponse{};
  r.body = pending_.substr(head_end + 4, length);
  pending_.erase(0, total);
  return r;
}

bool RawConnection::wait_closed(int64_t timeout_ms) {
  int64_t deadline = now_ms() + timeout_ms;
  while (!eof_ && now_ms() < deadline) fill(deadline);
  return eof_;
}

std::string raw_request(const std::string& method, const std::string& target, const RawHeaders& headers,
                        const std::string& body) {
  std::string out = method + " " + target + " HTTP/1.1\r\nHost: test\r\n";
  for (const auto& [k, v] : headers) out += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") out += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return out + "\r\n" + body;
}

RawResponse http_call(uint16_t port, const std::string& method, const std::string& target,
                      const RawHeaders& headers, const std::string& body, int64_t timeout_ms) {
  RawConnection c(port);
  if (!c.send(raw_request(method, target, headers, body))) return RawResponse{};
  return c.read_response(timeout_ms, method == "HEAD");
}

}  // namespace ezone::test
