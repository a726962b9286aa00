#include "actors/http/http_forwarder.hpp"

#include <array>
#include <chrono>
#include <deque>
#include <optional>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "actors/http/io_threads_impl.hpp"
#include "actors/http/lean_read.hpp"
#include "storage/net/tls_impl.hpp"

namespace ezone {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

enum ErrorKind { kQueueFull, kConnectError, kConnectTimeout, kResponseTimeout, kBadResponse, kStopped,
                 kTooManyUpstreams, kErrorKinds };
constexpr const char* kErrorKindNames[kErrorKinds] = {"queue_full",   "connect_error", "connect_timeout",
                                                      "response_timeout", "bad_response", "stopped",
                                                      "too_many_upstreams"};
constexpr int kErrorStatus[kErrorKinds] = {503, 502, 504, 504, 502, 503, 503};
// Bytes asked of the socket per read of a response.
constexpr size_t kReadChunkBytes = 8192;
// An idle connection older than this is checked (one recv peek) before reuse.
constexpr int64_t kPeekAfterIdleMs = 200;

struct Counters {
  Counter* requests;
  Counter* errors[kErrorKinds];
  Counter* opened;
  Counter* retries;
  Gauge* waiting;
};

// What all lanes share; immutable after create() except the atomics.
struct Shared {
  HttpForwarderOptions options;
  Counters counters{};
  IoThreads::Impl* pool = nullptr;
  size_t connections_max_lane = 1;
  size_t waiters_max_lane = 1;
};

bool is_hop_by_hop(std::string_view name) {
  // Expect too: this server never sends 100 Continue, so neither may the
  // upstream be asked to.
  static constexpr std::array<std::string_view, 10> kNames = {
      "connection", "keep-alive", "proxy-connection", "te",      "trailer",
      "transfer-encoding", "upgrade", "content-length", "proxy-authorization", "expect"};
  for (auto n : kNames)
    if (header_name_equal(name, n)) return true;
  return false;
}

bool idempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS";
}

bool has_ctl(const std::string& s) {
  for (char c : s)
    if (c == '\r' || c == '\n' || c == '\0') return true;
  return false;
}

HttpResponse error_answer(Shared& shared, ErrorKind kind, const std::string& message) {
  shared.counters.errors[kind]->inc();
  HttpResponse r = HttpResponse::error(kErrorStatus[kind], message);
  if (kErrorStatus[kind] == 503) r.headers.emplace_back("Retry-After", "1");
  r.headers.emplace_back(kForwardErrorHeader, kErrorKindNames[kind]);
  return r;
}

// The request head as sent upstream: end-to-end headers only, framing by
// Content-Length. The body goes out as a second buffer, uncopied.
void serialize_request(const HttpRequest& req, const HostPort& upstream, std::string& out) {
  out.clear();
  out.append(req.method).append(" ").append(req.target).append(" HTTP/1.1\r\n");
  bool has_host = false;
  for (const auto& [name, value] : req.headers) {
    if (is_hop_by_hop(name) || has_ctl(name) || has_ctl(value)) continue;
    has_host = has_host || name == "host";
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!has_host) out.append("host: ").append(upstream.to_string()).append("\r\n");
  bool may_have_body = req.method == "POST" || req.method == "PUT" || req.method == "PATCH";
  if (!req.body.empty() || may_have_body) out.append("content-length: ").append(std::to_string(req.body.size())).append("\r\n");
  out.append("\r\n");
}

HttpResponse to_response(http::response<http::string_body>& msg) {
  HttpResponse r;
  r.status = static_cast<int>(msg.result_int());
  r.content_type.assign(msg[http::field::content_type].data(), msg[http::field::content_type].size());
  r.headers.reserve(static_cast<size_t>(std::distance(msg.begin(), msg.end())));
  for (const auto& field : msg) {
    std::string_view name(field.name_string().data(), field.name_string().size());
    if (is_hop_by_hop(name) || header_name_equal(name, "content-type") || header_name_equal(name, kForwardErrorHeader))
      continue;
    r.headers.emplace_back(std::string(name), std::string(field.value()));
  }
  r.body = std::move(msg.body());
  return r;
}

// The Content-Length of an answer to HEAD (its body was skipped), when it
// has one that is a plain decimal number.
std::optional<uint64_t> head_content_length(const http::response<http::string_body>& msg) {
  const auto text = msg[http::field::content_length];
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t n = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(ch - '0');
  }
  return n;
}

// One request on its way: what to send, where the answer goes, and the
// deadline it must be sent by while it waits for a connection.
struct Exchange {
  HttpRequest request;
  HttpResponder done;
  Clock::time_point wait_deadline;
  bool retried = false;
};

