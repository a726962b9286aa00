#include "actors/http/http_session.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <exception>
#include <optional>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "actors/http/lean_read.hpp"
#include "storage/net/tls_impl.hpp"

namespace ezone::http_detail {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

// Bytes asked of the socket per read while waiting for a request.
constexpr size_t kReadChunkBytes = 8192;
// Bytes a streamed response may queue for a client that reads slowly; past
// this the client is disconnected (ezone_http_stream_overflows_total).
constexpr size_t kStreamBufferBytesMax = 1 << 20;
// After an error answer the server reads and discards what the client still
// sends for this long before closing, so the answer is not lost to a TCP
// reset caused by unread data (nginx's lingering close).
constexpr int64_t kLingerMs = 1000;
// How long a keep-alive connection waits for the next request before one
// peek checks whether the client has half-closed it (read_next).
constexpr int64_t kIdleProbeMs = 1000;

bool has_crlf(const std::string& s) { return s.find_first_of("\r\n") != std::string::npos; }

bool is_framing_header(const std::string& name) {
  return header_name_equal(name, "content-length") || header_name_equal(name, "transfer-encoding") ||
         header_name_equal(name, "connection") || header_name_equal(name, "content-type");
}

// 1xx, 204 and 304 responses carry no body and no Content-Length.
bool status_has_body(int status) { return status >= 200 && status != 204 && status != 304; }

void append_header(std::string& out, std::string_view name, std::string_view value) {
  out.append(name).append(": ").append(value).append("\r\n");
}

// The status line and headers of a response. Handler headers never
// override the framing, which this server owns. The answer to a HEAD gives
// the Content-Length a GET would have had when the handler knows it
// (HttpResponse::head_content_length), else its body's size.
void serialize_head(const HttpResponse& r, const ServerCore& core, bool keep_alive, bool head_request,
                    std::string& out) {
  out.clear();
  auto reason = http::obsolete_reason(static_cast<http::status>(r.status));
  out.append("HTTP/1.1 ").append(std::to_string(r.status)).append(" ").append(reason.data(), reason.size()).append("\r\n");
  if (!r.content_type.empty() && !has_crlf(r.content_type)) append_header(out, "Content-Type", r.content_type);
  if (status_has_body(r.status) && !r.stream) {
    const uint64_t length = head_request && r.head_content_length ? *r.head_content_length : r.body.size();
    append_header(out, "Content-Length", std::to_string(length));
  }
  if (r.stream) append_header(out, "Cache-Control", "no-cache");
  if (!core.options.ezone.empty() && !r.find_header("x-ezone")) append_header(out, "X-Ezone", core.options.ezone);
  if (core.options.epoch && !r.find_header("x-ezone-epoch"))
    append_header(out, "X-Ezone-Epoch", std::to_string(core.options.epoch()));
  for (const auto& [name, value] : r.headers)
    if (!name.empty() && !is_framing_header(name) && !has_crlf(name) && !has_crlf(value))
      append_header(out, name, value);
  if (!keep_alive) append_header(out, "Connection", "close");
  out.append("\r\n");
}

HttpRequest to_request(http::request<http::string_body>& msg) {
  HttpRequest in;
  in.method.assign(msg.method_string().data(), msg.method_string().size());
  in.target.assign(msg.target().data(), msg.target().size());
  in.headers.reserve(static_cast<size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& field : msg) {
    std::string name(field.name_string());
    for (auto& c : name)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    in.headers.emplace_back(std::move(name), std::string(field.value()));
  }
  in.body = std::move(msg.body());
  return in;
}

// What a session's answer channel needs of it, whatever its transport.
class Answerable {
 public:
  virtual ~Answerable() = default;
  // Lane only.
  virtual void write_response(HttpResponse&& r) = 0;
};

// The answer channel of one request on one session.
class SessionSink final : public ResponseSink {
 public:
  SessionSink(std::shared_ptr<Answerable> session, ServerCore& core, IoLane& lane)
      : session_(std::move(session)), core_(core), lane_(lane) {}
  ~SessionSink() override;
  void deliver(HttpResponse&& response) override;

