// The control-plane HTTP client against peers that answer, refuse, stay
// silent, speak garbage, or stream.
#include "storage/net/http_client.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/support/fake_http_server.hpp"
#include "tests/support/ports.hpp"

namespace ezone::net {
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

// Answers every request on a connection with the same JSON body.
void answer_all(FakeConnection& connection) {
  while (!connection.read_request().empty())
    if (!connection.send(test::http_response(200, R"({"ok":true})"))) return;
}

std::string chunk(const std::string& data) {
  char size[16];
  std::snprintf(size, sizeof size, "%zx", data.size());
  return std::string(size) + "\r\n" + data + "\r\n";
}

const char* kStreamHeader = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n";

TEST(HttpClient, ReturnsStatusBodyAndContentType) {
  auto server = serve(answer_all);
  auto response = http_request(server->endpoint(), "POST", "/x", "{}", "application/json", 2000);
  ASSERT_TRUE(response.ok()) << response.status().to_string();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"ok":true})");
  EXPECT_EQ(response->content_type, "application/json");
}

TEST(HttpClient, KeepAliveConnectionReusesOneSocket) {
  auto server = serve(answer_all);
  HttpConnection connection(server->endpoint());
  for (int i = 0; i < 5; ++i) {
    auto response = connection.request({"GET", "/x", "", "", {}}, 2000);
    ASSERT_TRUE(response.ok()) << response.status().to_string();
  }
  EXPECT_EQ(server->connections(), 1u);
}

TEST(HttpClient, ReconnectsWhenServerClosedIdleConnection) {
  auto server = serve([](FakeConnection& connection) {
    if (!connection.read_request().empty()) connection.send(test::http_response(200, "{}"));
  });  // one answer per connection, then close
  HttpConnection connection(server->endpoint());
  for (int i = 0; i < 3; ++i) {
    auto response = connection.request({"GET", "/x", "", "", {}}, 2000);
    ASSERT_TRUE(response.ok()) << i << ": " << response.status().to_string();
    auto deadline = Steady::now() + std::chrono::seconds(5);
    while (server->closed_connections() < static_cast<size_t>(i + 1) && Steady::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(server->connections(), 3u);
}

TEST(HttpClient, RefusedConnectionFailsFastAsUnavailableNamingTheAddress) {
  HostPort dead{"127.0.0.1", test::free_loopback_port()};
  HttpConnection connection(dead);
  bool maybe_sent = true;
  auto start = Steady::now();
  auto response = connection.request({"GET", "/x", "", "", {}}, 5000, &maybe_sent);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Errc::unavailable);
  EXPECT_NE(response.status().message().find(dead.to_string()), std::string::npos)
      << response.status().message();
  EXPECT_FALSE(maybe_sent);
  EXPECT_LT(ms_since(start), 1000);
}

TEST(HttpClient, SilentServerTimesOutWithinTheBound) {
  auto server = serve([](FakeConnection& connection) {
    connection.read_request();
    connection.wait_for_stop(60000);
  });
  bool maybe_sent = false;
  HttpConnection connection(server->endpoint());
  auto start = Steady::now();
  auto response = connection.request({"GET", "/x", "", "", {}}, 300, &maybe_sent);
  int64_t elapsed = ms_since(start);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Errc::timeout);
  EXPECT_TRUE(maybe_sent);
  EXPECT_GE(elapsed, 250);
  EXPECT_LT(elapsed, 2000);
}

TEST(HttpClient, GarbageAnswerIsParseError) {
  auto server = serve([](FakeConnection& connection) {
    connection.read_request();
    connection.send("HELLO THERE\r\n\r\n");
  });
  auto response = http_request(server->endpoint(), "GET", "/x", "", "", 2000);
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), Errc::parse_error) << response.status().to_string();
}