class Conn : public Deadline {
 public:
  explicit Conn(asio::io_context& io) : socket(io) {}

  LaneSocket socket;
  // Over socket, when the forwarder speaks TLS (from the handshake on).
  // Kept after close(): an operation that close() aborts still uses it.
  std::shared_ptr<asio::ssl::context> tls_context;  // the one tls was made with
  std::optional<asio::ssl::stream<LaneSocket&>> tls;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
  std::string head;  // the serialized request head, reused
  std::string body;  // the request body while it is being written
  Exchange x;        // the exchange in flight on this connection, if any
  bool reused = false;
  bool timed_out = false;  // the deadline closed the socket under an operation
  Clock::time_point idle_since{};

  void on_deadline() override {
    timed_out = true;
    close();  // the pending connect, write or read fails at once
  }
  // An idle connection the upstream closed (or wrote to unasked) is dead.
  bool alive_when_idle() { return peek(socket.native_handle()) == Peek::nothing; }
  void close() {
    clear_deadline();
    beast::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }
};

// The connections and waiting requests of one lane to one upstream. Only
// that lane's thread touches it.
class Upstream : public std::enable_shared_from_this<Upstream> {
 public:
  Upstream(HostPort address, std::shared_ptr<Shared> shared, IoLane& lane)
      : address_(std::move(address)), shared_(std::move(shared)), lane_(lane) {}
  ~Upstream() { shared_->counters.waiting->add(-static_cast<int64_t>(waiters_.size())); }

  const HostPort& address() const { return address_; }
  void submit(Exchange x);

 private:
  std::shared_ptr<Conn> take_idle();
  void connect(Exchange x);
  void on_connected(std::shared_ptr<Conn> conn, beast::error_code ec);
  void handshake(std::shared_ptr<Conn> conn);
  void send(std::shared_ptr<Conn> conn);
  void receive(std::shared_ptr<Conn> conn, ReadFor read_for);
  void on_read(std::shared_ptr<Conn> conn, beast::error_code ec, size_t n);
  void complete(std::shared_ptr<Conn> conn);
  void fail(std::shared_ptr<Conn> conn, beast::error_code ec, bool response_started);
  void release(std::shared_ptr<Conn> conn);
  void drop(const std::shared_ptr<Conn>& conn);
  void pump();
  void answer(Exchange& x, ErrorKind kind, const std::string& message) {
    x.done(error_answer(*shared_, kind, "upstream " + address_.to_string() + ": " + message));
  }

  HostPort address_;
  std::shared_ptr<Shared> shared_;
  IoLane& lane_;
  std::vector<std::shared_ptr<Conn>> idle_;  // newest last
  size_t open_ = 0;                          // idle, busy and connecting
  std::deque<Exchange> waiters_;
  std::optional<tcp::endpoint> endpoint_;  // resolved once, when the host is a name
};

std::shared_ptr<Conn> Upstream::take_idle() {
  auto max_idle = std::chrono::milliseconds(shared_->options.idle_timeout_ms);
  auto now = Clock::now();
  while (!idle_.empty()) {
    auto conn = std::move(idle_.back());
    idle_.pop_back();
    // A connection used moments ago is alive (well-behaved upstreams close
    // idle ones after seconds); only older ones cost a peek to find out.
    bool fresh = now - conn->idle_since < std::chrono::milliseconds(kPeekAfterIdleMs);
    if (now - conn->idle_since < max_idle && (fresh || conn->alive_when_idle())) return conn;
    drop(conn);
  }
  return nullptr;
}

void Upstream::submit(Exchange x) {
  if (auto conn = take_idle()) {
    conn->x = std::move(x);
    return send(std::move(conn));
  }
  if (open_ < shared_->connections_max_lane) return connect(std::move(x));
  if (waiters_.size() >= shared_->waiters_max_lane)
    return answer(x, kQueueFull, std::to_string(waiters_.size()) + " requests already wait for a connection");
  x.wait_deadline = Clock::now() + std::chrono::milliseconds(shared_->options.response_timeout_ms);
  waiters_.push_back(std::move(x));
  shared_->counters.waiting->add(1);
}

