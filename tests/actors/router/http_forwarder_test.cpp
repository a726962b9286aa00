// The pooled forwarder against upstreams that answer, reuse connections,
// close them, stay silent, speak garbage or are not there at all.
#include "actors/http/http_forwarder.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <future>

#include "tests/support/eventually.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/ports.hpp"

namespace ezone {
namespace {

using test::FakeConnection;
using test::FakeHttpServer;
using Steady = std::chrono::steady_clock;

int64_t ms_since(Steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start).count();
}

std::unique_ptr<FakeHttpServer> serve(FakeHttpServer::Handler handler) {
  auto server = FakeHttpServer::start(std::move(handler));
  EXPECT_TRUE(server.ok()) << server.status().to_string();
  return std::move(server).value();
}

// Answers every request on a connection, echoing its first line.
void answer_all(FakeConnection& connection) {
  while (true) {
    std::string request = connection.read_request();
    if (request.empty()) return;
    std::string line = request.substr(0, request.find("\r\n"));
    if (!connection.send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Ezone: sh\r\nX-Custom: 1\r\n"
                         "Content-Length: " + std::to_string(line.size()) + "\r\n\r\n" + line))
      return;
  }
}

class ForwarderTest : public ::testing::Test {
 protected:
  void SetUp() override { io_ = IoThreads::start(1, "fwd-test"); }
  void TearDown() override { io_->stop(); }

  std::shared_ptr<HttpForwarder> make(HttpForwarderOptions options = {}) {
    return HttpForwarder::create(std::move(options), io_, metrics_);
  }
  // Forwards from the test thread and waits for the answer.
  static HttpResponse call(HttpForwarder& f, const HostPort& to, const std::string& target = "/x",
                           std::string method = "GET") {
    auto answer = std::make_shared<std::promise<HttpResponse>>();
    auto got = answer->get_future();
    HttpRequest request{std::move(method), target, {{"host", "test"}, {"connection", "close"}}, ""};
    f.forward(to, std::move(request), make_responder([answer](HttpResponse&& r) { answer->set_value(std::move(r)); }));
    EXPECT_EQ(got.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return got.get();
  }
  uint64_t errors(const std::string& kind) {
    return metrics_.counter("ezone_forwarder_errors_total", "", {{"forwarder", "router"}, {"kind", kind}}).value();
  }

  Metrics metrics_{"bj"};
  std::shared_ptr<IoThreads> io_;
};

TEST_F(ForwarderTest, ForwardsAndPassesEndToEndHeadersThrough) {
  auto upstream = serve(answer_all);
  auto f = make();
  auto r = call(*f, upstream->endpoint(), "/v1/orders?x=1");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "GET /v1/orders?x=1 HTTP/1.1");
  EXPECT_EQ(r.content_type, "text/plain");
  ASSERT_NE(r.find_header("x-ezone"), nullptr);
  EXPECT_EQ(*r.find_header("x-ezone"), "sh");
  EXPECT_NE(r.find_header("x-custom"), nullptr);
  EXPECT_EQ(r.find_header("content-length"), nullptr);  // framing is the server's
}

TEST_F(ForwarderTest, ReusesOneKeepAliveConnection) {
  auto upstream = serve(answer_all);
  auto f = make();
  // The client's own "Connection: close" is hop-by-hop: it must not close
  // the upstream connection.
  for (int i = 0; i < 20; ++i) ASSERT_EQ(call(*f, upstream->endpoint()).status, 200);
  EXPECT_EQ(upstream->connections(), 1u);
  EXPECT_EQ(f->connections_opened(), 1u);
}

TEST_F(ForwarderTest, ConcurrentRequestsShareABoundedPool) {
  auto upstream = serve(answer_all);
  HttpForwarderOptions o;
  o.connections_per_upstream_max = 2;
  auto f = make(o);
  std::vector<std::future<HttpResponse>> answers;
  for (int i = 0; i < 16; ++i) {
    auto p = std::make_shared<std::promise<HttpResponse>>();
    answers.push_back(p->get_future());
    f->forward(upstream->endpoint(), HttpRequest{"GET", "/c" + std::to_string(i), {}, ""},
               make_responder([p](HttpResponse&& r) { p->set_value(std::move(r)); }));
  }
  for (int i = 0; i < 16; ++i) {
    ASSERT_EQ(answers[static_cast<size_t>(i)].wait_for(std::chrono::seconds(10)), std::future_status::ready);
    auto r = answers[static_cast<size_t>(i)].get();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "GET /c" + std::to_string(i) + " HTTP/1.1");
  }
  EXPECT_LE(upstream->connections(), 2u);
}

TEST_F(ForwarderTest, FullWaitQueueGets503) {
  // One connection, one waiter; the upstream holds every request.
  auto upstream = serve([](FakeConnection& c) {
    c.read_request();
    c.wait_for_stop(10000);
  });
  HttpForwarderOptions o;
  o.connections_per_upstream_max = 1;
  o.waiters_per_upstream_max = 1;
  o.response_timeout_ms = 2000;
  auto f = make(o);
  std::vector<std::shared_ptr<std::promise<HttpResponse>>> ps;
  for (int i = 0; i < 2; ++i) {
    ps.push_back(std::make_shared<std::promise<HttpResponse>>());
    f->forward(upstream->endpoint(), HttpRequest{"GET", "/", {}, ""},
               make_responder([p = ps.back()](HttpResponse&& r) { p->set_value(std::move(r)); }));
  }
  auto third = call(*f, upstream->endpoint());
  EXPECT_EQ(third.status, 503);
  ASSERT_NE(third.find_header("retry-after"), nullptr);
  EXPECT_EQ(errors("queue_full"), 1u);
  io_->stop();  // the two parked requests are dropped with the lanes
}

