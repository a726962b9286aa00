// TLS on the ingress HTTP server (HttpServerOptions::tls) and in the
// control-plane client (storage/net/http_client): what is accepted, what is
// refused and with which message, and that a bad client costs the server a
// counter, never its service. The certificates are in tests/data/tls (made
// by tools/tls/make-certs, valid until 2126).
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <future>
#include <filesystem>
#include <fstream>
#include <string>

#include "actors/http/http_forwarder.hpp"
#include "actors/http/http_server.hpp"
#include "storage/net/http_client.hpp"
#include "storage/net/tls.hpp"
#include "tests/actors/router/raw_http.hpp"
#include "tests/support/eventually.hpp"

namespace ezone {
namespace {

using net::TlsContext;
using net::TlsFiles;
using test::eventually;

std::string tls_file(const std::string& name) { return std::string(EZONE_TEST_SOURCE_DIR) + "/tests/data/tls/" + name; }

TlsFiles node_files(const std::string& client_ca = "") {
  return {tls_file("node.crt"), tls_file("node.key"), client_ca};
}

net::TlsContextPtr client_context(const std::string& ca, const std::string& cert = "", const std::string& key = "") {
  auto c = TlsContext::client({cert.empty() ? "" : tls_file(cert), key.empty() ? "" : tls_file(key), tls_file(ca)});
  EXPECT_TRUE(c.ok()) << c.status().to_string();
  return c.ok() ? *c : nullptr;
}

class TlsServerTest : public ::testing::Test {
 protected:
  void start(const TlsFiles& files, int64_t request_timeout_ms = 2000) {
    auto context = TlsContext::server(files);
    ASSERT_TRUE(context.ok()) << context.status().to_string();
    server_tls_ = *context;
    HttpServerOptions o;
    o.name = "admin";
    o.config_key = "node.admin";
    o.bind = {"127.0.0.1", 0};
    o.request_timeout_ms = request_timeout_ms;
    o.ezone = "bj";
    o.tls = *context;
    auto s = HttpServer::start(std::move(o), make_async_handler([](const HttpRequest& r) {
                                 return HttpResponse::text(200, "echo " + r.method + " " + r.target + " " + r.body);
                               }),
                               metrics_);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    server_ = std::move(*s);
  }
  HostPort at(const std::string& host = "127.0.0.1") const { return {host, server_->port()}; }
  Result<net::HttpResponse> get(const net::TlsContextPtr& tls, const std::string& host = "127.0.0.1") {
    return net::http_request(at(host), "GET", "/x", "", "", 3000, tls);
  }
  uint64_t counter(const std::string& name) { return metrics_.counter(name, "", {{"server", "admin"}}).value(); }
  void expect_serving() {
    auto r = get(client_context("ca.crt"));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->body, "echo GET /x ");
  }