// Handlers capture only the connection and this upstream; the exchange
// stays in the connection, so it is not moved at every step.
void Upstream::connect(Exchange x) {
  ++open_;
  shared_->counters.opened->inc();
  auto conn = std::make_shared<Conn>(lane_.io);
  conn->x = std::move(x);
  lane_.watch(conn);
  conn->deadline_after(shared_->options.connect_timeout_ms);
  auto self = shared_from_this();
  if (!endpoint_) {
    beast::error_code ec;
    auto ip = asio::ip::make_address(address_.host, ec);
    if (!ec) endpoint_ = tcp::endpoint(ip, address_.port);
  }
  if (endpoint_) {
    auto* c = conn.get();
    c->socket.async_connect(*endpoint_, [self, conn = std::move(conn)](beast::error_code ec) mutable {
      self->on_connected(std::move(conn), ec);
    });
    return;
  }
  // A host name: resolve it for every new connection (rare: connections are
  // reused), so a changed DNS answer is picked up.
  auto resolver = std::make_shared<tcp::resolver>(lane_.io);
  resolver->async_resolve(address_.host, std::to_string(address_.port),
                          [self, conn, resolver](beast::error_code ec, tcp::resolver::results_type found) {
                            if (ec || conn->timed_out) return self->on_connected(conn, ec);
                            asio::async_connect(conn->socket, found,
                                                [self, conn](beast::error_code e, const tcp::endpoint&) {
                                                  self->on_connected(conn, e);
                                                });
                          });
}

void Upstream::on_connected(std::shared_ptr<Conn> conn, beast::error_code ec) {
  if (!ec && !conn->timed_out) {
    beast::error_code ignored;
    conn->socket.set_option(tcp::no_delay(true), ignored);
    conn->socket.non_blocking(true, ignored);  // for write_now_or_async
    set_cloexec(conn->socket.native_handle());
    if (shared_->options.tls) return handshake(std::move(conn));
    return send(std::move(conn));
  }
  bool timed_out = conn->timed_out;
  Exchange x = std::move(conn->x);
  drop(conn);
  if (timed_out)
    answer(x, kConnectTimeout, "no connection within " + std::to_string(shared_->options.connect_timeout_ms) + " ms");
  else
    answer(x, kConnectError, "cannot connect: " + ec.message());
  pump();
}

// Checks the upstream's certificate against the CA and the host it was
// dialled by. A refusal is a connect_error: nothing was sent.
void Upstream::handshake(std::shared_ptr<Conn> conn) {
  Conn* c = conn.get();
  c->tls_context = shared_->options.tls->impl().current();  // a reload applies from the next connection
  c->tls.emplace(c->socket, *c->tls_context);
  net::tls_expect_host(c->tls->native_handle(), address_.host);
  c->tls->async_handshake(asio::ssl::stream_base::client, [self = shared_from_this(), conn = std::move(conn)](
                                                              beast::error_code e) mutable {
    if (!e && !conn->timed_out) return self->send(std::move(conn));
    const bool timed_out = conn->timed_out;
    const std::string why = net::tls_error_text(e, conn->tls->native_handle());
    Exchange x = std::move(conn->x);
    self->drop(conn);
    if (timed_out)
      self->answer(x, kConnectTimeout, "no TLS connection within " +
                                           std::to_string(self->shared_->options.connect_timeout_ms) + " ms");
    else
      self->answer(x, kConnectError, "TLS handshake failed: " + why);
    self->pump();
  });
}

void Upstream::send(std::shared_ptr<Conn> conn) {
  shared_->counters.requests->inc();
  Conn* c = conn.get();
  serialize_request(c->x.request, address_, c->head);
  // The body is parked next to the head while the write runs, and handed
  // back afterwards in case the request is retried.
  c->body = std::move(c->x.request.body);
  std::array<asio::const_buffer, 2> buffers{asio::buffer(c->head), asio::buffer(c->body)};
  c->deadline_after(shared_->options.response_timeout_ms);
  auto sent = [self = shared_from_this(), conn = std::move(conn)](beast::error_code ec, size_t) mutable {
    conn->x.request.body = std::move(conn->body);
    if (ec) return self->fail(std::move(conn), ec, false);
    self->receive(std::move(conn), ReadFor::answer);
  };
  if (c->tls) return asio::async_write(*c->tls, buffers, std::move(sent));
  write_now_or_async(c->socket, buffers, std::move(sent));
}

void Upstream::receive(std::shared_ptr<Conn> conn, ReadFor read_for) {
  Conn* c = conn.get();
  if (!c->parser) {
    c->parser.emplace();
    c->parser->header_limit(static_cast<uint32_t>(shared_->options.response_header_bytes_max));
    c->parser->body_limit(static_cast<uint64_t>(shared_->options.response_body_bytes_max));
    if (c->x.request.method == "HEAD") c->parser->skip(true);
  }
  auto got = [self = shared_from_this(), conn = std::move(conn)](beast::error_code ec, size_t n) mutable {
    self->on_read(std::move(conn), ec, n);
  };
  if (c->tls) return c->tls->async_read_some(c->buffer.prepare(kReadChunkBytes), std::move(got));
  // The first read starts right after the request went out, before the
  // upstream can have answered: lean_read_some skips the recv bound to fail.
  lean_read_some(c->socket, c->buffer.prepare(kReadChunkBytes), read_for, std::move(got));
}

