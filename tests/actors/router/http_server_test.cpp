// The ingress HTTP server against clients that misbehave: malformed, huge,
// truncated, slow, idle and too many. Each gets a clear status (or a clean
// close) and a counter, and the server keeps serving everyone else.
#include "actors/http/http_server.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/actors/router/raw_http.hpp"
#include "tests/support/eventually.hpp"

namespace ezone {
namespace {

using test::eventually;
using test::http_call;
using test::raw_request;
using test::RawConnection;
using Steady = std::chrono::steady_clock;

int64_t ms_since(Steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start).count();
}

HttpServerOptions small_limits() {
  HttpServerOptions o;
  o.name = "http";
  o.config_key = "node.http";
  o.bind = {"127.0.0.1", 0};
  o.threads = 2;
  o.body_bytes_max = 1024;
  o.header_bytes_max = 2048;
  o.connections_max = 3;
  o.idle_timeout_ms = 5000;
  o.request_timeout_ms = 400;
  o.ezone = "bj";
  o.epoch = [] { return int64_t{7}; };
  return o;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpServerOptions options = small_limits()) {
    auto s = HttpServer::start(std::move(options), make_async_handler([](const HttpRequest& r) {
                                 return HttpResponse::text(200, "echo " + r.method + " " + r.target + " " + r.body);
                               }),
                               metrics_);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    server_ = std::move(*s);
  }
  uint64_t counter(const std::string& name, MetricLabels labels = {{"server", "http"}}) {
    return metrics_.counter(name, "", labels).value();
  }
  // The server still answers a plain request on a new connection.
  void expect_still_serving() {
    auto r = http_call(server_->port(), "GET", "/alive");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "echo GET /alive ");
  }

  Metrics metrics_{"bj"};
  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, EveryResponseNamesEzoneAndEpoch) {
  start();
  auto r = http_call(server_->port(), "GET", "/x?y=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-ezone"), "bj");
  EXPECT_EQ(r.header("x-ezone-epoch"), "7");
  EXPECT_EQ(r.body, "echo GET /x?y=1 ");
}

TEST_F(HttpServerTest, KeepAliveAndPipelinedRequestsAnswerInOrder) {
  start();
  RawConnection c(server_->port());
  ASSERT_TRUE(c.send(raw_request("GET", "/a") + raw_request("POST", "/b", {}, "hi")));
  auto a = c.read_response();
  auto b = c.read_response();
  EXPECT_EQ(a.body, "echo GET /a ");
  EXPECT_EQ(b.body, "echo POST /b hi");
  ASSERT_TRUE(c.send(raw_request("GET", "/c")));
  EXPECT_EQ(c.read_response().body, "echo GET /c ");
}

TEST_F(HttpServerTest, BadHeaderLineGets400AndServerKeepsServing) {
  start();
  RawConnection c(server_->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n"));
  auto r = c.read_response();
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("malformed request"), std::string::npos) << r.body;
  EXPECT_EQ(r.header("x-ezone"), "bj");
  EXPECT_EQ(r.header("x-ezone-epoch"), "7");  // errors too
  EXPECT_TRUE(c.wait_closed(2000));
  EXPECT_EQ(counter("ezone_http_bad_requests_total"), 1u);
  expect_still_serving();
}

TEST_F(HttpServerTest, GarbageRequestLineGets400) {
  start();
  RawConnection c(server_->port());
  ASSERT_TRUE(c.send("\x01\x02 nonsense\r\n\r\n"));
  EXPECT_EQ(c.read_response().status, 400);
  expect_still_serving();
}

TEST_F(HttpServerTest, HugeBodyGets413) {
  start();
  RawConnection c(server_->port());
  // Announce far more than the limit and start sending it.
  ASSERT_TRUE(c.send("POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n" + std::string(4096, 'a')));
  auto r = c.read_response();
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find("request body over 1024 bytes"), std::string::npos) << r.body;
  EXPECT_EQ(counter("ezone_http_too_large_total", {{"server", "http"}, {"part", "body"}}), 1u);
  expect_still_serving();
}

