// EtcdMetaStore against a real etcd (started on free loopback ports): races,
// restarts, kills, pauses and dead endpoints. The semantics it shares with
// MemoryMetaStore are in meta_store_conformance_test.cpp.
#include "storage/etcd/etcd_meta_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/metrics.hpp"
#include "tests/support/etcd_process.hpp"
#include "tests/support/fake_http_server.hpp"
#include "tests/support/ports.hpp"
#include "tests/support/watch_recorder.hpp"

namespace ezone::meta {
namespace {

using Steady = std::chrono::steady_clock;
using test::EtcdProcess;
using test::WatchRecorder;

constexpr int64_t kWaitMs = 15000;

int64_t ms_since(Steady::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - start).count();
}

std::unique_ptr<EtcdMetaStore> make_store(std::vector<HostPort> endpoints,
                                          int64_t request_timeout_ms = 2000,
                                          Metrics* metrics = nullptr,
                                          net::TlsContextPtr tls = nullptr) {
  EtcdMetaStoreConfig config;
  config.endpoints = std::move(endpoints);
  config.request_timeout_ms = request_timeout_ms;
  config.metrics = metrics;
  config.tls = std::move(tls);
  auto store = EtcdMetaStore::create(config);
  EXPECT_TRUE(store.ok()) << store.status().to_string();
  return std::move(store).value();
}

HostPort dead_endpoint() { return {"127.0.0.1", test::free_loopback_port()}; }

class EtcdMetaStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto etcd = EtcdProcess::start();
    ASSERT_TRUE(etcd.ok()) << etcd.status().to_string();
    etcd_ = std::move(etcd).value();
    store_ = make_store({etcd_->endpoint()});
  }

  std::unique_ptr<EtcdProcess> etcd_;
  std::unique_ptr<EtcdMetaStore> store_;
};

TEST(EtcdMetaStoreConfig, RejectsEmptyEndpointsAndBadTimeouts) {
  EXPECT_EQ(EtcdMetaStore::create({}).status().code(), Errc::invalid_argument);
  EtcdMetaStoreConfig config;
  config.endpoints = {{"127.0.0.1", 2379}};
  config.request_timeout_ms = 0;
  EXPECT_EQ(EtcdMetaStore::create(config).status().code(), Errc::invalid_argument);
}

TEST_F(EtcdMetaStoreTest, ConcurrentCasWithTheSameExpectationHasExactlyOneWinner) {
  auto other = make_store({etcd_->endpoint()});
  for (int round = 0; round < 20; ++round) {
    std::string key = "race/" + std::to_string(round);
    Result<TxnResult> a = Status(Errc::internal, "not run");
    Result<TxnResult> b = Status(Errc::internal, "not run");
    std::thread writer([&] { a = store_->cas(key, 0, "a"); });
    b = other->cas(key, 0, "b");
    writer.join();
    ASSERT_TRUE(a.ok() && b.ok()) << a.status().to_string() << " / " << b.status().to_string();
    ASSERT_NE(a->succeeded, b->succeeded) << "round " << round;
    const TxnResult& loser = a->succeeded ? *b : *a;
    ASSERT_EQ(loser.current.size(), 1u);
    EXPECT_EQ(loser.current[0].value, a->succeeded ? "a" : "b");
  }
}

TEST_F(EtcdMetaStoreTest, WatchSurvivesAnEtcdRestart) {
  WatchRecorder recorder;
  auto watch = store_->watch("epoch/", true, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok()) << watch.status().to_string();
  ASSERT_TRUE(store_->put("epoch/current", "1").ok());
  ASSERT_TRUE(recorder.wait_events(1, kWaitMs));

  etcd_->stop();
  ASSERT_TRUE(recorder.wait_status(Errc::unavailable, kWaitMs));
  ASSERT_TRUE(etcd_->restart().is_ok()) << etcd_->log_tail();
  ASSERT_TRUE(recorder.wait_status(Errc::ok, kWaitMs));

  ASSERT_TRUE(store_->put("epoch/current", "2").ok());
  ASSERT_TRUE(recorder.wait_events(2, kWaitMs));
  auto events = recorder.events();
  ASSERT_EQ(events.size(), 2u);  // nothing replayed twice
  EXPECT_EQ(events[1].kv.value, "2");
  EXPECT_EQ(recorder.status_count(Errc::unavailable), 1u);
  EXPECT_FALSE(recorder.saw_overlap());
}

