// Several Nodes in one process, each with its own actor system, sharing an
// in-memory metadata store: membership, admin API, etcd registration and a
// clean stop (no leaked threads or ports).
#include "actors/node/node.hpp"

#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <chrono>
#include <functional>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>
#include <thread>

#include "core/clock.hpp"
#include "storage/meta/memory_meta_store.hpp"
#include "storage/net/http_client.hpp"
#include "tests/support/eventually.hpp"
#include "actors/gzs/gzs.hpp"
#include "storage/route/route_store.hpp"
#include "tests/actors/node_fixture.hpp"
#include "tests/support/ports.hpp"
#include "zones/routing/order_id.hpp"

namespace ezone {
namespace {

using namespace std::chrono_literals;
using test::eventually;

size_t thread_count() {
  size_t n = 0;
  DIR* dir = ::opendir("/proc/self/task");
  while (dirent* e = ::readdir(dir)) n += e->d_name[0] != '.';
  ::closedir(dir);
  return n;
}

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  return a;
}

bool can_bind(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in a = loopback(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

PeerState peer_state(const Node& node, const std::string& peer) {
  const MemberInfo* m = node.membership()->find(peer);
  return m ? m->state : PeerState::connecting;
}

class NodeTest : public test::TwoNodeTest {};
using test::ZonePorts;
using test::fresh_ports;
using test::make_config;

}  // namespace

TEST_F(NodeTest, TwoNodesSeeEachOtherAndServeAdmin) {
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  ASSERT_TRUE(eventually([&] { return peer_state(**bj, "sh") == PeerState::up; }));
  ASSERT_TRUE(eventually([&] { return peer_state(**sh, "bj") == PeerState::up; }));

  HostPort admin{"127.0.0.1", bj_ports_.admin};
  auto health = net::http_request(admin, "GET", "/healthz", "", "", 2000);
  ASSERT_TRUE(health.ok()) << health.status().to_string();
  EXPECT_EQ(health->status, 200);

  auto cluster = net::http_request(admin, "GET", "/admin/v1/cluster", "", "", 2000);
  ASSERT_TRUE(cluster.ok());
  auto doc = nlohmann::json::parse(cluster->body);
  EXPECT_EQ(doc["node"]["ezone"], "bj");
  ASSERT_EQ(doc["peers"].size(), 1u);
  EXPECT_EQ(doc["peers"][0]["ezone"], "sh");
  EXPECT_EQ(doc["peers"][0]["state"], "up");
  EXPECT_EQ(doc["peers"][0]["node_id"], (*sh)->membership()->self_node_id());
  EXPECT_FALSE(doc["version"].get<std::string>().empty());

  auto metrics = net::http_request(admin, "GET", "/metrics", "", "", 2000);
  ASSERT_TRUE(metrics.ok());
  EXPECT_NE(metrics->body.find("ezone_peer_up{ezone=\"bj\",peer=\"sh\"} 1"), std::string::npos)
      << metrics->body;

  auto missing = net::http_request(admin, "GET", "/nope", "", "", 2000);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
}

TEST_F(NodeTest, AnAdminTokenGuardsEveryAdminEndpointButHealthAndMetrics) {
  const std::string token = "node-test-admin-token-93a1c7e2";
  configure = [token](NodeConfig& c) { c.admin_api.token = token; };
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  const HostPort admin{"127.0.0.1", bj_ports_.admin};
  auto get = [&](const std::string& target, const std::string& authorization) {
    net::HttpRequest req{"GET", target, "", "", {}};
    if (!authorization.empty()) req.headers.emplace_back("Authorization", authorization);
    auto r = net::HttpConnection(admin).request(req, 2000);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : net::HttpResponse{};
  };

  auto none = get("/admin/v1/cluster", "");
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.body.find("Authorization: Bearer TOKEN"), std::string::npos) << none.body;
  EXPECT_NE(none.body.find("EZONE_ADMIN_TOKEN"), std::string::npos) << none.body;
  EXPECT_EQ(none.header("WWW-Authenticate"), "Bearer realm=\"ezone-admin\"");
  EXPECT_EQ(get("/nope", "").status, 401) << "paths are not revealed before the token is checked";
  auto wrong = get("/admin/v1/cluster", "Bearer " + token.substr(0, token.size() - 1) + "x");
  EXPECT_EQ(wrong.status, 401);
  EXPECT_NE(wrong.body.find("is not this node's"), std::string::npos) << wrong.body;
  EXPECT_EQ(get("/admin/v1/cluster", "Bearer " + token + "x").status, 401);
  EXPECT_EQ(get("/admin/v1/cluster", "Basic " + token).status, 401);
  EXPECT_EQ(get("/admin/v1/cluster", token).status, 401);

  auto cluster = get("/admin/v1/cluster", "Bearer " + token);
  EXPECT_EQ(cluster.status, 200);
  EXPECT_EQ(nlohmann::json::parse(cluster.body, nullptr, false)["tokens"],
            (nlohmann::json{{"admin", true}, {"service", false}, {"peer", false}}));
  EXPECT_EQ(cluster.body.find(token), std::string::npos) << "the token itself is never shown";
  EXPECT_EQ(get("/admin/v1/cluster", "bearer " + token).status, 200) << "the scheme is case-insensitive";
  EXPECT_EQ(get("/nope", "Bearer " + token).status, 404);
  EXPECT_EQ(get("/healthz", "").status, 200);
  auto metrics = get("/metrics", "");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("ezone_admin_unauthorized_total{ezone=\"bj\",reason=\"missing\"} 2"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("ezone_admin_unauthorized_total{ezone=\"bj\",reason=\"wrong\"} 4"), std::string::npos);
  EXPECT_NE(metrics.body.find("ezone_admin_token_required{ezone=\"bj\"} 1"), std::string::npos);
}

TEST_F(NodeTest, AnAdminApiWithoutATokenIsOpenAndSaysSo) {
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto r = net::http_request({"127.0.0.1", bj_ports_.admin}, "GET", "/admin/v1/cluster", "", "", 2000);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->status, 200);
  EXPECT_NE((*bj)->metrics().render().find("ezone_admin_token_required{ezone=\"bj\"} 0"), std::string::npos);
}