TEST(HttpClient, RejectsBadArguments) {
  HostPort somewhere{"127.0.0.1", 1};
  EXPECT_EQ(http_request(somewhere, "GET", "/", "", "", 0).status().code(), Errc::invalid_argument);
  EXPECT_EQ(http_request(somewhere, "GET", "nope", "", "", 100).status().code(),
            Errc::invalid_argument);
}

TEST(HttpStream, DeliversPiecesUntilTheServerEndsTheBody) {
  auto server = serve([](FakeConnection& connection) {
    connection.read_request();
    connection.send(kStreamHeader);
    for (const char* line : {"{\"n\":1}\n", "{\"n\":2}\n", "{\"n\":3}\n"}) {
      connection.send(chunk(line));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    connection.send("0\r\n\r\n");
  });
  std::atomic<bool> cancel{false};
  std::string received;
  auto end = http_stream(server->endpoint(), {"POST", "/watch", "{}", "application/json", {}}, 2000,
                         cancel, [&](const std::string& piece) {
                           received += piece;
                           return true;
                         });
  ASSERT_TRUE(end.ok()) << end.status().to_string();
  EXPECT_EQ(*end, StreamEnd::server_closed);
  EXPECT_EQ(received, "{\"n\":1}\n{\"n\":2}\n{\"n\":3}\n");
}

TEST(HttpStream, StopsWhenTheCallbackDeclines) {
  auto server = serve([](FakeConnection& connection) {
    connection.read_request();
    connection.send(std::string(kStreamHeader) + chunk("first\n"));
    connection.wait_for_stop(60000);
  });
  std::atomic<bool> cancel{false};
  auto end = http_stream(server->endpoint(), {"POST", "/watch", "{}", "", {}}, 2000, cancel,
                         [](const std::string&) { return false; });
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, StreamEnd::stopped);
}

TEST(HttpStream, CancelFromAnotherThreadIsPrompt) {
  auto server = serve([](FakeConnection& connection) {
    connection.read_request();
    connection.send(std::string(kStreamHeader) + chunk("hello\n"));
    connection.wait_for_stop(60000);
  });
  std::atomic<bool> cancel{false};
  Steady::time_point cancelled_at;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancelled_at = Steady::now();
    cancel.store(true);
  });
  auto end = http_stream(server->endpoint(), {"POST", "/watch", "{}", "", {}}, 2000, cancel,
                         [](const std::string&) { return true; });
  auto returned_at = Steady::now();
  canceller.join();
  ASSERT_TRUE(end.ok());
  EXPECT_EQ(*end, StreamEnd::cancelled);
  // Typically ~20 ms (one poll slice). The bound is loose so a loaded
  // machine cannot fail it; without cancel support this call never returns.
  EXPECT_LT(std::chrono::duration_cast<std::chrono::milliseconds>(returned_at - cancelled_at).count(),
            1000);
}

TEST(HttpStream, Non2xxStatusIsAnErrorQuotingTheBody) {
  auto server = serve([](FakeConnection& connection) {
    connection.read_request();
    connection.send(test::http_response(503, "no leader"));
  });
  std::atomic<bool> cancel{false};
  bool called = false;
  auto end = http_stream(server->endpoint(), {"POST", "/watch", "{}", "", {}}, 2000, cancel,
                         [&](const std::string&) { return called = true; });
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.status().code(), Errc::unavailable);
  EXPECT_NE(end.status().message().find("no leader"), std::string::npos) << end.status().message();
  EXPECT_FALSE(called);
}

TEST(HttpStream, RefusedConnectionIsUnavailable) {
  std::atomic<bool> cancel{false};
  HostPort dead{"127.0.0.1", test::free_loopback_port()};
  auto end = http_stream(dead, {"POST", "/watch", "{}", "", {}}, 2000, cancel,
                         [](const std::string&) { return true; });
  ASSERT_FALSE(end.ok());
  EXPECT_EQ(end.status().code(), Errc::unavailable);
}

}  // namespace
}  // namespace ezone::net