 private:
  std::shared_ptr<Answerable> session_;
  ServerCore& core_;
  IoLane& lane_;
};

// The bytes under a session: plain TCP, with the request path's shortcuts
// (lean reads, writes completed inline)...
class PlainIo {
 public:
  PlainIo(LaneSocket socket, const ServerCore&) : socket_(std::move(socket)) {}
  LaneSocket& tcp() { return socket_; }
  template <class Buffers, class Handler>
  void write_now(Buffers buffers, Handler&& done) {
    write_now_or_async(socket_, buffers, std::forward<Handler>(done));
  }
  template <class Buffer, class Handler>
  void write(Buffer buffer, Handler&& done) {
    asio::async_write(socket_, buffer, std::forward<Handler>(done));
  }
  template <class Handler>
  void read_some(asio::mutable_buffer buffer, ReadFor read_for, Handler&& done) {
    lean_read_some(socket_, buffer, read_for, std::forward<Handler>(done));
  }

 private:
  LaneSocket socket_;
};

// ...or TLS over it (HttpServerOptions::tls), whose records need the
// stream's own reads and writes.
class TlsIo {
 public:
  // The context current when the connection came (a reload applies to the
  // next ones).
  TlsIo(LaneSocket socket, const ServerCore& core)
      : context_(core.options.tls->impl().current()), stream_(std::move(socket), *context_) {}
  LaneSocket& tcp() { return stream_.next_layer(); }
  asio::ssl::stream<LaneSocket>& stream() { return stream_; }
  template <class Buffers, class Handler>
  void write_now(Buffers buffers, Handler&& done) {
    asio::async_write(stream_, buffers, std::forward<Handler>(done));
  }
  template <class Buffer, class Handler>
  void write(Buffer buffer, Handler&& done) {
    asio::async_write(stream_, buffer, std::forward<Handler>(done));
  }
  template <class Handler>
  void read_some(asio::mutable_buffer buffer, ReadFor, Handler&& done) {
    stream_.async_read_some(buffer, std::forward<Handler>(done));
  }

 private:
  std::shared_ptr<asio::ssl::context> context_;  // outlives stream_
  asio::ssl::stream<LaneSocket> stream_;
};

template <class Io>
class Session : public Answerable, public Deadline, public std::enable_shared_from_this<Session<Io>> {
  using std::enable_shared_from_this<Session<Io>>::shared_from_this;

 public:
  Session(LaneSocket socket, std::shared_ptr<ServerCore> core, IoLane& lane)
      : io_(std::move(socket), *core), core_(std::move(core)), lane_(lane) {
    ++core_->open;
    core_->counters.open_connections->add(1);
  }
  ~Session() override {
    --core_->open;
    core_->counters.open_connections->add(-1);
  }

  // Runs on the session's lane, as does everything below.
  void start() {
    lane_.watch(shared_from_this());
    if constexpr (std::is_same_v<Io, TlsIo>) return handshake();
    read_next();
  }

  // Answers once and closes: used when the connection limit is reached.
  // (Over TLS the answer needs a handshake first; the client then sees
  // the connection closed instead.)
  void reject_busy() {
    lane_.watch(shared_from_this());
    core_->counters.rejected_connections->inc();
    if constexpr (std::is_same_v<Io, TlsIo>) return close();
    HttpResponse r = HttpResponse::error(503, "too many connections");
    r.headers.emplace_back("Retry-After", "1");
    write_error(std::move(r));
  }

  void write_response(HttpResponse&& r) override {
    if (r.status < 100 || r.status > 999) r = HttpResponse::error(500, "handler gave an invalid status");
    // A HEAD gets the headers only: its stream never starts (a stream must
    // cope with that, as when the client goes before it begins).
    if (r.stream && head_request_) r.stream.reset();
    if (r.stream) return start_stream(std::move(r));
    serialize_head(r, *core_, keep_alive_, head_request_, head_);
    body_ = status_has_body(r.status) && !head_request_ ? std::move(r.body) : std::string();
    std::array<asio::const_buffer, 2> buffers{asio::buffer(head_), asio::buffer(body_)};
    enter(Phase::writing, steady_now_ms() + core_->options.request_timeout_ms);
    io_.write_now(buffers, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->close();
      if (!self->keep_alive_) return self->linger();
      // A pipelined request is already buffered: take it from the event
      // loop, so a long pipeline cannot deepen the stack (the write above
      // may have completed inline, inside the previous request's dispatch).
      if (self->buffer_.size() > 0) return asio::post(self->lane_.io, [self] { self->read_next(); });
      self->read_next();
    });
  }

  // ---- streamed responses (see ResponseStream) ----