TEST_F(EtcdMetaStoreTest, WatchResumesWithoutLosingEventsWrittenDuringTheBreak) {
  WatchRecorder recorder;
  auto watch = store_->watch("k", false, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok());
  // Write right after the restart, while the watch still backs off: it must
  // replay these from its resume revision when it reconnects.
  etcd_->stop();
  ASSERT_TRUE(recorder.wait_status(Errc::unavailable, kWaitMs));
  ASSERT_TRUE(etcd_->restart().is_ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(store_->put("k", std::to_string(i)).ok());
  ASSERT_TRUE(recorder.wait_events(5, kWaitMs));
  auto events = recorder.events();
  ASSERT_EQ(events.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(events[i].kv.value, std::to_string(i));
}

TEST_F(EtcdMetaStoreTest, HealthFailsWithUnavailableAfterEtcdIsKilled) {
  auto store = make_store({etcd_->endpoint()}, 10000);
  ASSERT_TRUE(store->health().is_ok());
  etcd_->kill9();
  auto start = Steady::now();
  Status health = store->health();
  EXPECT_EQ(health.code(), Errc::unavailable) << health.to_string();
  EXPECT_NE(health.message().find(etcd_->endpoint().to_string()), std::string::npos)
      << health.message();
  EXPECT_LT(ms_since(start), 2000);  // refused at once, not the 10 s timeout
}

TEST_F(EtcdMetaStoreTest, PausedEtcdTimesOutWithinTheRequestBound) {
  auto store = make_store({etcd_->endpoint()}, 500);
  ASSERT_TRUE(etcd_->sigstop());
  auto start = Steady::now();
  auto read = store->range("x");
  int64_t elapsed = ms_since(start);
  ASSERT_TRUE(etcd_->sigcont());
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), Errc::timeout) << read.status().to_string();
  EXPECT_LT(elapsed, 3000);
}

TEST_F(EtcdMetaStoreTest, FailsOverFromADeadEndpointToALiveOne) {
  auto store = make_store({dead_endpoint(), etcd_->endpoint()});
  auto put = store->put("failover", "ok");
  ASSERT_TRUE(put.ok()) << put.status().to_string();
  WatchRecorder recorder;
  auto watch = store->watch("failover", false, *put, recorder.callbacks());
  ASSERT_TRUE(watch.ok()) << watch.status().to_string();
  ASSERT_TRUE(recorder.wait_events(1, kWaitMs));
}

TEST_F(EtcdMetaStoreTest, WatchDestructionIsPrompt) {
  auto store = make_store({etcd_->endpoint()}, 10000);
  WatchRecorder recorder;
  auto watch = store->watch("quiet", false, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok());
  auto start = Steady::now();
  watch->reset();
  // Typically ~20 ms. A watch that waited for its idle stream or for the
  // request timeout would take 10 s or forever; the loose bound keeps a
  // loaded machine from failing the test.
  EXPECT_LT(ms_since(start), 1000);
}

TEST_F(EtcdMetaStoreTest, WatchDestructionIsPromptWhileReconnecting) {
  WatchRecorder recorder;
  auto watch = store_->watch("quiet", false, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok());
  etcd_->kill9();
  ASSERT_TRUE(recorder.wait_status(Errc::unavailable, kWaitMs));
  auto start = Steady::now();
  watch->reset();
  EXPECT_LT(ms_since(start), 1000);
}

