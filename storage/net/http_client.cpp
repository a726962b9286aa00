#include "storage/net/http_client.hpp"

#include <poll.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "core/shared_token.hpp"
#include "storage/net/tls_impl.hpp"

namespace ezone::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Steady = std::chrono::steady_clock;
using ErrorCode = boost::system::error_code;

// Cancellation is noticed between slices of io_context::run_for, so this is
// the worst-case delay of a cancel.
constexpr auto kPollSlice = std::chrono::milliseconds(20);
constexpr size_t kReadBufferBytes = 64 << 10;
// How much of an error body a streaming call quotes back.
constexpr size_t kErrorBodyBytesMax = 4096;

enum class Wait { done, deadline, cancelled };

// One socket and the io_context that drives it. Every asynchronous operation
// is started and then driven by run_until on the caller's thread, so the
// blocking API stays bounded without helper threads. With a TLS context the
// connection is a TLS one: the handshake is part of connecting.
class Session {
 public:
  // Beast reads as much as the buffer's free capacity, at least 512 bytes:
  // without room reserved, a 4 MiB response took 8,000 reads (75 ms on
  // loopback, 13x curl).
  Session(HostPort to, TlsContextPtr tls) : to_(std::move(to)), tls_(std::move(tls)) {
    buffer_.reserve(kReadBufferBytes);
  }

  const HostPort& to() const { return to_; }
  bool is_open() const { return socket_.is_open(); }
  bool idle_connection_usable();
  void close();

  // cancel may be null; *wait (if given) tells whether the step was cut short.
  Status connect(Steady::time_point deadline, const std::atomic<bool>* cancel = nullptr,
                 Wait* wait = nullptr);
  Status write(const http::request<http::string_body>& request, Steady::time_point deadline,
               const std::atomic<bool>* cancel = nullptr, Wait* wait = nullptr);
  template <class Parser>
  Status read_header(Parser& parser, Steady::time_point deadline, const std::atomic<bool>* cancel,
                     Wait* wait);
  template <class Parser>
  Status read(Parser& parser, Steady::time_point deadline);
  Status read_some(http::response_parser<http::buffer_body>& parser,
                   Steady::time_point deadline, const std::atomic<bool>* cancel, Wait* wait);

  Status failure(const char* step, const ErrorCode& ec) const;
  Status deadline_status(const char* step) const;

 private:
  Wait run_until(const bool& done, Steady::time_point deadline, const std::atomic<bool>* cancel);
  Result<std::vector<tcp::endpoint>> resolve();
  Status handshake(Steady::time_point deadline, const std::atomic<bool>* cancel, Wait* wait);

  // Runs op on the TLS stream when there is one, else on the socket.
  template <class Op>
  void with_stream(Op&& op) {
    if (tls_stream_) op(*tls_stream_);
    else op(socket_);
  }

  HostPort to_;
  TlsContextPtr tls_;
  asio::io_context ioc_;
  tcp::socket socket_{ioc_};
  std::shared_ptr<asio::ssl::context> tls_context_;  // the one tls_stream_ was made with
  std::optional<asio::ssl::stream<tcp::socket&>> tls_stream_;  // over socket_, while connected
  beast::flat_buffer buffer_;
};

Wait Session::run_until(const bool& done, Steady::time_point deadline,
                        const std::atomic<bool>* cancel) {
  Wait result = Wait::done;
  while (!done) {
    auto now = Steady::now();
    if (cancel != nullptr && cancel->load()) result = Wait::cancelled;
    else if (now >= deadline) result = Wait::deadline;
    if (result != Wait::done) break;
    auto slice = std::min<Steady::duration>(deadline - now, kPollSlice);
    ioc_.restart();
    ioc_.run_for(slice);
  }
  if (result == Wait::done) return result;
  // Closing makes the pending operation complete with operation_aborted; run
  // it so no handler outlives the variables it writes to.
  close();
  ioc_.restart();
  while (!done && ioc_.run_one() > 0) {
  }
  return result;
}

void Session::close() {
  ErrorCode ignored;
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  // tls_stream_ stays: an operation run_until aborts still uses it. The
  // next connect replaces it.
  buffer_.consume(buffer_.size());
}

// A server may close a keep-alive connection while it sits idle. Anything
// readable on an idle connection (EOF, or bytes nobody asked for) means it
// cannot carry another request.
bool Session::idle_connection_usable() {
  if (!socket_.is_open()) return false;
  pollfd fd{socket_.native_handle(), POLLIN, 0};
  int ready = ::poll(&fd, 1, 0);
  return ready == 0;
}