TEST_F(ForwarderTest, UpstreamDownGets502Quickly) {
  auto f = make();
  HostPort nobody{"127.0.0.1", test::free_loopback_port()};
  auto started = Steady::now();
  auto r = call(*f, nobody);
  EXPECT_EQ(r.status, 502);
  EXPECT_LT(ms_since(started), 1000);
  EXPECT_NE(r.body.find("cannot connect"), std::string::npos) << r.body;
  EXPECT_EQ(errors("connect_error"), 1u);
  ASSERT_NE(r.find_header(kForwardErrorHeader), nullptr);
  EXPECT_EQ(*r.find_header(kForwardErrorHeader), "connect_error");
  EXPECT_TRUE(forward_error_before_sending(*r.find_header(kForwardErrorHeader)));
}

TEST_F(ForwarderTest, OnlyTheForwardersOwnErrorsCarryItsErrorHeader) {
  // An upstream cannot pass its answer off as the forwarder's "never sent".
  auto upstream = serve([](FakeConnection& c) {
    if (c.read_request().empty()) return;
    c.send("HTTP/1.1 502 Bad Gateway\r\nX-Ezone-Forward-Error: connect_error\r\nContent-Length: 2\r\n\r\nno");
  });
  auto f = make();
  auto r = call(*f, upstream->endpoint());
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.body, "no");
  EXPECT_EQ(r.find_header(kForwardErrorHeader), nullptr);
  EXPECT_FALSE(forward_error_before_sending("bad_response"));
  EXPECT_FALSE(forward_error_before_sending("response_timeout"));
  EXPECT_FALSE(forward_error_before_sending(""));
}

TEST_F(ForwarderTest, SilentUpstreamGets504AfterTheResponseTimeout) {
  auto upstream = serve([](FakeConnection& c) {
    c.read_request();
    c.wait_for_stop(10000);
  });
  HttpForwarderOptions o;
  o.response_timeout_ms = 300;
  auto f = make(o);
  auto started = Steady::now();
  auto r = call(*f, upstream->endpoint());
  EXPECT_EQ(r.status, 504);
  EXPECT_GE(ms_since(started), 290);
  EXPECT_LT(ms_since(started), 3000);
  EXPECT_EQ(errors("response_timeout"), 1u);
}

TEST_F(ForwarderTest, GarbageFromUpstreamGets502) {
  auto upstream = serve([](FakeConnection& c) {
    c.read_request();
    c.send("this is not http\r\n\r\n");
  });
  auto f = make();
  auto r = call(*f, upstream->endpoint());
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(errors("bad_response"), 1u);
  ASSERT_NE(r.find_header(kForwardErrorHeader), nullptr);
  EXPECT_EQ(*r.find_header(kForwardErrorHeader), "bad_response");
}

TEST_F(ForwarderTest, ClosedIdleConnectionIsReplacedNotAnsweredEmpty) {
  // Answers one request per connection, without saying Connection: close.
  auto upstream = serve([](FakeConnection& c) {
    if (!c.read_request().empty()) c.send(test::http_response(200, "one"));
  });
  auto f = make();
  ASSERT_EQ(call(*f, upstream->endpoint()).status, 200);
  // Let the close reach us, as it would while a connection sits idle.
  ASSERT_TRUE(test::eventually([&] { return upstream->closed_connections() == 1; }));
  for (int i = 0; i < 3; ++i) {
    auto r = call(*f, upstream->endpoint());
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "one");  // a real answer, never an empty one from a dead connection
  }
  EXPECT_EQ(upstream->connections(), 4u);
}

TEST_F(ForwarderTest, AResponseThatRunsToTheEndOfTheStreamIsWholeWhenTheCloseCameWithIt) {
  // The forwarder's lane is kept busy while the upstream sends its answer,
  // which has no Content-Length, and closes: the answer and the end of
  // stream reach the forwarder in one readiness event, and reading the
  // answer leaves the end of stream behind with no event of its own.
  std::atomic<bool> lane_busy{false};
  auto upstream = serve([&](FakeConnection& c) {
    if (c.read_request().empty()) return;
    io_->run_after(0, 0, [&] {
      lane_busy = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
    });
    if (!test::eventually([&] { return lane_busy.load(); })) return;
    c.send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nbody until the end");
  });  // returning closes the connection
  auto f = make();
  auto started = Steady::now();
  auto r = call(*f, upstream->endpoint());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "body until the end");
  EXPECT_LT(ms_since(started), 2000);
}

TEST_F(ForwarderTest, StoppedForwarderAnswers503) {
  auto f = make();
  io_->stop();
  auto r = call(*f, {"127.0.0.1", 1});
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(errors("stopped"), 1u);
}

}  // namespace
}  // namespace ezone