TEST_F(HttpServerTest, HugeChunkedBodyGets413) {
  start();
  RawConnection c(server_->port());
  std::string chunk(2000, 'b');
  ASSERT_TRUE(c.send("POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n" + chunk + "\r\n"));
  EXPECT_EQ(c.read_response().status, 413);
  expect_still_serving();
}

TEST_F(HttpServerTest, HugeHeaderGets431) {
  start();
  RawConnection c(server_->port());
  ASSERT_TRUE(c.send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8192, 'h') + "\r\n\r\n"));
  auto r = c.read_response();
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(counter("ezone_http_too_large_total", {{"server", "http"}, {"part", "header"}}), 1u);
  expect_still_serving();
}

TEST_F(HttpServerTest, TruncatedRequestIsCountedAndServerKeepsServing) {
  start();
  {
    RawConnection c(server_->port());
    ASSERT_TRUE(c.send("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten.."));
    c.shutdown_send();  // the client gives up mid-body
    EXPECT_TRUE(c.wait_closed(2000));
  }
  EXPECT_TRUE(eventually([&] { return counter("ezone_http_truncated_requests_total") == 1; }));
  expect_still_serving();
}

TEST_F(HttpServerTest, AClientThatHalfClosesAfterItsLastRequestIsClosedWellBeforeTheIdleTimeout) {
  // The first request holds the connection's lane while the client sends
  // its second request and closes its side, so both reach the server in
  // one readiness event. Reading that request drains the socket but for
  // the end of stream, which brings no further event: only the idle probe
  // (after 1 s, not the 5 s idle timeout) can find it.
  std::atomic<bool> first_started{false};
  auto s = HttpServer::start(small_limits(), make_async_handler([&](const HttpRequest& r) {
                               if (r.target == "/first") {
                                 first_started = true;
                                 std::this_thread::sleep_for(std::chrono::milliseconds(300));
                               }
                               return HttpResponse::text(200, r.target);
                             }),
                             metrics_);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  server_ = std::move(*s);
  RawConnection c(server_->port());
  // A first exchange leaves the server waiting for the next request, so the
  // reads below are made by readiness events (none at once on arrival).
  ASSERT_TRUE(c.send(raw_request("GET", "/warm", {}, "")));
  EXPECT_EQ(c.read_response(2000).body, "/warm");
  ASSERT_TRUE(c.send(raw_request("GET", "/first", {}, "")));
  ASSERT_TRUE(eventually([&] { return first_started.load(); }));
  ASSERT_TRUE(c.send(raw_request("GET", "/second", {}, "")));
  c.shutdown_send();
  EXPECT_EQ(c.read_response(2000).body, "/first");
  EXPECT_EQ(c.read_response(2000).body, "/second");
  auto answered = Steady::now();
  EXPECT_TRUE(c.wait_closed(3000));
  EXPECT_LT(ms_since(answered), 3000);
  EXPECT_EQ(counter("ezone_http_idle_closed_total"), 0u);
  EXPECT_EQ(http_call(server_->port(), "GET", "/alive").body, "/alive");
}

TEST_F(HttpServerTest, SlowClientIsCutOffByTheRequestDeadlineNotTheIdleTimeout) {
  start();  // request_timeout 400 ms, idle timeout 5 s
  RawConnection c(server_->port());
  std::string request = raw_request("POST", "/slow", {}, std::string(200, 's'));
  auto started = Steady::now();
  // One byte every 20 ms never leaves the connection idle for long, but the
  // whole request would take 5 s.
  bool cut_off = false;
  for (size_t i = 0; i < request.size() && ms_since(started) < 3000; ++i) {
    if (!c.send(request.substr(i, 1))) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (ms_since(started) > 450 && c.wait_closed(1)) {
      cut_off = true;
      break;
    }
  }
  auto r = c.read_response(2000);
  EXPECT_EQ(r.status, 408);
  EXPECT_TRUE(cut_off || c.wait_closed(2000));
  EXPECT_LT(ms_since(started), 2500);
  EXPECT_EQ(counter("ezone_http_request_timeouts_total"), 1u);
  expect_still_serving();
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosedAndCounted) {
  HttpServerOptions o = small_limits();
  o.idle_timeout_ms = 200;
  start(o);
  RawConnection c(server_->port());
  ASSERT_TRUE(c.send(raw_request("GET", "/a")));
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_TRUE(c.wait_closed(3000));
  EXPECT_TRUE(eventually([&] { return counter("ezone_http_idle_closed_total") == 1; }));
}