  void start_stream(HttpResponse&& r) {
    keep_alive_ = false;
    serialize_head(r, *core_, keep_alive_, false, head_);
    enter(Phase::streaming, 0);  // no deadline: the stream lives until either side ends it
    auto stream = std::move(r.stream);
    io_.write(asio::buffer(head_), [self = shared_from_this(), stream](beast::error_code ec, size_t) {
      if (ec) return self->close();
      self->stream_writer_ = std::make_shared<Writer>(self);
      self->watch_client();
      stream->start(self->stream_writer_);
    });
  }

  // A read that only notices the client closing (or sending garbage).
  void watch_client() {
    buffer_.clear();
    io_.read_some(buffer_.prepare(kReadChunkBytes), ReadFor::rest, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->end_stream();
      self->watch_client();
    });
  }

  void stream_push(std::string bytes) {
    if (stream_closed_) return;
    stream_bytes_ += bytes.size();
    if (stream_bytes_ > kStreamBufferBytesMax) {
      core_->counters.stream_overflows->inc();
      return end_stream();
    }
    stream_queue_.push_back(std::move(bytes));
    if (!stream_writing_) stream_flush();
  }

  void stream_flush() {
    if (stream_queue_.empty()) {
      stream_writing_ = false;
      if (stream_closing_) end_stream();
      return;
    }
    stream_writing_ = true;
    io_.write(asio::buffer(stream_queue_.front()), [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->stream_writing_ = false;
      // The stream may have ended while this write was in flight (the
      // client closed, or fell too far behind): its queue is then gone,
      // whatever ec says. (Regression: popping it anyway was a double free.)
      if (ec || self->stream_closed_) return self->end_stream();
      self->stream_bytes_ -= n;
      self->stream_queue_.pop_front();
      self->stream_flush();
    });
  }

  void stream_close_request() {
    stream_closing_ = true;
    if (!stream_writing_) end_stream();
  }

  void end_stream() {
    if (stream_closed_) return;
    stream_closed_ = true;
    if (stream_writer_) stream_writer_->mark_closed();
    stream_writer_.reset();
    // A write in flight still points at the front entry: keep it until that
    // write completes (close() below makes it complete at once).
    while (stream_queue_.size() > (stream_writing_ ? 1u : 0u)) stream_queue_.pop_back();
    close();
  }

  // The StreamWriter of one session: hops every call onto the session's lane.
  class Writer final : public StreamWriter {
   public:
    explicit Writer(const std::shared_ptr<Session>& session) : session_(session), io_(session->lane_.io) {}
    bool write(std::string bytes) override {
      if (closed_.load()) return false;
      asio::post(io_, [w = session_, b = std::move(bytes)]() mutable {
        if (auto s = w.lock()) s->stream_push(std::move(b));
      });
      return true;
    }
    void close() override {
      if (closed_.exchange(true)) return;
      asio::post(io_, [w = session_] {
        if (auto s = w.lock()) s->stream_close_request();
      });
    }
    bool closed() const override { return closed_.load(); }
    void mark_closed() { closed_ = true; }

   private:
    std::weak_ptr<Session> session_;
    asio::io_context& io_;
    std::atomic<bool> closed_{false};
  };

  void on_deadline() override {
    if (phase_ == Phase::idle && idle_ends_ms_ > steady_now_ms()) {
      // The idle probe (see read_next): a client that half-closed is gone.
      if (peek(io_.tcp().native_handle()) == Peek::closed) return close();
      return deadline_at(idle_ends_ms_);
    }
    if (phase_ == Phase::idle) core_->counters.idle_closed->inc();
    if (phase_ == Phase::handshake) core_->counters.tls_handshake_failures->inc();
    if (phase_ == Phase::reading) {
      // Cancel only: the read fails and the slow client still gets its 408.
      timed_out_ = true;
      beast::error_code ignored;
      io_.tcp().cancel(ignored);
      return;
    }
    close();
  }

 private:
  // What the connection waits for, which decides what its deadline means.
  enum class Phase { handshake, idle, reading, handling, writing, lingering, streaming };

  // TLS only: the handshake, bounded by the request timeout.
  void handshake() {
    enter(Phase::handshake, steady_now_ms() + core_->options.request_timeout_ms);
    io_.stream().async_handshake(asio::ssl::stream_base::server, [self = shared_from_this()](beast::error_code ec) {
      if (!ec) return self->read_next();
      // A deadline already counted it (on_deadline) and closed the socket.
      if (self->phase_ == Phase::handshake && self->deadline_ms() != 0) {
        self->core_->counters.tls_handshake_failures->inc();
        self->close();
      }
    });
  }

  void enter(Phase phase, int64_t deadline_ms) {
    phase_ = phase;
    deadline_at(deadline_ms);
  }

  void read_next() {
    parser_.emplace();
    parser_->body_limit(static_cast<uint64_t>(core_->options.body_bytes_max));
    parser_->header_limit(static_cast<uint32_t>(core_->options.header_bytes_max));
    if (buffer_.size() > 0) return begin_request();  // pipelined bytes already here
    // Started right after the previous answer, before the client can have
    // sent the next request: lean_read_some skips the recv bound to fail.
    // That read misses an end of stream that came with the last request
    // (a client that half-closed after it), so one probe after
    // kIdleProbeMs looks for it instead of the idle timeout.
    int64_t now = steady_now_ms();
    idle_ends_ms_ = now + core_->options.idle_timeout_ms;
    enter(Phase::idle, std::min(idle_ends_ms_, now + kIdleProbeMs));
    io_.read_some(buffer_.prepare(kReadChunkBytes), ReadFor::answer, [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->on_first_bytes(ec, n);
    });
  }

  void on_first_bytes(beast::error_code ec, size_t n) {
    if (ec) return close();
    buffer_.commit(n);
    begin_request();
  }

  // The request deadline runs from the first byte, not from the idle wait.
  void begin_request() {
    timed_out_ = false;
    request_deadline_ms_ = steady_now_ms() + core_->options.request_timeout_ms;
    parse_buffered();
  }

  // Parses what is already buffered without a trip through the event
  // loop; reads the rest only when the request is incomplete.
  void parse_buffered() {
    beast::error_code ec;
    while (buffer_.size() > 0 && !parser_->is_done()) {
      size_t used = parser_->put(buffer_.data(), ec);
      buffer_.consume(used);
      if (ec == http::error::need_more) break;
      if (ec) return fail_request(ec);
      if (used == 0) break;  // the parser wants more than what is buffered
    }
    if (parser_->is_done()) return dispatch();
    enter(Phase::reading, request_deadline_ms_);
    io_.read_some(buffer_.prepare(kReadChunkBytes), ReadFor::rest,
                   [self = shared_from_this()](beast::error_code e, size_t n) {
                     if (e) return self->fail_request(self->timed_out_ ? beast::error::timeout : e);
                     self->buffer_.commit(n);
                     self->parse_buffered();
                   });
  }

  void fail_request(beast::error_code ec) {
    auto& c = core_->counters;
    if (ec == beast::error::timeout) {
      c.request_timeouts->inc();
      return write_error(HttpResponse::error(408, "request not received within " +
                                                      std::to_string(core_->options.request_timeout_ms) + " ms"));
    }
    if (ec == http::error::end_of_stream || ec == http::error::partial_message || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      c.truncated->inc();
      return close();
    }
    if (ec == http::error::header_limit) {
      c.header_too_large->inc();
      return write_error(HttpResponse::error(431, "request header over " +
                                                      std::to_string(core_->options.header_bytes_max) + " bytes"));
    }
    if (ec == http::error::body_limit) {
      c.body_too_large->inc();
      return write_error(HttpResponse::error(413, "request body over " +
                                                      std::to_string(core_->options.body_bytes_max) + " bytes"));
    }
    c.bad_requests->inc();
    write_error(HttpResponse::error(400, "malformed request: " + ec.message()));
  }

  void write_error(HttpResponse r) {
    keep_alive_ = false;
    head_request_ = false;
    write_response(std::move(r));
  }

  void dispatch();

  // Half-closes and drains what the client still sends, within kLingerMs.
  void linger() {
    beast::error_code ignored;
    io_.tcp().shutdown(tcp::socket::shutdown_send, ignored);
    enter(Phase::lingering, steady_now_ms() + kLingerMs);
    drain();
  }

  void drain() {
    buffer_.clear();
    io_.read_some(buffer_.prepare(kReadChunkBytes), ReadFor::rest, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->drain();  // the lingering deadline bounds the loop
    });
  }


  void close() {
    clear_deadline();
    beast::error_code ignored;
    io_.tcp().shutdown(tcp::socket::shutdown_both, ignored);
    io_.tcp().close(ignored);
  }

  Io io_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<ServerCore> core_;
  IoLane& lane_;
  Phase phase_ = Phase::idle;
  int64_t request_deadline_ms_ = 0;
  int64_t idle_ends_ms_ = 0;  // when the current idle wait times out
  bool timed_out_ = false;  // the request deadline cancelled the read
  bool keep_alive_ = true;
  bool head_request_ = false;
  std::string head_;  // reused for every response on this connection
  std::string body_;
  // A streamed response (lane only).
  std::shared_ptr<Writer> stream_writer_;
  std::deque<std::string> stream_queue_;
  size_t stream_bytes_ = 0;
  bool stream_writing_ = false;
  bool stream_closing_ = false;
  bool stream_closed_ = false;
};