TEST_F(NodeTest, RegistersInEtcdAndRevokesOnStop) {
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  EXPECT_TRUE((*bj)->etcd_state().reachable);
  EXPECT_TRUE((*bj)->etcd_state().registered);
  auto kv = store_->range("/ezone/v1/nodes/bj");
  ASSERT_TRUE(kv.ok());
  ASSERT_EQ(kv->kvs.size(), 1u);
  EXPECT_NE(kv->kvs[0].lease, 0);
  EXPECT_EQ(nlohmann::json::parse(kv->kvs[0].value)["ezone"], "bj");
  (*bj)->stop();
  EXPECT_TRUE(store_->range("/ezone/v1/nodes/bj")->kvs.empty()) << "lease revoked on stop";
}

TEST_F(NodeTest, NoticesUnreachableEtcdAndRecovers) {
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  store_->set_available(false);
  ASSERT_TRUE(eventually([&] { return !(*bj)->etcd_state().reachable; }));
  EXPECT_FALSE((*bj)->etcd_state().last_error.empty());
  auto doc = nlohmann::json::parse((*bj)->cluster_json());
  EXPECT_EQ(doc["etcd"]["reachable"], false);
  store_->set_available(true);
  ASSERT_TRUE(eventually([&] { return (*bj)->etcd_state().reachable; }));
}

TEST_F(NodeTest, PeerStopAndRestartAreNoticed) {
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok());
  auto sh = start("sh");
  ASSERT_TRUE(sh.ok());
  ASSERT_TRUE(eventually([&] { return peer_state(**bj, "sh") == PeerState::up; }));
  uint64_t first = (*bj)->membership()->find("sh")->incarnation;
  sh->reset();
  ASSERT_TRUE(eventually([&] { return peer_state(**bj, "sh") == PeerState::down; }));
  auto again = start("sh");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  ASSERT_TRUE(eventually([&] { return peer_state(**bj, "sh") == PeerState::up; }));
  EXPECT_NE((*bj)->membership()->find("sh")->incarnation, first) << "a new incarnation";
}

TEST_F(NodeTest, StopReleasesThreadsAndPorts) {
  size_t before = thread_count();
  {
    auto bj = start("bj");
    ASSERT_TRUE(bj.ok());
    auto sh = start("sh");
    ASSERT_TRUE(sh.ok());
    ASSERT_TRUE(eventually([&] { return peer_state(**bj, "sh") == PeerState::up; }));
    EXPECT_GT(thread_count(), before);
  }
  EXPECT_TRUE(eventually([&] { return thread_count() == before; }, 5s))
      << thread_count() << " threads, " << before << " before";
  for (uint16_t port : {bj_ports_.http, bj_ports_.admin, bj_ports_.cluster, sh_ports_.http,
                        sh_ports_.admin, sh_ports_.cluster})
    EXPECT_TRUE(can_bind(port)) << "port " << port << " still bound";
}