// Feeds what arrived to the parser; reads on until the response is whole.
// (Parsing here rather than through http::async_read saves a layer of
// composed operations per read.)
void Upstream::on_read(std::shared_ptr<Conn> conn, beast::error_code ec, size_t n) {
  auto& parser = *conn->parser;
  // (A TLS upstream that closes without close_notify, as most do, ends the
  // stream "truncated": the same end.)
  const bool end = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
  if (end && !conn->timed_out && parser.got_some()) {
    // A body that runs to the end of the stream ends here; anything else
    // was cut off. (put_eof on a parser that got nothing would "complete"
    // an empty 200: a closed idle connection must fail instead.)
    beast::error_code e;
    parser.put_eof(e);
    if (!e && parser.is_done()) return complete(std::move(conn));
  }
  if (ec) return fail(std::move(conn), ec, parser.got_some());
  conn->buffer.commit(n);
  beast::error_code e;
  while (conn->buffer.size() > 0 && !parser.is_done()) {
    size_t used = parser.put(conn->buffer.data(), e);
    conn->buffer.consume(used);
    if (e == http::error::need_more) break;
    if (e) return fail(std::move(conn), e, true);
    if (used == 0) break;
  }
  if (parser.is_done()) return complete(std::move(conn));
  receive(std::move(conn), ReadFor::rest);
}

void Upstream::complete(std::shared_ptr<Conn> conn) {
  conn->clear_deadline();
  auto& msg = conn->parser->get();
  // A deadline that fired as the response completed has closed the socket.
  bool reusable = msg.keep_alive() && conn->buffer.size() == 0 && !conn->timed_out;
  Exchange x = std::move(conn->x);
  HttpResponse response = to_response(msg);
  if (x.request.method == "HEAD") response.head_content_length = head_content_length(msg);
  conn->parser.reset();
  x.done(std::move(response));
  if (reusable) return release(std::move(conn));
  drop(conn);
  pump();
}

void Upstream::fail(std::shared_ptr<Conn> conn, beast::error_code ec, bool response_started) {
  bool was_reused = conn->reused;
  bool timed_out = conn->timed_out;
  Exchange x = std::move(conn->x);
  drop(conn);
  if (timed_out) {
    answer(x, kResponseTimeout, "no response within " + std::to_string(shared_->options.response_timeout_ms) + " ms");
  } else if (was_reused && !response_started && !x.retried && idempotent(x.request.method)) {
    // The upstream most likely closed this idle connection as we reused it.
    x.retried = true;
    shared_->counters.retries->inc();
    return submit(std::move(x));
  } else {
    answer(x, kBadResponse, "bad or incomplete response: " + ec.message());
  }
  pump();
}

void Upstream::release(std::shared_ptr<Conn> conn) {
  conn->reused = true;
  conn->idle_since = Clock::now();
  idle_.push_back(std::move(conn));
  pump();
}

void Upstream::drop(const std::shared_ptr<Conn>& conn) {
  conn->close();
  --open_;
}

// Hands freed capacity to waiting requests, oldest first; those that waited
// past their deadline are answered 504 instead.
void Upstream::pump() {
  while (!waiters_.empty() && (!idle_.empty() || open_ < shared_->connections_max_lane)) {
    Exchange x = std::move(waiters_.front());
    waiters_.pop_front();
    shared_->counters.waiting->add(-1);
    if (Clock::now() > x.wait_deadline) {
      answer(x, kResponseTimeout, "no connection free within " + std::to_string(shared_->options.response_timeout_ms) + " ms");
      continue;
    }
    submit(std::move(x));
  }
}

// One lane's upstreams. Only that lane's thread touches it.
struct LaneState {
  std::vector<std::shared_ptr<Upstream>> upstreams;
};

class Forwarder final : public HttpForwarder {
 public:
  Forwarder(HttpForwarderOptions options, std::shared_ptr<IoThreads> io, Metrics& metrics);

  void forward(const HostPort& upstream, HttpRequest request, HttpResponder done) override;
  uint64_t connections_opened() const override { return shared_->counters.opened->value(); }

 private:
  static void forward_on_lane(const std::shared_ptr<Shared>& shared, LaneState& state, IoLane& lane,
                              const HostPort& upstream, Exchange x);