template <class Io>
void Session<Io>::dispatch() {
  // No deadline while the handler works: handlers bound their own time
  // (the router's forwarder and holds have limits of their own).
  enter(Phase::handling, 0);
  core_->counters.requests->inc();
  auto& msg = parser_->get();
  keep_alive_ = msg.keep_alive();
  head_request_ = msg.method() == http::verb::head;
  HttpResponder respond(std::make_shared<SessionSink>(shared_from_this(), *core_, lane_));
  try {
    core_->handler(to_request(msg), respond);
  } catch (const std::exception& e) {
    // Ignored if the handler answered before throwing. Counted before the
    // answer leaves, so whoever sees the 500 also sees the count.
    if (respond.answered()) return;
    core_->counters.handler_errors->inc();
    respond(HttpResponse::error(500, std::string("handler failed: ") + e.what()));
  }
}

SessionSink::~SessionSink() {
  if (!claim()) return;
  core_.counters.handler_errors->inc();
  deliver(HttpResponse::error(500, "request dropped by its handler"));
}

void SessionSink::deliver(HttpResponse&& response) {
  // After stop the lanes no longer run; queued work would never execute.
  if (!core_.accepting_responses()) return;
  if (core_.pool->current() == &lane_) return session_->write_response(std::move(response));
  asio::post(lane_.io, [s = session_, r = std::move(response)]() mutable { s->write_response(std::move(r)); });
}

}  // namespace