  Metrics metrics_{"bj"};
  net::TlsContextPtr server_tls_;
  std::unique_ptr<HttpServer> server_;
};

void copy_file(const std::string& from, const std::string& to) {
  std::filesystem::copy_file(from, to, std::filesystem::copy_options::overwrite_existing);
}

TEST(TlsContextTest, BadFilesAreRefusedNamingTheFile) {
  auto missing = TlsContext::server({tls_file("nope.crt"), tls_file("node.key"), ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Errc::not_found);
  EXPECT_NE(missing.status().message().find("nope.crt"), std::string::npos) << missing.status().message();

  // A key that is not the certificate's.
  auto mismatch = TlsContext::server({tls_file("node.crt"), tls_file("client.key"), ""});
  ASSERT_FALSE(mismatch.ok());
  EXPECT_EQ(mismatch.status().code(), Errc::invalid_argument);
  EXPECT_NE(mismatch.status().message().find("does not belong"), std::string::npos) << mismatch.status().message();

  // Something that is not PEM (a key given as the certificate, the reverse).
  auto garbage = TlsContext::server({tls_file("node.key"), tls_file("node.crt"), ""});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.status().code(), Errc::invalid_argument);
  EXPECT_NE(garbage.status().message().find("node.key"), std::string::npos) << garbage.status().message();

  auto bad_ca = TlsContext::client({"", "", tls_file("node.key")});
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_NE(bad_ca.status().message().find("CA file"), std::string::npos) << bad_ca.status().message();

  EXPECT_EQ(TlsContext::client({"", "", ""}).status().code(), Errc::invalid_argument);
  EXPECT_EQ(TlsContext::client({tls_file("client.crt"), "", tls_file("ca.crt")}).status().code(),
            Errc::invalid_argument);
  EXPECT_EQ(TlsContext::server({"", "", tls_file("ca.crt")}).status().code(), Errc::invalid_argument);

  auto mtls = TlsContext::server(node_files(tls_file("ca.crt")));
  ASSERT_TRUE(mtls.ok()) << mtls.status().to_string();
  EXPECT_TRUE((*mtls)->requires_client_cert());
  EXPECT_FALSE((*TlsContext::server(node_files()))->requires_client_cert());
}

TEST_F(TlsServerTest, AClientThatTrustsTheCaIsServedOverOneKeepAliveConnection) {
  start(node_files());
  net::HttpConnection connection(at(), client_context("ca.crt"));
  for (int i = 0; i < 3; ++i) {
    net::HttpRequest request{"POST", "/y", "body" + std::to_string(i), "text/plain", {}};
    auto r = connection.request(request, 3000);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "echo POST /y body" + std::to_string(i));
  }
  EXPECT_EQ(counter("ezone_http_requests_total"), 3u);
  EXPECT_EQ(metrics_.gauge("ezone_http_open_connections", "", {{"server", "admin"}}).value(), 1);
  // The name is checked too: "localhost" is in the certificate.
  auto by_name = get(client_context("ca.crt"), "localhost");
  ASSERT_TRUE(by_name.ok()) << by_name.status().to_string();
  EXPECT_EQ(counter("ezone_http_tls_handshake_failures_total"), 0u);
}