// The peak resident memory of this process, in KiB.
int64_t peak_rss_kib() {
  FILE* f = std::fopen("/proc/self/status", "r");
  char line[256];
  int64_t kib = -1;
  while (f && std::fgets(line, sizeof(line), f))
    if (std::sscanf(line, "VmHWM: %ld kB", &kib) == 1) break;
  if (f) std::fclose(f);
  return kib;
}

// Sends bytes on a new connection to 127.0.0.1:port; true when the other
// side then closes it within timeout_ms.
bool closed_after_sending(uint16_t port, const std::string& bytes, int timeout_ms) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a = loopback(port);
  timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  bool closed = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size())) {
    char buf[4096];
    for (;;) {  // the node may send its own handshake first
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n > 0) continue;
      closed = n == 0 || errno == ECONNRESET;
      break;
    }
  }
  ::close(fd);
  return closed;
}

// A BASP header (CAF 0.17: operation, two padding bytes, flags, payload
// length, operation data, source and destination actor; big-endian).
std::string basp_header(uint8_t operation, uint32_t payload_len) {
  std::string h(32, '\0');
  h[0] = static_cast<char>(operation);
  for (int i = 0; i < 4; ++i) h[4 + i] = static_cast<char>(payload_len >> (24 - 8 * i));
  h[15] = 3;  // operation data: BASP version 3
  return h;
}

// Regression: CAF allocates (and zeroes) the payload a BASP header
// announces before reading it. Eight such 32-byte headers to the cluster
// port took the node from 120 MB to 3.4 GB and stalled its network thread
// until the peer was declared down.
TEST_F(NodeTest, AClusterConnectionAnnouncingAHugeMessageIsClosedBeforeTheAllocation) {
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start("sh");
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  ASSERT_TRUE(eventually([&] { return peer_state(**bj, "sh") == PeerState::up; }));
  const int64_t peak_before = peak_rss_kib();
  ASSERT_GT(peak_before, 0);
  for (uint8_t operation = 0; operation < 8; ++operation)
    EXPECT_TRUE(closed_after_sending(bj_ports_.cluster, basp_header(operation, 0xFFFFFFF0u), 5000))
        << "operation " << int{operation};
  EXPECT_LT(peak_rss_kib() - peak_before, 256 * 1024) << "peak RSS grew from " << peak_before << " KiB";
  auto& refused = (*bj)->metrics().counter("ezone_cluster_refused_connections_total", "");
  EXPECT_GE(refused.value(), 1u);
  // The real peer's connection is untouched.
  EXPECT_EQ(peer_state(**bj, "sh"), PeerState::up);
  EXPECT_EQ(peer_state(**sh, "bj"), PeerState::up);
}

TEST_F(NodeTest, PortInUseFailsNamingTheKey) {
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok());
  // A second bj on the same ports must fail cleanly, naming the key.
  auto twin = start("bj");
  ASSERT_FALSE(twin.ok());
  EXPECT_NE(twin.status().message().find("'node."), std::string::npos) << twin.status().message();
  EXPECT_NE(twin.status().message().find("Fix:"), std::string::npos) << twin.status().message();
}

