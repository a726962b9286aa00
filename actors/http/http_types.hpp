// Plain request/response values for HTTP handlers. Handlers see these, never
// Beast types, so most files compile without Beast's heavy headers.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.hpp"
#include "core/trace_context.hpp"

namespace ezone {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path plus optional "?query"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  // The target without its query string.
  std::string path() const;
  // As path(), without copying: a view into target.
  std::string_view path_view() const;
  // The value of a query parameter (not percent-decoded), or "" if absent.
  std::string query_param(const std::string& name) const;
  // The value of a header by lower-case name, or "" if absent.
  std::string header(const std::string& lower_name) const;
  // The first header with this lower-case name, or nullptr. The pointer
  // lives until headers changes.
  const std::string* find_header(std::string_view lower_name) const;
  // Replaces every header of this lower-case name by one with value.
  void set_header(std::string_view lower_name, std::string value);
};

// A window_s given as text (a query parameter, or a body's number printed):
// fallback when empty, else a whole number of seconds in min..max, or
// invalid_argument quoting (at most 40 characters of) the text.
Result<int64_t> parse_window_seconds(const std::string& text, int64_t fallback, int64_t min, int64_t max);

// The request's W3C trace context (its traceparent), or nothing when it has
// none or one that does not parse. Behind the router, its parent is the
// router's span: pass it on as the parent of the handler's work (for
// example dal::TxTarget::trace). Malformed headers were dropped and counted
// by the router already.
std::optional<TraceContext> trace_of(const HttpRequest& req);

// The query parameter `name` as an integer 0..max, `fallback` when absent,
// or invalid_argument naming it.
Result<int64_t> int_query_param(const HttpRequest& req, const std::string& name, int64_t fallback, int64_t max);

// A response body produced over time, e.g. Server-Sent Events. The server
// sends the head (with no Content-Length: the body ends when the connection
// closes), then calls start() once, on the connection's I/O thread.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  // Queues bytes for the client; callable from any thread, never blocks.
  // Returns false once the stream is closed: the client went away, close()
  // was called, or the client fell more than the server's stream buffer
  // behind (it is then disconnected and counted: a slow reader never makes
  // the server buffer without bound).
  virtual bool write(std::string bytes) = 0;
  // Ends the response after what is queued; idempotent.
  virtual void close() = 0;
  virtual bool closed() const = 0;
};

class ResponseStream {
 public:
  virtual ~ResponseStream() = default;
  virtual void start(std::shared_ptr<StreamWriter> writer) = 0;
};

struct HttpResponse {
  int status = 200;
  // Sent as Content-Type unless empty.
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  // Extra headers, any case. The server owns the framing headers
  // (Content-Length, Transfer-Encoding, Connection) and ignores them here.
  std::vector<std::pair<std::string, std::string>> headers;
  // Set for a streamed body (body is then ignored). The connection closes
  // when the stream ends.
  std::shared_ptr<ResponseStream> stream;
  // An answer to HEAD has no body; this is the Content-Length a GET would
  // have had (the forwarder keeps an upstream's). Unset: the body's size.
  std::optional<uint64_t> head_content_length;

  static HttpResponse text(int status, std::string body);
  static HttpResponse json(int status, std::string body);
  // {"error": message} with the given status.
  static HttpResponse error(int status, const std::string& message);
  // The first header with this name (case-insensitive), or nullptr.
  const std::string* find_header(std::string_view name) const;
};

// The HTTP status of an error: 400 invalid_argument and parse_error, 404
// not_found, 409 conflict, 503 unavailable and timeout, else 500.
int http_status_of(const Status& s);
// An error response with that status and the status's message.
HttpResponse error_response(const Status& s);

// True when a and b are equal ignoring ASCII case (header names).
bool header_name_equal(std::string_view a, std::string_view b);

// Runs on an I/O thread: it must not block (no waiting on actors or disk).
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Where a responder's answer goes. The server's connections implement it
// (they write the response); routers implement it to edit or time a
// response on its way out. Implementations should answer with a 500 from
// their destructor when answered() is still false (every copy of the
// responder was dropped without an answer), so a buggy handler costs one
// error, not a hung connection.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  // Receives the single answer of a request, on whichever thread answered.
  // Must not block.
  virtual void deliver(HttpResponse&& response) = 0;
  bool answered() const { return answered_.load(std::memory_order_acquire); }
  // Claims the single answer: true for the first caller only.
  bool claim() { return !answered_.exchange(true, std::memory_order_acq_rel); }

 private:
  std::atomic<bool> answered_{false};
};

// The answer channel of one request. Copies share one sink. The first call
// delivers the response (from any thread, at any later time); later calls
// are ignored and return false. A default-constructed responder is empty:
// calling it does nothing and returns false.
class HttpResponder {
 public:
  HttpResponder() = default;
  explicit HttpResponder(std::shared_ptr<ResponseSink> sink) : sink_(std::move(sink)) {}

  bool operator()(HttpResponse response) const;
  bool answered() const { return !sink_ || sink_->answered(); }

 private:
  std::shared_ptr<ResponseSink> sink_;
};

// A responder whose answer goes to fn, on the answering thread. If every
// copy is dropped unanswered, fn receives a 500 "request dropped by its
// handler" from the last copy's destructor.
HttpResponder make_responder(std::function<void(HttpResponse&&)> fn);

// Handles a request and answers through the responder exactly once, now or
// later, from any thread. Runs on an I/O thread: it must not block. The
// handler owns the request.
using AsyncHttpHandler = std::function<void(HttpRequest&&, HttpResponder)>;

// Wraps a synchronous handler (it answers before returning). Exceptions
// from it become a 500.
AsyncHttpHandler make_async_handler(HttpHandler handler);

}  // namespace ezone