TEST_F(HttpServerTest, TooManyConnectionsGet503) {
  start();  // connections_max 3
  std::vector<std::unique_ptr<RawConnection>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<RawConnection>(server_->port()));
    ASSERT_TRUE(open.back()->send(raw_request("GET", "/a")));
    ASSERT_EQ(open.back()->read_response().status, 200);  // accepted and served
  }
  RawConnection extra(server_->port());
  extra.send(raw_request("GET", "/a"));
  auto r = extra.read_response();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(counter("ezone_http_rejected_connections_total"), 1u);
  open.clear();  // the limit frees up again
  EXPECT_TRUE(eventually([&] { return http_call(server_->port(), "GET", "/again").status == 200; }));
}

TEST_F(HttpServerTest, AsyncHandlerAnswersFromAnotherThreadLater) {
  std::vector<std::thread> workers;
  std::mutex mutex;
  auto s = HttpServer::start(small_limits(),
                             AsyncHttpHandler([&](HttpRequest&& request, HttpResponder respond) {
                               std::lock_guard<std::mutex> lock(mutex);
                               workers.emplace_back([request = std::move(request), respond] {
                                 std::this_thread::sleep_for(std::chrono::milliseconds(30));
                                 respond(HttpResponse::text(202, "later " + request.target));
                               });
                             }),
                             metrics_);
  ASSERT_TRUE(s.ok());
  RawConnection c((*s)->port());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send(raw_request("GET", "/n" + std::to_string(i))));
    auto r = c.read_response();
    EXPECT_EQ(r.status, 202);
    EXPECT_EQ(r.body, "later /n" + std::to_string(i));
  }
  (*s)->stop();
  std::lock_guard<std::mutex> lock(mutex);
  for (auto& w : workers) w.join();
}

TEST_F(HttpServerTest, DroppedOrThrowingHandlerGets500) {
  auto s = HttpServer::start(small_limits(),
                             AsyncHttpHandler([](HttpRequest&& request, HttpResponder) {
                               if (request.target == "/throw") throw std::runtime_error("boom");
                               // "/drop": the responder goes out of scope unanswered
                             }),
                             metrics_);
  ASSERT_TRUE(s.ok());
  auto dropped = http_call((*s)->port(), "GET", "/drop");
  EXPECT_EQ(dropped.status, 500);
  EXPECT_NE(dropped.body.find("dropped"), std::string::npos);
  auto thrown = http_call((*s)->port(), "GET", "/throw");
  EXPECT_EQ(thrown.status, 500);
  EXPECT_NE(thrown.body.find("boom"), std::string::npos);
  EXPECT_EQ(counter("ezone_http_handler_errors_total"), 2u);
}

TEST_F(HttpServerTest, ResponderAnswersOnlyOnce) {
  std::atomic<int> second{-1};
  auto s = HttpServer::start(small_limits(),
                             AsyncHttpHandler([&](HttpRequest&&, HttpResponder respond) {
                               respond(HttpResponse::text(200, "first"));
                               second = respond(HttpResponse::text(500, "second")) ? 1 : 0;
                             }),
                             metrics_);
  ASSERT_TRUE(s.ok());
  auto r = http_call((*s)->port(), "GET", "/");
  EXPECT_EQ(r.body, "first");
  // The handler records the second call after the first answer has left.
  EXPECT_TRUE(eventually([&] { return second.load() == 0; }));
}

TEST_F(HttpServerTest, BindFailureNamesTheConfigKey) {
  start();
  HttpServerOptions o = small_limits();
  o.bind.port = server_->port();
  Metrics other("bj");
  auto s = HttpServer::start(o, [](const HttpRequest&) { return HttpResponse::text(200, ""); }, other);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("node.http"), std::string::npos) << s.status().to_string();
}