  std::shared_ptr<IoThreads> io_;  // first: outlives every connection below
  std::shared_ptr<Shared> shared_;
  std::vector<std::shared_ptr<LaneState>> lanes_;
};

Counters make_counters(Metrics& metrics, const std::string& name) {
  MetricLabels f{{"forwarder", name}};
  Counters c{};
  c.requests = &metrics.counter("ezone_forwarder_requests_total", "Requests sent upstream", f);
  for (int k = 0; k < kErrorKinds; ++k)
    c.errors[k] = &metrics.counter("ezone_forwarder_errors_total", "Forwarded requests answered with an error, by kind",
                                   {{"forwarder", name}, {"kind", kErrorKindNames[k]}});
  c.opened = &metrics.counter("ezone_forwarder_connections_opened_total", "Upstream connections opened", f);
  c.retries = &metrics.counter("ezone_forwarder_retries_total",
                               "Requests retried after a reused connection failed before any response byte", f);
  c.waiting = &metrics.gauge("ezone_forwarder_waiting_requests", "Requests waiting for an upstream connection", f);
  return c;
}

size_t per_lane(int64_t total, int lanes) {
  int64_t each = (total + lanes - 1) / lanes;
  return static_cast<size_t>(std::max<int64_t>(1, each));
}

Forwarder::Forwarder(HttpForwarderOptions options, std::shared_ptr<IoThreads> io, Metrics& metrics)
    : io_(std::move(io)), shared_(std::make_shared<Shared>()) {
  shared_->counters = make_counters(metrics, options.name);
  shared_->pool = &io_->impl();
  shared_->connections_max_lane = per_lane(options.connections_per_upstream_max, io_->lanes());
  shared_->waiters_max_lane = per_lane(options.waiters_per_upstream_max, io_->lanes());
  shared_->options = std::move(options);
  for (int i = 0; i < io_->lanes(); ++i) lanes_.push_back(std::make_shared<LaneState>());
}

void Forwarder::forward(const HostPort& upstream, HttpRequest request, HttpResponder done) {
  Exchange x{std::move(request), std::move(done), {}, false};
  if (io_->stopped()) return (void)x.done(error_answer(*shared_, kStopped, "forwarder stopped"));
  if (has_ctl(x.request.method) || has_ctl(x.request.target) || x.request.target.find(' ') != std::string::npos)
    return (void)x.done(HttpResponse::error(500, "request line cannot be forwarded"));
  int lane = io_->current_lane();
  if (lane >= 0) {
    auto& impl = io_->impl();
    return forward_on_lane(shared_, *lanes_[static_cast<size_t>(lane)], *impl.lanes[static_cast<size_t>(lane)],
                           upstream, std::move(x));
  }
  // From a foreign thread: hop onto a lane. The task holds the lane state,
  // not the forwarder, so queued work never keeps the forwarder alive.
  lane = static_cast<int>(io_->impl().next.fetch_add(1, std::memory_order_relaxed) % lanes_.size());
  IoLane& target = *io_->impl().lanes[static_cast<size_t>(lane)];
  asio::post(target.io, [shared = shared_, state = lanes_[static_cast<size_t>(lane)], &target, upstream,
                         x = std::move(x)]() mutable { forward_on_lane(shared, *state, target, upstream, std::move(x)); });
}

void Forwarder::forward_on_lane(const std::shared_ptr<Shared>& shared, LaneState& state, IoLane& lane,
                                const HostPort& upstream, Exchange x) {
  for (auto& u : state.upstreams)
    if (u->address() == upstream) return u->submit(std::move(x));
  if (state.upstreams.size() >= static_cast<size_t>(shared->options.upstreams_max))
    return (void)x.done(error_answer(*shared, kTooManyUpstreams, "more than " +
                                                                     std::to_string(shared->options.upstreams_max) +
                                                                     " upstreams"));
  state.upstreams.push_back(std::make_shared<Upstream>(upstream, shared, lane));
  state.upstreams.back()->submit(std::move(x));
}

}  // namespace

bool forward_error_before_sending(std::string_view kind) {
  return kind == kErrorKindNames[kQueueFull] || kind == kErrorKindNames[kConnectError] ||
         kind == kErrorKindNames[kConnectTimeout] || kind == kErrorKindNames[kStopped] ||
         kind == kErrorKindNames[kTooManyUpstreams];
}

std::shared_ptr<HttpForwarder> HttpForwarder::create(HttpForwarderOptions options, std::shared_ptr<IoThreads> io,
                                                     Metrics& metrics) {
  return std::make_shared<Forwarder>(std::move(options), std::move(io), metrics);
}

}  // namespace ezone