TEST_F(EtcdMetaStoreTest, WatchCanBeDestroyedFromItsOwnCallback) {
  std::unique_ptr<Watch> watch;
  std::mutex mutex;
  std::atomic<int> calls{0};
  WatchCallbacks callbacks;
  callbacks.on_events = [&](const std::vector<WatchEvent>&) {
    ++calls;
    std::lock_guard<std::mutex> lock(mutex);
    watch.reset();
  };
  {
    std::lock_guard<std::mutex> lock(mutex);
    auto created = store_->watch("self", false, 0, callbacks);
    ASSERT_TRUE(created.ok());
    watch = std::move(created).value();
  }
  ASSERT_TRUE(store_->put("self", "1").ok());
  auto deadline = Steady::now() + std::chrono::milliseconds(kWaitMs);
  while (calls.load() == 0 && Steady::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(store_->put("self", "2").ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(calls.load(), 1);
}

TEST(EtcdMetaStoreDead, RequestsToADeadEndpointFailFastAsUnavailable) {
  Metrics metrics("test");
  HostPort dead = dead_endpoint();
  auto store = make_store({dead}, 10000, &metrics);
  auto start = Steady::now();
  auto put = store->put("k", "v");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), Errc::unavailable);
  EXPECT_NE(put.status().message().find(dead.to_string()), std::string::npos)
      << put.status().message();
  EXPECT_EQ(store->health().code(), Errc::unavailable);
  WatchRecorder recorder;
  EXPECT_EQ(store->watch("k", false, 0, recorder.callbacks()).status().code(), Errc::unavailable);
  EXPECT_LT(ms_since(start), 3000);  // refused at once, not the 10 s timeout
  EXPECT_NE(metrics.render().find("ezone_etcd_errors_total"), std::string::npos);
  EXPECT_NE(metrics.render().find("kind=\"unavailable\""), std::string::npos);
}

TEST(EtcdMetaStoreDead, MalformedAnswersAreParseErrors) {
  auto server = test::FakeHttpServer::start([](test::FakeConnection& connection) {
    while (!connection.read_request().empty())
      if (!connection.send(test::http_response(200, "{\"header\":{\"revision\":[1]}}"))) return;
  });
  ASSERT_TRUE(server.ok());
  auto store = make_store({(*server)->endpoint()});
  EXPECT_EQ(store->range("k").status().code(), Errc::parse_error);
  EXPECT_EQ(store->put("k", "v").status().code(), Errc::parse_error);
  EXPECT_FALSE(store->health().is_ok());
}

TEST(EtcdCluster, ThreeMembersSurviveTheLossOfOne) {
  auto cluster = test::EtcdCluster::start(3);
  ASSERT_TRUE(cluster.ok()) << cluster.status().to_string();
  auto store = make_store((*cluster)->endpoints());
  ASSERT_TRUE(store->put("quorum", "1").ok());
  (*cluster)->member(0).kill9();
  // The survivors keep a quorum; a write goes through once a leader exists.
  Status last;
  auto deadline = Steady::now() + std::chrono::milliseconds(kWaitMs);
  while (Steady::now() < deadline) {
    auto put = store->put("quorum", "2");
    if (put.ok()) break;
    last = put.status();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto read = store->range("quorum");
  ASSERT_TRUE(read.ok()) << read.status().to_string() << " / " << last.to_string();
  ASSERT_EQ(read->kvs.size(), 1u);
  EXPECT_EQ(read->kvs[0].value, "2");
}

// TLS to etcd: an etcd that serves https:// client URLs and asks every
// client for a certificate (--client-cert-auth), as a cross-site etcd
// should. The test certificates (tests/data/tls) name 127.0.0.1.
const std::string kTlsDir = std::string(EZONE_TEST_SOURCE_DIR) + "/tests/data/tls";

net::TlsContextPtr client_tls(const std::string& ca, const std::string& cert = "", const std::string& key = "") {
  auto tls = net::TlsContext::client({cert, key, ca});
  EXPECT_TRUE(tls.ok()) << tls.status().to_string();
  return tls.ok() ? *tls : nullptr;
}

class EtcdMetaStoreTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    test::EtcdOptions options;
    options.tls_dir = kTlsDir;
    options.tls_client_certs = true;
    auto etcd = EtcdProcess::start(options);
    ASSERT_TRUE(etcd.ok()) << etcd.status().to_string();
    etcd_ = std::move(etcd).value();
  }

  std::unique_ptr<EtcdProcess> etcd_;
};