Result<std::vector<tcp::endpoint>> Session::resolve() {
  ErrorCode ec;
  auto address = asio::ip::make_address(to_.host, ec);
  if (!ec) return std::vector<tcp::endpoint>{tcp::endpoint(address, to_.port)};
  // Names (e.g. "localhost") go through the system resolver synchronously;
  // control-plane addresses are literals or /etc/hosts names, so this does
  // not wait on DNS in practice.
  tcp::resolver resolver(ioc_);
  auto results = resolver.resolve(to_.host, std::to_string(to_.port), ec);
  if (ec) return Status(Errc::unavailable, "cannot resolve " + to_.to_string() + ": " + ec.message());
  std::vector<tcp::endpoint> out;
  for (const auto& entry : results) out.push_back(entry.endpoint());
  return out;
}

Status Session::connect(Steady::time_point deadline, const std::atomic<bool>* cancel,
                        Wait* wait) {
  Wait local = Wait::done;
  if (wait == nullptr) wait = &local;
  close();
  auto endpoints = resolve();
  if (!endpoints.ok()) return endpoints.status();
  bool done = false;
  ErrorCode result;
  asio::async_connect(socket_, *endpoints, [&](const ErrorCode& ec, const tcp::endpoint&) {
    result = ec;
    done = true;
  });
  *wait = run_until(done, deadline, cancel);
  if (*wait == Wait::deadline) return deadline_status("connecting");
  if (*wait == Wait::cancelled) return Status::ok();
  if (result) return failure("connecting", result);
  ErrorCode ignored;
  socket_.set_option(tcp::no_delay(true), ignored);  // small requests must not wait for Nagle
  return tls_ ? handshake(deadline, cancel, wait) : Status::ok();
}

// Checks the server's certificate against the CA and the dialled host (a
// DNS name, also sent as SNI, or an IP address).
Status Session::handshake(Steady::time_point deadline, const std::atomic<bool>* cancel, Wait* wait) {
  tls_stream_.reset();  // before the context it was made with may go
  tls_context_ = tls_->impl().current();  // a reload applies from the next connection
  tls_stream_.emplace(socket_, *tls_context_);
  tls_expect_host(tls_stream_->native_handle(), to_.host);
  bool done = false;
  ErrorCode result;
  tls_stream_->async_handshake(asio::ssl::stream_base::client, [&](const ErrorCode& e) {
    result = e;
    done = true;
  });
  *wait = run_until(done, deadline, cancel);
  if (*wait == Wait::deadline) return deadline_status("the TLS handshake with");
  if (*wait == Wait::cancelled) return Status::ok();
  if (result) {
    // The verify result, from the stream's SSL, before the socket goes.
    std::string why = tls_error_text(result, tls_stream_->native_handle());
    close();
    return Status(Errc::unavailable, "TLS handshake with " + to_.to_string() + " failed: " + why);
  }
  return Status::ok();
}

Status Session::write(const http::request<http::string_body>& request,
                      Steady::time_point deadline, const std::atomic<bool>* cancel,
                      Wait* wait) {
  Wait local = Wait::done;
  if (wait == nullptr) wait = &local;
  bool done = false;
  ErrorCode result;
  with_stream([&](auto& stream) {
    http::async_write(stream, request, [&](const ErrorCode& ec, size_t) {
      result = ec;
      done = true;
    });
  });
  *wait = run_until(done, deadline, cancel);
  if (*wait == Wait::deadline) return deadline_status("sending");
  if (*wait == Wait::cancelled) return Status::ok();
  if (result) return failure("sending", result);
  return Status::ok();
}

template <class Parser>
Status Session::read_header(Parser& parser, Steady::time_point deadline,
                            const std::atomic<bool>* cancel, Wait* wait) {
  bool done = false;
  ErrorCode result;
  with_stream([&](auto& stream) {
    http::async_read_header(stream, buffer_, parser, [&](const ErrorCode& ec, size_t) {
      result = ec;
      done = true;
    });
  });
  *wait = run_until(done, deadline, cancel);
  if (*wait == Wait::deadline) return deadline_status("waiting for the response");
  if (*wait == Wait::cancelled) return Status::ok();
  if (result) return failure("reading the response", result);
  return Status::ok();
}

template <class Parser>
Status Session::read(Parser& parser, Steady::time_point deadline) {
  bool done = false;
  ErrorCode result;
  with_stream([&](auto& stream) {
    http::async_read(stream, buffer_, parser, [&](const ErrorCode& ec, size_t) {
      result = ec;
      done = true;
    });
  });
  if (run_until(done, deadline, nullptr) == Wait::deadline)
    return deadline_status("reading the response");
  if (result) return failure("reading the response", result);
  return Status::ok();
}

