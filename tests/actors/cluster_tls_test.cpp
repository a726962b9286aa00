// TLS on the cluster port (actors/cluster/bounded_backend.hpp), between CAF
// actor systems in one process as two nodes' are: a trusted pair talks,
// large messages included; every mismatch (a plain peer on either side, a
// certificate from another CA, one for another name) is refused at the
// handshake, counted, and told with its reason and a hint.
#include "actors/cluster/bounded_backend.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "core/metrics.hpp"
#include "tests/support/eventually.hpp"

namespace ezone {
namespace {

const std::string kTls = std::string(EZONE_TEST_SOURCE_DIR) + "/tests/data/tls";

// One actor system on the bounded backend; with TLS when given the files
// (the CA, and the certificate it presents both ways).
class Side {
 public:
  // heartbeats: as the node sets them, so a silent peer is given up and
  // connects end. Without them no byte arrives that the test did not send.
  explicit Side(const std::string& ca = "", const std::string& cert = "", const std::string& key = "",
                bool heartbeats = true)
      : config_(std::make_unique<ClusterSystemConfig>()) {
    ClusterSystemConfig& c = *config_;
    c.set("scheduler.max-threads", size_t{2});
    c.set("middleman.workers", size_t{0});
    if (heartbeats) {
      c.set("middleman.heartbeat-interval", caf::timespan(std::chrono::milliseconds(100)));
      c.set("middleman.connection-timeout", caf::timespan(std::chrono::milliseconds(1000)));
    }
    c.set("logger.file-verbosity", caf::atom("quiet"));
    c.set("logger.console-verbosity", caf::atom("quiet"));
    if (!ca.empty()) {
      auto server = net::TlsContext::server({cert, key, ca});
      auto client = net::TlsContext::client({cert, key, ca});
      EXPECT_TRUE(server.ok() && client.ok());
      c.tls.server = server.ok() ? *server : nullptr;
      c.tls.client = client.ok() ? *client : nullptr;
      c.tls.handshake_failures = &metrics_.counter("failures", "");
      c.tls.on_failure = [this](const std::string& why) {
        std::lock_guard<std::mutex> lock(mutex_);
        failures_.push_back(why);
      };
    }
    c.limits.refused = &metrics_.counter("refused", "");
    system_ = std::make_unique<caf::actor_system>(c);
  }
  ~Side() {
    // The system waits for its actors when it goes.
    for (const auto& a : actors_) caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }

  // Publishes an actor that answers an int with its successor and a string
  // with its size; returns the port.
  uint16_t publish() {
    auto echo = system_->spawn([]() -> caf::behavior {
      return {[](int x) { return x + 1; }, [](const std::string& s) { return static_cast<int>(s.size()); }};
    });
    actors_.push_back(echo);
    auto port = system_->middleman().publish(echo, 0, "127.0.0.1");
    EXPECT_TRUE(port) << system_->render(port.error());
    return port ? *port : 0;
  }
  caf::expected<caf::actor> connect(uint16_t port, const std::string& host = "127.0.0.1") {
    return system_->middleman().remote_actor(host, port);
  }
  // The answer of `remote` to x, or -1.
  template <class T>
  int ask(const caf::actor& remote, const T& x) {
    caf::scoped_actor self{*system_};
    int answer = -1;
    self->request(remote, std::chrono::seconds(10), x).receive([&](int r) { answer = r; }, [](caf::error&) {});
    return answer;
  }
  // Sends n ints at once, then takes the n answers; how many were right.
  int ask_burst(const caf::actor& remote, int n) {
    caf::scoped_actor self{*system_};
    for (int i = 0; i < n; ++i) self->send(remote, i);
    int right = 0;
    for (int i = 0; i < n; ++i) {
      bool got = false;
      self->receive([&](int r) { right += r >= 1 && r <= n; got = true; },
                    caf::after(std::chrono::seconds(10)) >> [] {});
      if (!got) break;
    }
    return right;
  }
  bool failed_with(const std::string& words) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& f : failures_)
      if (f.find(words) != std::string::npos) return true;
    return false;
  }
  std::string failures() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string out;
    for (const auto& f : failures_) out += f + "\n";
    return out;
  }
  uint64_t failure_count() { return metrics_.counter("failures", "").value(); }

 private:
  Metrics metrics_{"test"};
  std::unique_ptr<ClusterSystemConfig> config_;
  std::mutex mutex_;
  std::vector<std::string> failures_;
  std::vector<caf::actor> actors_;
  std::unique_ptr<caf::actor_system> system_;  // last: stopped before the rest goes
};

