#include "tools/loadgen/http_link.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <mutex>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "storage/net/tls_impl.hpp"

namespace ezone::loadgen {
namespace {

// A link idle this long is checked for a close from the server before reuse.
constexpr int64_t kIdleCheckMs = 1000;

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Status errno_status(const std::string& what, int err) {
  const Errc code = err == ECONNREFUSED || err == ECONNRESET || err == EPIPE || err == ENETUNREACH ||
                            err == EHOSTUNREACH || err == ECONNABORTED
                        ? Errc::unavailable
                        : Errc::io_error;
  return Status(code, what + ": " + std::strerror(err));
}

struct Head {
  int status = 0;
  size_t content_length = 0;
  bool has_length = false;
  bool close = false;
  std::string served_by;
};

// Parses the status line and headers (text ends before the blank line).
Result<Head> parse_head(std::string_view text) {
  Head h;
  const size_t eol = text.find("\r\n");
  std::string_view line = text.substr(0, eol);
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || line[8] != ' ')
    return Status(Errc::parse_error, "not an HTTP/1.1 status line: " + std::string(line.substr(0, 80)));
  for (size_t i = 9; i < 12; ++i) {
    if (line[i] < '0' || line[i] > '9') return Status(Errc::parse_error, "bad status code in " + std::string(line));
    h.status = h.status * 10 + (line[i] - '0');
  }
  h.close = line[7] == '0';  // HTTP/1.0 closes unless told otherwise
  size_t pos = eol == std::string_view::npos ? text.size() : eol + 2;
  while (pos < text.size()) {
    size_t end = text.find("\r\n", pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view header = text.substr(pos, end - pos);
    pos = end + 2;
    const size_t colon = header.find(':');
    if (colon == std::string_view::npos) continue;
    const std::string_view name = header.substr(0, colon);
    const std::string_view value = trim(header.substr(colon + 1));
    if (iequals(name, "content-length")) {
      size_t n = 0;
      for (char c : value) {
        if (c < '0' || c > '9' || n > kLinkBodyBytesMax) return Status(Errc::parse_error, "bad Content-Length");
        n = n * 10 + static_cast<size_t>(c - '0');
      }
      if (n > kLinkBodyBytesMax) return Status(Errc::parse_error, "body over " + std::to_string(kLinkBodyBytesMax) + " bytes");
      h.content_length = n;
      h.has_length = true;
    } else if (iequals(name, "x-ezone")) {
      h.served_by = std::string(value);
    } else if (iequals(name, "connection")) {
      h.close = iequals(value, "close");
    } else if (iequals(name, "transfer-encoding")) {
      return Status(Errc::parse_error, "chunked answers are not supported by the load generator's client");
    }
  }
  const bool bodiless = h.status < 200 || h.status == 204 || h.status == 304;
  if (!h.has_length && !bodiless) return Status(Errc::parse_error, "an answer without Content-Length");
  return h;
}

}  // namespace

HttpLink::~HttpLink() { close(); }

void HttpLink::close() {
  if (ssl_ != nullptr) SSL_free(ssl_);
  ssl_ = nullptr;
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

Status HttpLink::connect(int64_t timeout_ms) {
  close();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(peer_.port);
  if (int rc = ::getaddrinfo(peer_.host.c_str(), port.c_str(), &hints, &found); rc != 0 || !found)
    return Status(Errc::unavailable, "cannot resolve " + peer_.to_string() + ": " + ::gai_strerror(rc));
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    ::freeaddrinfo(found);
    return errno_status("socket", errno);
  }
  int rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (rc != 0 && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    rc = ::poll(&p, 1, static_cast<int>(timeout_ms));
    if (rc == 0) {
      ::close(fd);
      return Status(Errc::timeout, "connecting to " + peer_.to_string() + " timed out");
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    rc = err == 0 ? 0 : -1;
    errno = err;
  }
  if (rc != 0) {
    Status s = errno_status("connecting to " + peer_.to_string(), errno);
    ::close(fd);
    return s;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);  // small requests must not wait for Nagle
  timeval tv{static_cast<time_t>(timeout_ms / 1000), static_cast<suseconds_t>((timeout_ms % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  fd_ = fd;
  if (!tls_) return Status::ok();
  Status s = handshake();
  if (!s) close();
  return s;
}

namespace {

// The failure of an OpenSSL call on ssl that returned rc, as a Status:
// timeout when the socket's timeout ran out, else what OpenSSL says.
Status ssl_failure(SSL* ssl, int rc, const std::string& what) {
  const int sys = errno;
  const int err = SSL_get_error(ssl, rc);
  const unsigned long reason = ERR_get_error();
  ERR_clear_error();
  if (err == SSL_ERROR_ZERO_RETURN) return Status(Errc::unavailable, what + ": the server closed the connection");
  const bool timed_out = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE ||
                         (err == SSL_ERROR_SYSCALL && (sys == EAGAIN || sys == EWOULDBLOCK));
  if (timed_out) return Status(Errc::timeout, what + " timed out");
  if (err == SSL_ERROR_SYSCALL && reason == 0)
    return sys == 0 ? Status(Errc::unavailable, what + ": the server closed the connection") : errno_status(what, sys);
  const boost::system::error_code ec(static_cast<int>(reason), boost::asio::error::get_ssl_category());
  return Status(Errc::unavailable, what + ": " + net::tls_error_text(ec, ssl));
}

}  // namespace

// On the connected blocking socket, bounded by its timeouts. OpenSSL writes
// with write(2), which raises SIGPIPE on a connection the server closed: a
// process with TLS links ignores it (the write then fails with EPIPE).
Status HttpLink::handshake() {
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  // The SSL holds its own reference to the context: a reload that replaces
  // it leaves this link's alone.
  ssl_ = SSL_new(tls_->impl().current()->native_handle());
  if (ssl_ == nullptr) return Status(Errc::internal, "SSL_new failed");
  SSL_set_fd(ssl_, fd_);
  net::tls_expect_host(ssl_, peer_.host);
  ERR_clear_error();
  const int rc = SSL_connect(ssl_);
  if (rc == 1) return Status::ok();
  return ssl_failure(ssl_, rc, "TLS handshake with " + peer_.to_string());
}

Status HttpLink::send_all(const std::string& bytes, bool* any_sent) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int n = SSL_write(ssl_, bytes.data() + sent, static_cast<int>(bytes.size() - sent));
      if (n <= 0) return ssl_failure(ssl_, n, "sending to " + peer_.to_string());
      sent += static_cast<size_t>(n);
      *any_sent = true;
      continue;
    }
    const ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return Status(Errc::timeout, "sending to " + peer_.to_string() + " timed out");
    if (n < 0) return errno_status("sending to " + peer_.to_string(), errno);
    sent += static_cast<size_t>(n);
    *any_sent = true;
  }
  return Status::ok();
}

Status HttpLink::fill(int64_t deadline_ms) {
  char chunk[16384];
  while (true) {
    if (ssl_ != nullptr) {
      ERR_clear_error();
      const int n = SSL_read(ssl_, chunk, sizeof chunk);
      if (n > 0) {
        buffer_.append(chunk, static_cast<size_t>(n));
        return Status::ok();
      }
      Status s = ssl_failure(ssl_, n, "reading from " + peer_.to_string());
      if (s.code() != Errc::timeout || now_ms() >= deadline_ms) return s;
      continue;
    }
    const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
    if (n > 0) {
      buffer_.append(chunk, static_cast<size_t>(n));
      return Status::ok();
    }
    if (n == 0) return Status(Errc::unavailable, peer_.to_string() + " closed the connection");
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return errno_status("reading from " + peer_.to_string(), errno);
    if (now_ms() >= deadline_ms) return Status(Errc::timeout, "waiting for " + peer_.to_string() + " timed out");
  }
}

Result<LinkResponse> HttpLink::read_response(int64_t timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  size_t head_end = std::string::npos;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (buffer_.size() > kLinkHeaderBytesMax) return Status(Errc::parse_error, "answer header over the bound");
    if (Status s = fill(deadline); !s) return s;
  }
  auto head = parse_head(std::string_view(buffer_).substr(0, head_end));
  if (!head) return head.status();
  const size_t body_at = head_end + 4;
  while (buffer_.size() < body_at + head->content_length) {
    if (Status s = fill(deadline); !s) return s;
  }
  LinkResponse out{head->status, std::move(head->served_by), buffer_.substr(body_at, head->content_length)};
  buffer_.erase(0, body_at + head->content_length);
  if (head->close) close();
  return out;
}

Result<LinkResponse> HttpLink::request(std::string_view method, std::string_view target, std::string_view body,
                                       int64_t timeout_ms, bool* maybe_sent, std::string_view traceparent) {
  *maybe_sent = false;
  const int64_t now = now_ms();
  if (fd_ >= 0 && now - last_used_ms_ > kIdleCheckMs) {
    // Anything readable on an idle link (EOF, stray bytes) means the server
    // is done with it.
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 0) != 0) close();
  }
  last_used_ms_ = now;
  if (fd_ < 0) {
    if (Status s = connect(timeout_ms); !s) return s;
  }
  out_.clear();
  out_.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(peer_.to_string());
  if (!body.empty()) out_.append("\r\nContent-Type: application/json");
  if (!traceparent.empty()) out_.append("\r\ntraceparent: ").append(traceparent);
  out_.append("\r\nContent-Length: ").append(std::to_string(body.size())).append("\r\n\r\n").append(body);
  Status sent = send_all(out_, maybe_sent);
  if (!sent) {
    close();
    return sent;
  }
  auto response = read_response(timeout_ms);
  if (!response) close();  // it may hold half an answer
  return response;
}

}  // namespace ezone::loadgen