// Reads whatever arrives next into the parser's body buffer.
Status Session::read_some(http::response_parser<http::buffer_body>& parser,
                          Steady::time_point deadline, const std::atomic<bool>* cancel,
                          Wait* wait) {
  bool done = false;
  ErrorCode result;
  with_stream([&](auto& stream) {
    http::async_read_some(stream, buffer_, parser, [&](const ErrorCode& ec, size_t) {
      result = ec;
      done = true;
    });
  });
  *wait = run_until(done, deadline, cancel);
  if (*wait != Wait::done || result == http::error::need_buffer) return Status::ok();
  if (result) return failure("reading the stream", result);
  return Status::ok();
}

Status Session::failure(const char* step, const ErrorCode& ec) const {
  std::string where = std::string(step) + " " + to_.to_string() + ": ";
  if (ec == asio::error::connection_refused)
    return Status(Errc::unavailable, where + "connection refused (is the server running?)");
  if (ec == http::error::end_of_stream || ec == asio::error::eof ||
      ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
      ec == http::error::partial_message || ec == asio::ssl::error::stream_truncated)
    return Status(Errc::unavailable, where + "the server closed the connection");
  if (ec == asio::error::host_unreachable || ec == asio::error::network_unreachable ||
      ec == asio::error::connection_aborted)
    return Status(Errc::unavailable, where + ec.message());
  if (ec.category() == http::make_error_code(http::error::bad_version).category())
    return Status(Errc::parse_error, where + "malformed HTTP response: " + ec.message());
  if (ec.category() == asio::error::get_ssl_category()) {
    // In TLS 1.3 the server checks the client's certificate after the
    // client's side of the handshake is done, so its refusal arrives here.
    const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
    const bool refused_us = reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE ||
                            reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
                            reason == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN || reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA;
    return Status(Errc::io_error, where + "TLS: " + tls_error_text(ec, nullptr) +
                                      (refused_us ? " (the server refused this client's certificate, or wants one)" : ""));
  }
  return Status(Errc::io_error, where + ec.message());
}

Status Session::deadline_status(const char* step) const {
  return Status(Errc::timeout, std::string(step) + " " + to_.to_string() + " timed out");
}

http::request<http::string_body> make_request(const HostPort& to, const HttpRequest& request,
                                              bool keep_alive) {
  http::request<http::string_body> out;
  out.method_string(request.method);
  out.target(request.target);
  out.version(11);
  out.set(http::field::host, to.to_string());
  out.set(http::field::user_agent, "ezone");
  if (!request.content_type.empty()) out.set(http::field::content_type, request.content_type);
  for (const auto& [name, value] : request.headers) out.set(name, value);
  out.body() = request.body;
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

Status check_args(const HttpRequest& request, int64_t timeout_ms) {
  if (timeout_ms <= 0) return Status(Errc::invalid_argument, "HTTP timeout must be > 0 ms");
  if (request.method.empty() || request.target.empty() || request.target.front() != '/')
    return Status(Errc::invalid_argument,
                  "HTTP request needs a method and a target starting with '/'");
  return Status::ok();
}

Steady::time_point deadline_after(int64_t timeout_ms) {
  return Steady::now() + std::chrono::milliseconds(timeout_ms);
}

Status prefix_error(const HttpRequest& request, const Status& status) {
  return Status(status.code(), request.method + " " + request.target + ": " + status.message());
}

}  // namespace

struct HttpConnection::Impl {
  Impl(HostPort to, TlsContextPtr tls) : session(std::move(to), std::move(tls)) {}
  Result<HttpResponse> exchange(const HttpRequest& request, Steady::time_point deadline,
                                bool* maybe_sent);
  Session session;
};

Result<HttpResponse> HttpConnection::Impl::exchange(const HttpRequest& request,
                                                    Steady::time_point deadline,
                                                    bool* maybe_sent) {
  *maybe_sent = false;
  if (!session.idle_connection_usable()) {
    Status connected = session.connect(deadline);
    if (!connected) return connected;
  }
  Status sent = session.write(make_request(session.to(), request, true), deadline);
  if (!sent) return sent;
  *maybe_sent = true;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kHttpBodyBytesMax);
  Status received = session.read(parser, deadline);
  if (!received) return received;
  const auto& message = parser.get();
  if (!message.keep_alive()) session.close();
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  response.body = message.body();
  response.content_type = std::string(message[http::field::content_type]);
  for (const auto& field : message)
    response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  return response;
}

std::string HttpResponse::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (boost::beast::iequals(k, name)) return v;
  return "";
}

HttpConnection::HttpConnection(HostPort to, TlsContextPtr tls)
    : impl_(std::make_unique<Impl>(std::move(to), std::move(tls))) {}
HttpConnection::~HttpConnection() = default;

const HostPort& HttpConnection::peer() const { return impl_->session.to(); }