std::unique_ptr<Side> trusted(bool heartbeats = true) {
  return std::make_unique<Side>(kTls + "/ca.crt", kTls + "/node.crt", kTls + "/node.key", heartbeats);
}

TEST(ClusterTls, TrustedPeersTalkAndABigMessageCrossesWhole) {
  auto server = trusted();
  auto client = trusted();
  const uint16_t port = server->publish();
  auto remote = client->connect(port);
  ASSERT_TRUE(remote) << client->failures() << server->failures();
  EXPECT_EQ(client->ask(*remote, 41), 42);
  // Many TLS records each way: partial writes, and records decrypted ahead.
  const std::string big(8 << 20, 'x');
  EXPECT_EQ(client->ask(*remote, big), static_cast<int>(big.size()));
  EXPECT_EQ(client->ask(*remote, 1), 2);
  EXPECT_EQ(server->failure_count() + client->failure_count(), 0u) << server->failures() << client->failures();
}

// Hundreds of small messages share a few TLS records, so one record holds
// more BASP messages than CAF reads per event. What OpenSSL has decrypted
// must still be read although the socket has nothing more: with no
// heartbeats, nothing else would wake the connection.
TEST(ClusterTls, ABurstOfSmallMessagesIsReadWholeFromTheRecordsThatCarryIt) {
  auto server = trusted(false);
  auto client = trusted(false);
  auto remote = client->connect(server->publish());
  ASSERT_TRUE(remote) << client->failures() << server->failures();
  EXPECT_EQ(client->ask_burst(*remote, 1000), 1000);
}

TEST(ClusterTls, APlainPeerIsRefusedOnEitherSideWithAHint) {
  auto tls_server = trusted();
  Side plain_client;
  EXPECT_FALSE(plain_client.connect(tls_server->publish()));
  // The plain client's BASP bytes reach the TLS server, which finds no TLS in them.
  EXPECT_TRUE(test::eventually([&] { return tls_server->failed_with("the peer does not speak TLS"); }))
      << tls_server->failures();

  Side plain_server;
  auto tls_client = trusted();
  EXPECT_FALSE(tls_client->connect(plain_server.publish()));
  EXPECT_TRUE(test::eventually([&] { return tls_client->failed_with("the peer does not speak TLS"); }))
      << tls_client->failures();
  EXPECT_GE(tls_client->failure_count(), 1u);
}

TEST(ClusterTls, ACertificateFromAnotherCaOrForAnotherNameIsRefused) {
  auto server = trusted();
  const uint16_t port = server->publish();
  // The stranger trusts the cluster's CA, but its own certificate is from another.
  Side stranger(kTls + "/ca.crt", kTls + "/untrusted/node.crt", kTls + "/untrusted/node.key");
  EXPECT_FALSE(stranger.connect(port));
  EXPECT_TRUE(test::eventually([&] { return server->failed_with("certificate verify failed"); })) << server->failures();

  // A server whose certificate names another host than the one dialled.
  Side misnamed(kTls + "/ca.crt", kTls + "/wrong-name.crt", kTls + "/wrong-name.key");
  auto client = trusted();
  EXPECT_FALSE(client->connect(misnamed.publish()));
  EXPECT_TRUE(test::eventually([&] { return client->failed_with("IP address mismatch"); })) << client->failures();
}

}  // namespace
}  // namespace ezone