TEST_F(TlsServerTest, AServerThatTheClientCannotVerifyIsRefusedWithTheReason) {
  // Signed by a CA the client does not trust.
  start({tls_file("untrusted/node.crt"), tls_file("untrusted/node.key"), ""});
  auto r = get(client_context("ca.crt"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::unavailable);
  EXPECT_NE(r.status().message().find("TLS handshake with 127.0.0.1:"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("unable to get local issuer certificate"), std::string::npos)
      << r.status().message();
  // The server sees a client that gave up during the handshake.
  EXPECT_TRUE(eventually([&] { return counter("ezone_http_tls_handshake_failures_total") == 1; }));
}

TEST_F(TlsServerTest, ACertificateForAnotherNameIsRefused) {
  start({tls_file("wrong-name.crt"), tls_file("wrong-name.key"), ""});
  auto r = get(client_context("ca.crt"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("certificate verify failed"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("IP address mismatch"), std::string::npos) << r.status().message();
  auto by_name = get(client_context("ca.crt"), "localhost");
  ASSERT_FALSE(by_name.ok());
  EXPECT_NE(by_name.status().message().find("hostname mismatch"), std::string::npos) << by_name.status().message();
}

TEST_F(TlsServerTest, PlainHttpAndSilentClientsCostACounterNotTheService) {
  start(node_files(), /*request_timeout_ms=*/300);
  // Plain HTTP at a TLS port: not a TLS hello, so the handshake fails.
  auto plain = net::http_request(at(), "GET", "/x", "", "", 2000);
  EXPECT_FALSE(plain.ok() && plain->status == 200);
  EXPECT_TRUE(eventually([&] { return counter("ezone_http_tls_handshake_failures_total") == 1; }));
  expect_serving();

  // A client that connects and says nothing is closed after the request
  // timeout, and counted.
  test::RawConnection silent(server_->port());
  ASSERT_TRUE(silent.connected());
  auto begun = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.wait_closed(3000));
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - begun);
  EXPECT_GE(waited.count(), 250);
  EXPECT_EQ(counter("ezone_http_tls_handshake_failures_total"), 2u);
  expect_serving();
}

TEST_F(TlsServerTest, WithAClientCaEveryClientNeedsACertificateFromIt) {
  start(node_files(tls_file("ca.crt")));
  auto without = get(client_context("ca.crt"));
  EXPECT_FALSE(without.ok()) << "a client without a certificate was served";

  auto with = get(client_context("ca.crt", "client.crt", "client.key"));
  ASSERT_TRUE(with.ok()) << with.status().to_string();
  EXPECT_EQ(with->body, "echo GET /x ");

  // A certificate from another CA is no better than none.
  auto untrusted = get(client_context("ca.crt", "untrusted/node.crt", "untrusted/node.key"));
  EXPECT_FALSE(untrusted.ok()) << "a client with an untrusted certificate was served";
  EXPECT_TRUE(eventually([&] { return counter("ezone_http_tls_handshake_failures_total") == 2; }));
}

// A reload (a renewed certificate) applies to the connections that come
// after it; one open before it keeps its own; a file that cannot be loaded
// keeps the certificate in force.
TEST_F(TlsServerTest, AReloadAppliesToNewConnectionsAndABadFileKeepsTheOneInForce) {
  std::string dir = ::testing::TempDir() + "ezone-tls-reload-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const TlsFiles files{dir + "/node.crt", dir + "/node.key", ""};
  copy_file(tls_file("wrong-name.crt"), files.cert_file);  // names elsewhere.invalid
  copy_file(tls_file("wrong-name.key"), files.key_file);
  start(files);
  auto before = get(client_context("ca.crt"));
  ASSERT_FALSE(before.ok());
  EXPECT_NE(before.status().message().find("IP address mismatch"), std::string::npos) << before.status().message();
  auto unchanged = server_tls_->reload();
  ASSERT_TRUE(unchanged.ok()) << unchanged.status().to_string();
  EXPECT_FALSE(*unchanged);

  copy_file(tls_file("node.crt"), files.cert_file);  // renewed: names 127.0.0.1
  copy_file(tls_file("node.key"), files.key_file);
  auto changed = server_tls_->reload();
  ASSERT_TRUE(changed.ok()) << changed.status().to_string();
  EXPECT_TRUE(*changed);
  net::HttpConnection kept(at(), client_context("ca.crt"));
  auto first = kept.request(net::HttpRequest{"GET", "/x", "", "", {}}, 3000);
  ASSERT_TRUE(first.ok()) << first.status().to_string();

  // A half-written certificate: refused, and the renewed one stays.
  std::ofstream(files.cert_file) << "-----BEGIN CERTIFICATE-----\nMIIB\n";
  auto broken = server_tls_->reload();
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find(files.cert_file), std::string::npos) << broken.status().message();
  expect_serving();
  auto again = kept.request(net::HttpRequest{"GET", "/x", "", "", {}}, 3000);
  EXPECT_TRUE(again.ok()) << again.status().to_string();
  std::filesystem::remove_all(dir);
}

// The router's forwarder with a client context ([tls] http): HTTPS to the
// upstream, one connection reused for consecutive requests; an upstream
// whose certificate does not verify is a connect_error (nothing was sent,
// so a caller may try another), saying why.
TEST_F(TlsServerTest, TheForwarderSpeaksTlsAndRefusesAnUpstreamItCannotVerify) {
  start(node_files());
  auto io = IoThreads::start(1, "fwd-tls");
  HttpForwarderOptions options;
  options.tls = client_context("ca.crt");
  auto forwarder = HttpForwarder::create(options, io, metrics_);
  auto call = [&](const HostPort& to) {
    auto answer = std::make_shared<std::promise<HttpResponse>>();
    auto got = answer->get_future();
    forwarder->forward(to, HttpRequest{"POST", "/y", {{"host", "test"}}, "body"},
                       make_responder([answer](HttpResponse&& r) { answer->set_value(std::move(r)); }));
    EXPECT_EQ(got.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    return got.get();
  };
  for (int i = 0; i < 3; ++i) {
    HttpResponse r = call(at());
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.body, "echo POST /y body");
  }
  EXPECT_EQ(forwarder->connections_opened(), 1u);

  Metrics other_metrics{"sh"};
  HttpServerOptions o;
  o.name = "untrusted";
  o.config_key = "node.http";
  o.bind = {"127.0.0.1", 0};
  o.tls = *TlsContext::server({tls_file("untrusted/node.crt"), tls_file("untrusted/node.key"), ""});
  auto untrusted = HttpServer::start(o, make_async_handler([](const HttpRequest&) { return HttpResponse::text(200, "no"); }),
                                     other_metrics);
  ASSERT_TRUE(untrusted.ok());
  HttpResponse refused = call({"127.0.0.1", (*untrusted)->port()});
  EXPECT_EQ(refused.status, 502) << refused.body;
  ASSERT_NE(refused.find_header(kForwardErrorHeader), nullptr);
  EXPECT_EQ(*refused.find_header(kForwardErrorHeader), "connect_error");
  EXPECT_NE(refused.body.find("TLS handshake failed: certificate verify failed"), std::string::npos) << refused.body;
  EXPECT_EQ(other_metrics.counter("ezone_http_requests_total", "", {{"server", "untrusted"}}).value(), 0u);
  (*untrusted)->stop();
  io->stop();
}

// tools/tls/make-certs makes what [tls] and the clients load: a CA, and
// certificates that serve and verify by IP address or DNS name, with keys
// only their owner may read. (Runs the openssl tool, as an operator would.)
TEST_F(TlsServerTest, MakeCertsMakesACaAndCertificatesThatWork) {
  std::string dir = ::testing::TempDir() + "ezone-make-certs-XXXXXX";
  ASSERT_NE(::mkdtemp(dir.data()), nullptr);
  const std::string script = std::string(EZONE_TEST_SOURCE_DIR) + "/tools/tls/make-certs";
  auto run = [&](const std::string& args) {
    int rc = std::system(("timeout 60 bash " + script + " " + dir + " " + args + " >/dev/null 2>&1").c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  };
  ASSERT_EQ(run("bj=127.0.0.1,localhost ops=ops"), 0);
  start({dir + "/bj.crt", dir + "/bj.key", dir + "/ca.crt"});
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto client = TlsContext::client({dir + "/ops.crt", dir + "/ops.key", dir + "/ca.crt"});
    ASSERT_TRUE(client.ok()) << client.status().to_string();
    auto r = get(*client, host);
    ASSERT_TRUE(r.ok()) << host << ": " << r.status().to_string();
    EXPECT_EQ(r->status, 200);
  }
  struct stat st {};
  ASSERT_EQ(::stat((dir + "/bj.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // A second run keeps the CA, so earlier certificates still verify.
  const std::string ca_before = std::to_string(std::filesystem::last_write_time(dir + "/ca.crt").time_since_epoch().count());
  ASSERT_EQ(run("sh=127.0.0.1"), 0);
  EXPECT_EQ(std::to_string(std::filesystem::last_write_time(dir + "/ca.crt").time_since_epoch().count()), ca_before);
  EXPECT_TRUE(TlsContext::server({dir + "/sh.crt", dir + "/sh.key", dir + "/ca.crt"}).ok());
  EXPECT_EQ(run("no-equals-sign"), 2);
  EXPECT_EQ(run("x="), 2);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace ezone