// A stream that writes chunks from its own thread as fast as the server
// takes them, until the server reports the stream closed.
class FloodStream final : public ResponseStream {
 public:
  FloodStream(std::mutex& mutex, std::vector<std::thread>& threads) : mutex_(mutex), threads_(threads) {}
  void start(std::shared_ptr<StreamWriter> writer) override {
    std::lock_guard<std::mutex> lock(mutex_);
    threads_.emplace_back([writer] {
      const std::string chunk(4096, 'x');
      for (int i = 0; i < 100000 && writer->write(chunk); ++i) {
        if (i % 16 == 0) std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    });
  }

 private:
  std::mutex& mutex_;
  std::vector<std::thread>& threads_;
};

// Answers /stream with a FloodStream (its writers join `writers`), and any
// other target with "echo METHOD TARGET ".
AsyncHttpHandler flood_at_stream(std::mutex& mutex, std::vector<std::thread>& writers) {
  return make_async_handler([&mutex, &writers](const HttpRequest& r) {
    if (r.target != "/stream") return HttpResponse::text(200, "echo " + r.method + " " + r.target + " ");
    HttpResponse response;
    response.content_type = "text/event-stream";
    response.stream = std::make_shared<FloodStream>(mutex, writers);
    return response;
  });
}

// A HEAD served by a streaming GET endpoint gets the headers and no body:
// the stream never starts, and the connection serves the next request.
TEST_F(HttpServerTest, AHeadOfAStreamedAnswerSendsNoStream) {
  std::mutex mutex;
  std::vector<std::thread> writers;  // stays empty: no stream starts
  auto s = HttpServer::start(small_limits(), flood_at_stream(mutex, writers), metrics_);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  server_ = std::move(*s);
  RawConnection c(server_->port());
  ASSERT_TRUE(c.send(raw_request("HEAD", "/stream")));
  auto head = c.read_response(5000, /*to_head=*/true);
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.header("content-type"), "text/event-stream");
  ASSERT_TRUE(c.send(raw_request("GET", "/next")));
  auto next = c.read_response(5000);
  EXPECT_EQ(next.status, 200);
  EXPECT_EQ(next.body, "echo GET /next ") << "no stream bytes came before the next answer";
  server_->stop();
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_TRUE(writers.empty());
}

// Regression: a client that closed its side while the server was streaming
// to it ended the stream between a write finishing and that write's
// completion running; the completion then popped the (already emptied)
// queue, a double free that killed the node (found by fuzzing
// /drc/v1/changes).
TEST_F(HttpServerTest, AStreamClientThatClosesMidWriteEndsOnlyItsStream) {
  std::mutex mutex;
  std::vector<std::thread> writers;  // the lanes append, under mutex
  HttpServerOptions options = small_limits();
  options.connections_max = 1000;
  auto s = HttpServer::start(options, flood_at_stream(mutex, writers), metrics_);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  server_ = std::move(*s);
  for (int i = 0; i < 150; ++i) {
    RawConnection c(server_->port());
    ASSERT_TRUE(c.send(raw_request("GET", "/stream")));
    // Let writes flow, then half-close: the server reads end of stream
    // while its writes still succeed, because this side keeps reading.
    std::this_thread::sleep_for(std::chrono::microseconds(200 * (i % 5)));
    c.shutdown_send();
    EXPECT_TRUE(c.wait_closed(5000)) << i;
  }
  expect_still_serving();
  // Every stream ends once the server has seen its client go, and with it
  // the writer thread (its write() turns false).
  auto& open = metrics_.gauge("ezone_http_open_connections", "", {{"server", "http"}});
  EXPECT_TRUE(eventually([&] { return open.value() == 0; })) << open.value();
  server_->stop();
  std::lock_guard<std::mutex> lock(mutex);
  for (auto& t : writers) t.join();
  EXPECT_EQ(writers.size(), 150u);
}

}  // namespace
}  // namespace ezone