ServerCounters make_server_counters(Metrics& metrics, const std::string& name) {
  MetricLabels s{{"server", name}};
  MetricLabels header{{"server", name}, {"part", "header"}};
  MetricLabels body{{"server", name}, {"part", "body"}};
  ServerCounters c{};
  c.requests = &metrics.counter("ezone_http_requests_total", "HTTP requests served", s);
  c.bad_requests = &metrics.counter("ezone_http_bad_requests_total", "Malformed HTTP requests rejected (400)", s);
  const char* large_help = "HTTP requests over the header (431) or body (413) limit";
  c.header_too_large = &metrics.counter("ezone_http_too_large_total", large_help, header);
  c.body_too_large = &metrics.counter("ezone_http_too_large_total", large_help, body);
  c.request_timeouts = &metrics.counter("ezone_http_request_timeouts_total",
                                        "Requests not received within the request timeout (408)", s);
  c.tls_handshake_failures = &metrics.counter("ezone_http_tls_handshake_failures_total",
                                              "TLS connections closed because their handshake failed or timed out", s);
  c.stream_overflows = &metrics.counter("ezone_http_stream_overflows_total",
                                        "Streamed responses cut off because the client read too slowly", s);
  c.truncated = &metrics.counter("ezone_http_truncated_requests_total",
                                 "Connections closed by the client in the middle of a request", s);
  c.idle_closed = &metrics.counter("ezone_http_idle_closed_total",
                                   "Keep-alive connections closed after the idle timeout", s);
  c.handler_errors = &metrics.counter("ezone_http_handler_errors_total",
                                      "Requests whose handler threw or dropped them (500)", s);
  c.rejected_connections = &metrics.counter("ezone_http_rejected_connections_total",
                                            "Connections refused at the limit (503)", s);
  c.accept_errors = &metrics.counter("ezone_http_accept_errors_total",
                                     "Failed accepts (e.g. out of file descriptors); accepting pauses briefly", s);
  c.open_connections = &metrics.gauge("ezone_http_open_connections", "Open HTTP connections", s);
  return c;
}

void start_session(LaneSocket socket, const std::shared_ptr<ServerCore>& core, IoLane& lane) {
  beast::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  socket.non_blocking(true, ignored);  // for write_now_or_async
  set_cloexec(socket.native_handle());
  bool busy = core->open.load() >= core->options.connections_max;
  auto begin = [&lane, busy](auto session) {
    asio::post(lane.io, [session, busy] { busy ? session->reject_busy() : session->start(); });
  };
  if (core->options.tls) return begin(std::make_shared<Session<TlsIo>>(std::move(socket), core, lane));
  begin(std::make_shared<Session<PlainIo>>(std::move(socket), core, lane));
}

}  // namespace ezone::http_detail