Result<HttpResponse> HttpConnection::request(const HttpRequest& request, int64_t timeout_ms,
                                             bool* maybe_sent) {
  bool sent_local = false;
  bool* sent = maybe_sent != nullptr ? maybe_sent : &sent_local;
  *sent = false;
  Status valid = check_args(request, timeout_ms);
  if (!valid) return valid;
  auto response = impl_->exchange(request, deadline_after(timeout_ms), sent);
  if (response.ok()) return response;
  // After any failure the connection may hold half a response; start over.
  impl_->session.close();
  return prefix_error(request, response.status());
}

void add_bearer_token(HttpRequest& request, const std::string& token) {
  if (!token.empty()) request.headers.emplace_back("Authorization", bearer_authorization(token));
}

void add_service_token(HttpRequest& request, const std::string& token) {
  if (!token.empty()) request.headers.emplace_back("X-Ezone-Service-Token", token);
}

Result<HttpResponse> http_request(const HostPort& to, const std::string& method,
                                  const std::string& target, const std::string& body,
                                  const std::string& content_type, int64_t timeout_ms, TlsContextPtr tls) {
  HttpConnection connection(to, std::move(tls));
  HttpRequest request;
  request.method = method;
  request.target = target;
  request.body = body;
  request.content_type = content_type;
  return connection.request(request, timeout_ms);
}

namespace {

using StreamParser = http::response_parser<http::buffer_body>;

// Pumps body pieces into on_piece until the body ends, on_piece declines,
// the cancel flag is set, or the socket fails.
Result<StreamEnd> pump_body(Session& session, StreamParser& parser,
                            const std::atomic<bool>& cancel,
                            const std::function<bool(const std::string&)>& on_piece) {
  char buffer[16384];
  while (!parser.is_done()) {
    parser.get().body().data = buffer;
    parser.get().body().size = sizeof buffer;
    Wait wait = Wait::done;
    // A quiet stream is normal, so only the cancel flag bounds this wait.
    Status read = session.read_some(parser, Steady::time_point::max(), &cancel, &wait);
    if (wait == Wait::cancelled) return StreamEnd::cancelled;
    size_t got = sizeof buffer - parser.get().body().size;
    if (got > 0 && !on_piece(std::string(buffer, got))) return StreamEnd::stopped;
    if (read.code() == Errc::unavailable) return StreamEnd::server_closed;
    if (!read) return read;
  }
  return StreamEnd::server_closed;
}

// Turns a non-2xx streaming response into an error that quotes the start of
// the body, read only until the connect deadline.
Status status_error(Session& session, StreamParser& parser, const HttpRequest& request,
                    Steady::time_point deadline) {
  int code = static_cast<int>(parser.get().result_int());
  char buffer[kErrorBodyBytesMax];
  parser.get().body().data = buffer;
  parser.get().body().size = sizeof buffer;
  while (!parser.is_done() && parser.get().body().size > 0) {
    Wait wait = Wait::done;
    Status read = session.read_some(parser, deadline, nullptr, &wait);
    if (wait != Wait::done || !read) break;
  }
  std::string body(buffer, sizeof buffer - parser.get().body().size);
  Errc errc = code >= 500 ? Errc::unavailable : Errc::invalid_argument;
  return Status(errc, request.method + " " + request.target + " to " +
                          session.to().to_string() + ": HTTP " + std::to_string(code) +
                          (body.empty() ? "" : ": " + body));
}

}  // namespace

Result<StreamEnd> http_stream(const HostPort& to, const HttpRequest& request,
                              int64_t connect_timeout_ms, const std::atomic<bool>& cancel,
                              const std::function<bool(const std::string& piece)>& on_piece,
                              TlsContextPtr tls) {
  Status valid = check_args(request, connect_timeout_ms);
  if (!valid) return valid;
  auto deadline = deadline_after(connect_timeout_ms);
  Session session(to, std::move(tls));
  Wait wait = Wait::done;
  Status step = session.connect(deadline, &cancel, &wait);
  if (step && wait == Wait::done)
    step = session.write(make_request(to, request, false), deadline, &cancel, &wait);
  if (wait == Wait::cancelled) return StreamEnd::cancelled;
  if (!step) return prefix_error(request, step);
  StreamParser parser;
  // A watch stream has no natural end. Not boost::none: Boost 1.74 compares
  // a Content-Length against the empty optional and reports body_limit.
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  step = session.read_header(parser, deadline, &cancel, &wait);
  if (wait == Wait::cancelled) return StreamEnd::cancelled;
  if (!step) return prefix_error(request, step);
  int code = static_cast<int>(parser.get().result_int());
  if (code < 200 || code > 299) return status_error(session, parser, request, deadline);
  auto end = pump_body(session, parser, cancel, on_piece);
  if (!end.ok()) return prefix_error(request, end.status());
  return end;
}

}  // namespace ezone::net