// An application endpoint that writes, registered through NodeOptions: a
// request for a shard owned by sh entering bj is served by sh, with the shard
// named by the router; while the shard is write-forbidden, writes get 503 +
// Retry-After at either entrance and nothing reaches the handler.
TEST_F(NodeTest, WritesToAWriteForbiddenShardGet503AcrossNodes) {
  std::atomic<int> served{0};
  auto endpoints = [&](const std::string& ezone) {
    Endpoint e;
    e.method = "POST";
    e.pattern = "/v1/things";
    e.entrance = Entrance::user;
    e.access = Access::write;
    e.handler = [&served, ezone](HttpRequest&& req, HttpResponder respond) {
      ++served;
      respond(HttpResponse::json(201, nlohmann::json{{"zone", ezone}, {"shard", req.header("x-ezone-shard")}}.dump()));
    };
    return std::vector<Endpoint>{e};
  };
  std::string shards = std::string(EZONE_TEST_SOURCE_DIR) + "/config/shards/test-fences.toml";
  auto bj = start("bj", endpoints("bj"), shards);
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start("sh", endpoints("sh"), shards);
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  auto table = (*bj)->gzs().routes();
  ASSERT_NE(table, nullptr);
  ShardId shard = table->shards_owned_by("sh").at(0);
  auto order = encode_order_id(OrderIdParts{shard, 1000, 1, 1});
  ASSERT_TRUE(order.ok());
  auto post = [&](uint16_t port) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = "/v1/things";
    req.body = "{}";
    req.content_type = "application/json";
    req.headers.emplace_back("X-Ezone-Key", "order=" + std::to_string(*order));
    return net::HttpConnection({"127.0.0.1", port}).request(req, 5000);
  };

  auto ok = post(bj_ports_.http);
  ASSERT_TRUE(ok.ok()) << ok.status().to_string();
  EXPECT_EQ(ok->status, 201) << ok->body;
  EXPECT_EQ(ok->header("X-Ezone"), "sh");
  EXPECT_EQ(nlohmann::json::parse(ok->body)["shard"], std::to_string(shard));

  RouteStore routes(*store_);
  auto current = routes.load();
  ASSERT_TRUE(current.ok());
  auto forbidden = set_shard_state(*current, {shard}, ShardState::write_forbidden);
  ASSERT_TRUE(forbidden.ok());
  ASSERT_TRUE(routes.commit(current->epoch(), *forbidden).ok());
  ASSERT_TRUE(eventually([&] { return (*bj)->gzs().epoch() == forbidden->epoch() &&
                                      (*sh)->gzs().epoch() == forbidden->epoch(); }));
  int before = served.load();
  for (uint16_t port : {bj_ports_.http, sh_ports_.http}) {
    auto refused = post(port);
    ASSERT_TRUE(refused.ok());
    EXPECT_EQ(refused->status, 503) << refused->body;
    EXPECT_FALSE(refused->header("Retry-After").empty());
    EXPECT_NE(refused->body.find("write-forbidden"), std::string::npos) << refused->body;
  }
  EXPECT_EQ(served.load(), before) << "no write reached the handler";
}

TEST_F(NodeTest, OrderIdsMintedAfterARestartAreNeverReissued) {
  std::string shards = std::string(EZONE_TEST_SOURCE_DIR) + "/config/shards/test-fences.toml";
  uint64_t last = 0;
  {
    auto bj = start("bj", {}, shards);
    ASSERT_TRUE(bj.ok()) << bj.status().to_string();
    // 150k ids at once: 256 fit in a millisecond, so the minter borrows
    // ~600 ms ahead of the clock, further than a restart takes.
    for (int i = 0; i < 150000; ++i) {
      auto id = (*bj)->gzs().mint_order_id(1);
      ASSERT_TRUE(id.ok()) << id.status().to_string();
      EXPECT_GT(*id & ((uint64_t{1} << 53) - 1), last & ((uint64_t{1} << 53) - 1));
      last = *id;
      auto parts = decode_order_id(*id);
      ASSERT_TRUE(parts.ok());
      EXPECT_EQ(parts->shard, 1u);
    }
  }
  // A restart (the clock has not moved past the ids already minted) resumes
  // after the saved point instead of reusing time fields.
  auto again = start("bj", {}, shards);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  auto next = (*again)->gzs().mint_order_id(1);
  ASSERT_TRUE(next.ok());
  EXPECT_GT(decode_order_id(*next)->time_ms, decode_order_id(last)->time_ms)
      << "the ids of the first run reached " << decode_order_id(last)->unix_ms() << " ms; now is "
      << SystemClock::instance().wall_ms();
}

TEST_F(NodeTest, AnEzoneKeyIsServedByThatEzoneAndForwardedFromElsewhere) {
  std::string shards = std::string(EZONE_TEST_SOURCE_DIR) + "/config/shards/test-fences.toml";
  auto endpoints = [&](const std::string& ezone) {
    Endpoint e;
    e.method = "POST";
    e.pattern = "/v1/users";
    e.key = key_to_ezone("bj");
    e.handler = [ezone](HttpRequest&& req, HttpResponder respond) {
      respond(HttpResponse::json(201, nlohmann::json{{"zone", ezone}, {"shard", req.header("x-ezone-shard")}}.dump()));
    };
    return std::vector<Endpoint>{e};
  };
  auto bj = start("bj", endpoints("bj"), shards);
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start("sh", endpoints("sh"), shards);
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  for (uint16_t port : {bj_ports_.http, sh_ports_.http}) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = "/v1/users";
    req.body = "{}";
    auto r = net::HttpConnection({"127.0.0.1", port}).request(req, 5000);
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    EXPECT_EQ(r->status, 201) << r->body;
    EXPECT_EQ(nlohmann::json::parse(r->body)["zone"], "bj");
    EXPECT_EQ(nlohmann::json::parse(r->body)["shard"], "") << "an ezone key has no shard";
  }
}

}  // namespace ezone