TEST_F(EtcdMetaStoreTlsTest, CallsLeasesAndAWatchWorkOverTlsAndTheWatchSurvivesARestart) {
  Metrics metrics("test");
  auto store = make_store({etcd_->endpoint()}, 2000, &metrics,
                          client_tls(kTlsDir + "/ca.crt", kTlsDir + "/client.crt", kTlsDir + "/client.key"));
  ASSERT_TRUE(store->health().is_ok()) << store->health().to_string();
  WatchRecorder recorder;
  auto watch = store->watch("epoch/", true, 0, recorder.callbacks());
  ASSERT_TRUE(watch.ok()) << watch.status().to_string();

  auto lease = store->lease_grant(5);
  ASSERT_TRUE(lease.ok()) << lease.status().to_string();
  ASSERT_TRUE(store->put("epoch/current", "1", lease->id).ok());
  ASSERT_TRUE(store->lease_keepalive(lease->id).ok());
  auto cas = store->cas("epoch/next", 0, "2");
  ASSERT_TRUE(cas.ok() && cas->succeeded) << cas.status().to_string();
  ASSERT_TRUE(recorder.wait_events(2, kWaitMs));

  // The watch resumes over TLS after a restart, and replays what it missed.
  etcd_->stop();
  ASSERT_TRUE(recorder.wait_status(Errc::unavailable, kWaitMs));
  ASSERT_TRUE(etcd_->restart().is_ok()) << etcd_->log_tail();
  ASSERT_TRUE(store->put("epoch/current", "3").ok());
  ASSERT_TRUE(recorder.wait_events(3, kWaitMs));
  auto events = recorder.events();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].kv.value, "3");
  auto read = store->range("epoch/", true);
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_EQ(read->kvs.size(), 2u);
  EXPECT_EQ(metrics.render().find("kind=\"io_error\""), std::string::npos) << metrics.render();
}

// Every way of getting TLS wrong is refused with its reason, counted, and
// bounded: no certificate, another CA, plain HTTP; the watch fails to start
// the same way. (A certificate for another name: tls_test.)
TEST_F(EtcdMetaStoreTlsTest, AClientWithoutACertificateOrTrustOrTlsIsRefusedWithTheReason) {
  struct Case {
    const char* what;
    net::TlsContextPtr tls;
    HostPort endpoint;
    const char* reason;
  };
  const HostPort by_ip = etcd_->endpoint();
  const Case cases[] = {
      {"no client certificate", client_tls(kTlsDir + "/ca.crt"), by_ip,
       "alert bad certificate (the server refused this client's certificate, or wants one)"},
      {"another CA", client_tls(kTlsDir + "/untrusted/ca.crt", kTlsDir + "/client.crt", kTlsDir + "/client.key"), by_ip,
       "certificate verify failed"},
      {"plain HTTP", nullptr, by_ip, "(if etcd serves TLS, give the client its CA: [etcd] ca_file)"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.what);
    Metrics metrics("test");
    auto store = make_store({c.endpoint}, 2000, &metrics, c.tls);
    auto start = Steady::now();
    auto put = store->put("k", "v");
    ASSERT_FALSE(put.ok());
    EXPECT_NE(put.status().message().find(c.reason), std::string::npos) << put.status().to_string();
    EXPECT_FALSE(store->health().is_ok());
    WatchRecorder recorder;
    auto watch = store->watch("k", false, 0, recorder.callbacks());
    EXPECT_FALSE(watch.ok());
    EXPECT_LT(ms_since(start), 5000);
    EXPECT_NE(metrics.render().find("ezone_etcd_errors_total"), std::string::npos);
  }
  // Nothing of it was written.
  auto store = make_store({by_ip}, 2000, nullptr,
                          client_tls(kTlsDir + "/ca.crt", kTlsDir + "/client.crt", kTlsDir + "/client.key"));
  auto read = store->range("k");
  ASSERT_TRUE(read.ok()) << read.status().to_string();
  EXPECT_TRUE(read->kvs.empty());
}

}  // namespace
}  // namespace ezone::meta
