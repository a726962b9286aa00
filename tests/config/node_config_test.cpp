// One named case for each kind of wrong config, plus the shipped examples.
// Each error must name the file, the key and a fix.
#include "config/node_config.hpp"

#include "config/schema_config.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>

#include "tests/config/valid_config.hpp"

namespace ezone {
namespace {

using test::kValid;


std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

// Expects a failure whose message names the source, the key and a fix.
void expect_error(const Result<NodeConfig>& r, const std::string& key) {
  ASSERT_FALSE(r.ok()) << "accepted a bad config; expected an error for " << key;
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("test.toml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'" + key + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Fix:"), std::string::npos) << msg;
}

std::string source_dir() { return EZONE_TEST_SOURCE_DIR; }

// kValid with a [dal] section holding `dal` and, if not empty, a [drc]
// section holding `drc`.
std::string with_dal(const std::string& dal, const std::string& drc = "") {
  std::string text = std::string(kValid) + "\n[dal]\n" + dal + "\n";
  if (!drc.empty()) text += "[drc]\n" + drc + "\n";
  return text;
}

// A fresh directory for the files one test writes, removed afterwards.
struct TempDir {
  std::string path = ::testing::TempDir() + "ezone-config-XXXXXX";
  TempDir() { EXPECT_NE(::mkdtemp(path.data()), nullptr) << std::strerror(errno); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

}  // namespace

TEST(NodeConfig, ValidConfigParses) {
  auto r = parse_node_config(kValid, "test.toml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->ezone, "bj");
  EXPECT_EQ(r->http.port, 17100);
  ASSERT_EQ(r->peers.size(), 1u);
  EXPECT_EQ(r->peers[0].ezone, "sh");
  EXPECT_EQ(r->etcd.endpoints.at(0).port, 2479);
  EXPECT_EQ(r->timeouts.heartbeat_interval_ms, 100) << "defaults apply";
}

TEST(NodeConfig, UnknownKeyIsRejected) {
  expect_error(parse_node_config(replace(kValid, "data_dir", "dta_dir = \"x\"\ndata_dir"), "test.toml"),
               "node.dta_dir");
  expect_error(parse_node_config(std::string(kValid) + "\n[timeouts]\nheartbeat_ms = 5\n", "test.toml"),
               "timeouts.heartbeat_ms");
  expect_error(parse_node_config(std::string(kValid) + "\n[routers]\n", "test.toml"), "routers");
}

TEST(NodeConfig, MissingFieldIsRejected) {
  expect_error(parse_node_config(replace(kValid, "admin = \"127.0.0.1:17101\"", ""), "test.toml"),
               "node.admin");
  expect_error(parse_node_config(replace(kValid, "ezone = \"sh\"", ""), "test.toml"),
               "peers[0].ezone");
  expect_error(parse_node_config(replace(kValid, "endpoints = [\"127.0.0.1:2479\"]", ""), "test.toml"),
               "etcd.endpoints");
}

TEST(NodeConfig, BadAddressIsRejected) {
  expect_error(parse_node_config(replace(kValid, "127.0.0.1:17100", "127.0.0.1"), "test.toml"),
               "node.http");
  expect_error(parse_node_config(replace(kValid, "127.0.0.1:17202", "127.0.0.1:99999"), "test.toml"),
               "peers[0].cluster");
  expect_error(parse_node_config(replace(kValid, "127.0.0.1:2479", "no port"), "test.toml"),
               "etcd.endpoints[0]");
}

TEST(NodeConfig, WildcardBindNeedsExplicitConsent) {
  std::string text = replace(kValid, "127.0.0.1:17102", "0.0.0.0:17102");
  expect_error(parse_node_config(text, "test.toml"), "node.cluster");
  auto allowed = parse_node_config(replace(text, "[node]", "[node]\nallow_wildcard_bind = true"),
                                   "test.toml");
  EXPECT_TRUE(allowed.ok()) << allowed.status().to_string();
}

TEST(NodeConfig, DuplicateEzoneIsRejected) {
  expect_error(parse_node_config(replace(kValid, "ezone = \"sh\"", "ezone = \"bj\""), "test.toml"),
               "peers[0].ezone");
  std::string two = std::string(kValid) + "\n[[peers]]\nezone = \"sh\"\ncluster = \"127.0.0.1:17302\"\n";
  // The second [[peers]] table lands after [etcd] in the text, which TOML allows.
  expect_error(parse_node_config(two, "test.toml"), "peers[1].ezone");
}

TEST(NodeConfig, UnreadableFileIsRejected) {
  auto r = load_node_config("/nonexistent/dir/test.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::not_found);
  EXPECT_NE(r.status().message().find("/nonexistent/dir/test.toml"), std::string::npos);
  EXPECT_NE(r.status().message().find("Fix:"), std::string::npos);
}

TEST(NodeConfig, MalformedTomlIsRejected) {
  auto r = parse_node_config("[node\nezone = ", "test.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::parse_error);
  EXPECT_NE(r.status().message().find("test.toml"), std::string::npos);
  EXPECT_NE(r.status().message().find("line 1"), std::string::npos) << r.status().message();
}

TEST(NodeConfig, WrongTypeAndRangeAreRejected) {
  expect_error(parse_node_config(std::string(kValid) + "\n[limits]\nhttp_threads = \"two\"\n", "test.toml"),
               "limits.http_threads");
  expect_error(parse_node_config(std::string(kValid) + "\n[limits]\nhttp_threads = 0\n", "test.toml"),
               "limits.http_threads");
  expect_error(parse_node_config(std::string(kValid) +
                                     "\n[timeouts]\nheartbeat_interval_ms = 500\nconnection_timeout_ms = 400\n",
                                 "test.toml"),
               "timeouts.connection_timeout_ms");
  expect_error(parse_node_config(std::string(kValid) +
                                     "\n[router]\nforward_timeout_ms = 2000\nforwarded_key_hold_ms = 2000\n",
                                 "test.toml"),
               "router.forwarded_key_hold_ms");
  auto below = parse_node_config(std::string(kValid) + "\n[router]\nforwarded_key_hold_ms = 1999\n", "test.toml");
  ASSERT_TRUE(below.ok()) << below.status().to_string();
  EXPECT_EQ(below->router.forwarded_key_hold_ms, 1999);
}

TEST(NodeConfig, PeerTokenInlineOrFromAFileBesideTheConfig) {
  const std::string token = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
  auto inline_token = parse_node_config(std::string(kValid) + "\n[router]\npeer_token = \"" + token + "\"\n", "test.toml");
  ASSERT_TRUE(inline_token.ok()) << inline_token.status().to_string();
  EXPECT_EQ(inline_token->router.peer_token.sent(), token);
  EXPECT_TRUE(parse_node_config(kValid, "test.toml")->router.peer_token.empty());

  TempDir dir;
  write_file(dir.path + "/peer_token", token + "\n");  // as `openssl rand -hex 16 > peer_token` writes it
  write_file(dir.path + "/test.toml", std::string(kValid) + "\n[router]\npeer_token_file = \"peer_token\"\n");
  auto from_file = load_node_config(dir.path + "/test.toml");
  ASSERT_TRUE(from_file.ok()) << from_file.status().to_string();
  EXPECT_EQ(from_file->router.peer_token.sent(), token);
  // The file, resolved beside the config, is the one a reload reads again.
  EXPECT_EQ(from_file->router.peer_token.file(), dir.path + "/peer_token");
  EXPECT_EQ(inline_token->router.peer_token.file(), "");
  const std::string next = "99887766554433221100ffeeddccbbaa";
  write_file(dir.path + "/peer_token", next + "\n");
  const NodeConfig copy = *from_file;  // as a node's router holds it
  ASSERT_TRUE(from_file->router.peer_token.reload("peer token").ok());
  EXPECT_EQ(copy.router.peer_token.sent(), next);

  expect_error(parse_node_config(std::string(kValid) + "\n[router]\npeer_token = \"short\"\n", "test.toml"),
               "router.peer_token");
  expect_error(parse_node_config(std::string(kValid) + "\n[router]\npeer_token = \"has a space in it here\"\n",
                                 "test.toml"),
               "router.peer_token");
  expect_error(parse_node_config(std::string(kValid) + "\n[router]\npeer_token = \"" + token +
                                     "\"\npeer_token_file = \"peer_token\"\n",
                                 "test.toml"),
               "router.peer_token_file");
  write_file(dir.path + "/empty", "\n");
  write_file(dir.path + "/test.toml", std::string(kValid) + "\n[router]\npeer_token_file = \"empty\"\n");
  expect_error(load_node_config(dir.path + "/test.toml"), "router.peer_token_file");
  write_file(dir.path + "/test.toml", std::string(kValid) + "\n[router]\npeer_token_file = \"missing\"\n");
  expect_error(load_node_config(dir.path + "/test.toml"), "router.peer_token_file");
}

TEST(NodeConfig, AdminTokenInlineOrFromAFileAndOffByDefault) {
  const std::string token = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
  EXPECT_TRUE(parse_node_config(kValid, "test.toml")->admin_api.token.empty());
  auto inline_token = parse_node_config(std::string(kValid) + "\n[admin]\ntoken = \"" + token + "\"\n", "test.toml");
  ASSERT_TRUE(inline_token.ok()) << inline_token.status().to_string();
  EXPECT_EQ(inline_token->admin_api.token.sent(), token);

  TempDir dir;
  write_file(dir.path + "/admin_token", token + "\r\n");
  write_file(dir.path + "/test.toml", std::string(kValid) + "\n[admin]\ntoken_file = \"admin_token\"\n");
  auto from_file = load_node_config(dir.path + "/test.toml");
  ASSERT_TRUE(from_file.ok()) << from_file.status().to_string();
  EXPECT_EQ(from_file->admin_api.token.sent(), token);
  EXPECT_TRUE(from_file->router.peer_token.empty()) << "the admin token is not the peer token";

  expect_error(parse_node_config(std::string(kValid) + "\n[admin]\ntoken = \"short\"\n", "test.toml"),
               "admin.token");
  write_file(dir.path + "/test.toml",
             std::string(kValid) + "\n[admin]\ntoken = \"" + token + "\"\ntoken_file = \"admin_token\"\n");
  expect_error(load_node_config(dir.path + "/test.toml"), "admin.token_file");
  write_file(dir.path + "/test.toml", std::string(kValid) + "\n[admin]\ntoken_file = \"missing\"\n");
  expect_error(load_node_config(dir.path + "/test.toml"), "admin.token_file");
}

TEST(NodeConfig, TlsLoadsItsFilesBesideTheConfigOrNamesTheBadOne) {
  EXPECT_FALSE(parse_node_config(kValid, "test.toml")->tls.enabled());
  const std::string tls_dir = source_dir() + "/tests/data/tls";
  TempDir dir;
  // Relative paths resolve beside the config, as token files do.
  std::filesystem::create_symlink(tls_dir, dir.path + "/tls");
  const std::string section =
      "\n[tls]\ncert_file = \"tls/node.crt\"\nkey_file = \"tls/node.key\"\nca_file = \"tls/ca.crt\"\n";
  write_file(dir.path + "/test.toml", std::string(kValid) + section);
  auto plain = load_node_config(dir.path + "/test.toml");
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  EXPECT_TRUE(plain->tls.enabled());
  EXPECT_EQ(plain->tls.cert_file, dir.path + "/tls/node.crt");
  ASSERT_NE(plain->tls.client, nullptr);
  EXPECT_FALSE(plain->tls.server->requires_client_cert());

  write_file(dir.path + "/test.toml", std::string(kValid) + section + "client_certs = true\n");
  auto mutual = load_node_config(dir.path + "/test.toml");
  ASSERT_TRUE(mutual.ok()) << mutual.status().to_string();
  EXPECT_TRUE(mutual->tls.server->requires_client_cert());
  EXPECT_EQ(mutual->tls.http_server, nullptr) << "node.http stays plain unless tls.http";
  write_file(dir.path + "/test.toml", std::string(kValid) + section + "client_certs = true\nhttp = true\n");
  auto http = load_node_config(dir.path + "/test.toml");
  ASSERT_TRUE(http.ok()) << http.status().to_string();
  ASSERT_NE(http->tls.http_server, nullptr);
  EXPECT_FALSE(http->tls.http_server->requires_client_cert()) << "node.http's clients are apps: tokens, not certificates";
  EXPECT_EQ(http->tls.cluster_server, nullptr) << "the cluster port stays plain unless tls.cluster";
  write_file(dir.path + "/test.toml", std::string(kValid) + section + "cluster = true\n");
  auto cluster = load_node_config(dir.path + "/test.toml");
  ASSERT_TRUE(cluster.ok()) << cluster.status().to_string();
  ASSERT_NE(cluster->tls.cluster_server, nullptr);
  EXPECT_TRUE(cluster->tls.cluster_server->requires_client_cert()) << "peers are admitted by certificate";
  EXPECT_FALSE(cluster->tls.server->requires_client_cert()) << "cluster = true does not change node.admin";

  auto bad = [&](const std::string& text, const std::string& key) {
    write_file(dir.path + "/test.toml", std::string(kValid) + text);
    expect_error(load_node_config(dir.path + "/test.toml"), key);
  };
  bad("\n[tls]\ncert_file = \"tls/node.crt\"\nkey_file = \"tls/node.key\"\n", "tls.ca_file");
  bad(section + "verify = false\n", "tls.verify");
  bad(section + "http = \"yes\"\n", "tls.http");
  bad(section + "cluster = 1\n", "tls.cluster");
  bad(replace(section, "tls/node.crt", "tls/missing.crt"), "tls.cert_file");
  bad(replace(section, "tls/node.key", "tls/client.key"), "tls.cert_file");  // not the certificate's key
  bad(replace(section, "tls/ca.crt", "tls/node.key"), "tls.ca_file");         // not a certificate
  bad(replace(section, "\"tls/node.crt\"", "\"\""), "tls.cert_file");
}

// [etcd]'s TLS keys (kValid ends with [etcd], so keys appended land there).
TEST(NodeConfig, EtcdTlsTakesItsOwnFilesAndHttpsEndpoints) {
  EXPECT_FALSE(parse_node_config(kValid, "test.toml")->etcd.tls);
  TempDir dir;
  std::filesystem::create_symlink(source_dir() + "/tests/data/tls", dir.path + "/tls");
  const std::string https =
      replace(kValid, "\"127.0.0.1:2479\"", "\"https://127.0.0.1:2479/\", \"https://[::1]:2479\"");
  const std::string keys = "ca_file = \"tls/ca.crt\"\ncert_file = \"tls/node.crt\"\nkey_file = \"tls/node.key\"\n";
  write_file(dir.path + "/test.toml", https + keys);
  auto loaded = load_node_config(dir.path + "/test.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  ASSERT_TRUE(loaded->etcd.tls);
  EXPECT_EQ(loaded->etcd.tls.files.cert_file, dir.path + "/tls/node.crt");
  ASSERT_EQ(loaded->etcd.endpoints.size(), 2u);
  EXPECT_EQ(loaded->etcd.endpoints[0].to_string(), "127.0.0.1:2479");
  EXPECT_FALSE(loaded->tls.enabled()) << "TLS to etcd does not turn on [tls]";
  // The CA alone (etcd without --client-cert-auth), with plain host:port.
  write_file(dir.path + "/test.toml", std::string(kValid) + "ca_file = \"tls/ca.crt\"\n");
  auto ca_only = load_node_config(dir.path + "/test.toml");
  ASSERT_TRUE(ca_only.ok()) << ca_only.status().to_string();
  EXPECT_TRUE(ca_only->etcd.tls);

  auto bad = [&](const std::string& text, const std::string& key, const std::string& says) {
    write_file(dir.path + "/test.toml", text);
    auto result = load_node_config(dir.path + "/test.toml");
    expect_error(result, key);
    EXPECT_NE(result.status().message().find(says), std::string::npos) << result.status().to_string();
  };
  bad(https, "etcd.ca_file", "the endpoints are https://");
  bad(replace(https, "\"https://[::1]:2479\"", "\"[::1]:2479\""), "etcd.endpoints[1]", "another scheme");
  bad(replace(kValid, "\"127.0.0.1:2479\"", "\"http://127.0.0.1:2479\"") + keys, "etcd.endpoints", "http://");
  bad(std::string(kValid) + "cert_file = \"tls/node.crt\"\nkey_file = \"tls/node.key\"\n", "etcd.cert_file",
      "without ca_file");
  bad(std::string(kValid) + "ca_file = \"tls/ca.crt\"\ncert_file = \"tls/node.crt\"\n", "etcd.key_file", "missing");
  bad(https + replace(keys, "tls/node.key", "tls/client.key"), "etcd.cert_file", "does not belong");
  bad(https + replace(keys, "tls/ca.crt", "tls/missing.crt"), "etcd.ca_file", "missing.crt");
  bad(https + replace(keys, "tls/node.crt", "tls/node.key"), "etcd.cert_file", "node.key");
  bad(https + replace(keys, "\"tls/ca.crt\"", "\"\""), "etcd.ca_file", "is empty");
  bad(https + keys + "verify = false\n", "etcd.verify", "");
}

TEST(NodeConfig, ServiceTokenIsTheRoutersOwnSecret) {
  const std::string token = "5e7f1a2b3c4d5e6f708192a3b4c5d6e7";
  TempDir dir;
  write_file(dir.path + "/service_token", token + "\n");
  write_file(dir.path + "/test.toml", std::string(kValid) + "\n[router]\nservice_token_file = \"service_token\"\n");
  auto loaded = load_node_config(dir.path + "/test.toml");
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(loaded->router.service_token.sent(), token);
  EXPECT_TRUE(loaded->router.peer_token.empty());
  EXPECT_TRUE(loaded->admin_api.token.empty());
  // During a rotation the file holds two: the first is sent, both accepted.
  write_file(dir.path + "/service_token", token + "\n" + std::string(token.rbegin(), token.rend()) + "\n");
  auto rotating = load_node_config(dir.path + "/test.toml");
  ASSERT_TRUE(rotating.ok()) << rotating.status().to_string();
  EXPECT_EQ(rotating->router.service_token.sent(), token);
  EXPECT_TRUE(rotating->router.service_token.accepts(std::string(token.rbegin(), token.rend())));
  expect_error(parse_node_config(std::string(kValid) + "\n[router]\nservice_token = \"tiny\"\n", "test.toml"),
               "router.service_token");
}

TEST(NodeConfig, PortInUseIsRejected) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  std::string taken = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));

  auto config = parse_node_config(replace(kValid, "127.0.0.1:17101", taken), "test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  Status s = check_listen_addresses(*config);
  ::close(fd);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("'node.admin'"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("already in use"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("Fix:"), std::string::npos) << s.message();
}

TEST(NodeConfig, DalAndDrcAreOffByDefault) {
  auto r = parse_node_config(kValid, "test.toml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_FALSE(r->dal.enabled);
}

TEST(NodeConfig, DalSectionParsesWithDefaults) {
  auto r = parse_node_config(with_dal("schema_file = \"schemas/s.toml\"", "retry_ms = 250"), "/etc/ezone/test.toml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->dal.enabled);
  EXPECT_EQ(r->dal.schema_file, "/etc/ezone/schemas/s.toml") << "relative to the config file";
  EXPECT_EQ(r->dal.db_file, "/tmp/ezone-test-bj/bj.db") << "<data_dir>/<ezone>.db";
  EXPECT_TRUE(r->dal.synchronous_full);
  EXPECT_EQ(r->dal.group_tx_max, 512);
  EXPECT_EQ(r->dal.queue_tx_max, 50000);
  EXPECT_EQ(r->dal.feed_rows_max, 200000);
  EXPECT_EQ(r->dal.check_every_s, 0) << "no scheduled consistency check unless asked";
  EXPECT_EQ(r->dal.check_chunk_rows, 1000);
  EXPECT_EQ(r->dal.check_pause_ms, 0);
  EXPECT_EQ(r->drc.batch_rows_max, 2000);
  EXPECT_EQ(r->drc.batch_bytes_max, 4 << 20);
  EXPECT_EQ(r->drc.pull_wait_ms, 500);
  EXPECT_EQ(r->drc.pull_timeout_ms, 3000);
  EXPECT_EQ(r->drc.retry_ms, 250);
}

TEST(NodeConfig, DalKeysAreRead) {
  auto r = parse_node_config(with_dal("schema_file = \"/s.toml\"\ndb_file = \"db/x.db\"\nsynchronous = \"normal\"\n"
                                      "group_tx_max = 7\nqueue_tx_max = 70\nfeed_rows_max = 7000\n"
                                      "check_every_s = 3600\ncheck_chunk_rows = 250\ncheck_pause_ms = 5"),
                             "/etc/ezone/test.toml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->dal.schema_file, "/s.toml") << "absolute paths stay";
  EXPECT_EQ(r->dal.db_file, "/etc/ezone/db/x.db");
  EXPECT_FALSE(r->dal.synchronous_full);
  EXPECT_EQ(r->dal.group_tx_max, 7);
  EXPECT_EQ(r->dal.queue_tx_max, 70);
  EXPECT_EQ(r->dal.feed_rows_max, 7000);
  EXPECT_EQ(r->dal.check_every_s, 3600);
  EXPECT_EQ(r->dal.check_chunk_rows, 250);
  EXPECT_EQ(r->dal.check_pause_ms, 5);
}

TEST(NodeConfig, DalUnknownKeyIsRejected) {
  expect_error(parse_node_config(with_dal("schema_file = \"s.toml\"\ngroup_max = 5"), "test.toml"),
               "dal.group_max");
}

TEST(NodeConfig, DrcUnknownKeyIsRejected) {
  expect_error(parse_node_config(with_dal("schema_file = \"s.toml\"", "batch_rows = 5"), "test.toml"),
               "drc.batch_rows");
}

TEST(NodeConfig, DalMissingSchemaFileIsRejected) {
  expect_error(parse_node_config(with_dal("synchronous = \"full\""), "test.toml"), "dal.schema_file");
  expect_error(parse_node_config(with_dal("schema_file = \"\""), "test.toml"), "dal.schema_file");
}

TEST(NodeConfig, DalBadSynchronousIsRejected) {
  expect_error(parse_node_config(with_dal("schema_file = \"s.toml\"\nsynchronous = \"off\""), "test.toml"),
               "dal.synchronous");
}

TEST(NodeConfig, DalOutOfRangeIsRejected) {
  for (const char* line : {"group_tx_max = 0", "group_tx_max = 100001", "queue_tx_max = 0",
                           "queue_tx_max = 10000001", "feed_rows_max = 999", "feed_rows_max = 100000001",
                           "check_every_s = 59", "check_every_s = 604801", "check_every_s = -1",
                           "check_chunk_rows = 0", "check_chunk_rows = 100001", "check_pause_ms = 60001"}) {
    std::string key = std::string("dal.") + std::string(line).substr(0, std::strchr(line, ' ') - line);
    expect_error(parse_node_config(with_dal(std::string("schema_file = \"s.toml\"\n") + line), "test.toml"), key);
  }
}

TEST(NodeConfig, DrcOutOfRangeIsRejected) {
  for (const char* line : {"batch_rows_max = 0", "batch_rows_max = 1000001", "batch_bytes_max = 4095",
                           "batch_bytes_max = 67108865", "pull_wait_ms = -1", "pull_wait_ms = 10001",
                           "pull_timeout_ms = 60001", "retry_ms = 0", "retry_ms = 60001"}) {
    std::string key = std::string("drc.") + std::string(line).substr(0, std::strchr(line, ' ') - line);
    expect_error(parse_node_config(with_dal("schema_file = \"s.toml\"", line), "test.toml"), key);
  }
}

TEST(NodeConfig, AppSectionNamesTheAppAndNeedsTheDal) {
  auto c = parse_node_config(with_dal("schema_file = \"s.toml\"") + "[app]\nname = \"takeout\"\n", "test.toml");
  ASSERT_TRUE(c.ok()) << c.status().to_string();
  EXPECT_EQ(c->app.name, "takeout");
  expect_error(parse_node_config(std::string(kValid) + "\n[app]\nname = \"takeout\"\n", "test.toml"), "app.name");
  expect_error(parse_node_config(with_dal("schema_file = \"s.toml\"") + "[app]\nname = \"\"\n", "test.toml"),
               "app.name");
  expect_error(parse_node_config(with_dal("schema_file = \"s.toml\"") + "[app]\nname = \"x\"\nport = 1\n", "test.toml"),
               "app.port");
}

TEST(NodeConfig, DrcPullTimeoutMustExceedPullWait) {
  expect_error(parse_node_config(with_dal("schema_file = \"s.toml\"", "pull_wait_ms = 3000"), "test.toml"),
               "drc.pull_timeout_ms");
}

TEST(NodeConfig, DrcWithoutDalIsRejected) {
  auto r = parse_node_config(std::string(kValid) + "\n[drc]\nretry_ms = 100\n", "test.toml");
  expect_error(r, "drc");
  EXPECT_NE(r.status().message().find("[dal]"), std::string::npos) << r.status().message();
}

TEST(NodeConfig, UnreadableSchemaFileIsRejected) {
  TempDir tmp;
  const std::string& dir = tmp.path;
  write_file(dir + "/test.toml", with_dal("schema_file = \"missing.toml\""));
  auto r = load_node_config(dir + "/test.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::not_found);
  EXPECT_NE(r.status().message().find(dir + "/missing.toml"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("dal.schema_file"), std::string::npos) << r.status().message();
}

TEST(NodeConfig, BrokenSchemaFailsTheConfigLoad) {
  TempDir tmp;
  const std::string& dir = tmp.path;
  write_file(dir + "/test.toml", with_dal("schema_file = \"schema.toml\""));
  write_file(dir + "/schema.toml", "[[table]]\nname = \"t\"\nkind = \"local\"\n");
  auto r = load_node_config(dir + "/test.toml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("schema.toml: table[0] 't': key 'ddl'"), std::string::npos)
      << r.status().message();
}

TEST(NodeConfig, GlobalMasterMustBeAKnownEzone) {
  TempDir tmp;
  const std::string& dir = tmp.path;
  write_file(dir + "/test.toml", with_dal("schema_file = \"schema.toml\""));
  write_file(dir + "/schema.toml",
             "[[table]]\nname = \"t\"\nkind = \"local\"\nddl = \"CREATE TABLE t(k)\"\n"
             "[[table]]\nname = \"users\"\nkind = \"global-zone\"\nmaster = \"gz\"\nddl = \"CREATE TABLE users(k)\"\n");
  auto r = load_node_config(dir + "/test.toml");
  ASSERT_FALSE(r.ok());
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("schema.toml: table[1] 'users': key 'master'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'gz'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bj, sh"), std::string::npos) << "names the known ezones: " << msg;

  auto config = parse_node_config(with_dal("schema_file = \"schema.toml\""), dir + "/test.toml");
  ASSERT_TRUE(config.ok()) << config.status().to_string();
  config->peers[0].ezone = "gz";
  auto schema = load_node_schema(*config);
  ASSERT_TRUE(schema.ok()) << schema.status().to_string();
  EXPECT_EQ(schema->find("users")->master_ezone, "gz");
}

TEST(NodeConfig, NodeSchemaNeedsDal) {
  auto config = parse_node_config(kValid, "test.toml");
  ASSERT_TRUE(config.ok());
  auto schema = load_node_schema(*config);
  ASSERT_FALSE(schema.ok());
  EXPECT_NE(schema.status().message().find("[dal]"), std::string::npos) << schema.status().message();
}

TEST(NodeConfig, CoordinatorSectionIsReadAndChecked) {
  auto defaults = parse_node_config(kValid, "test.toml");
  ASSERT_TRUE(defaults.ok());
  EXPECT_FALSE(defaults->coordinator.auto_failover);
  EXPECT_EQ(defaults->coordinator.ack_timeout_ms, 5000);
  auto set = parse_node_config(std::string(kValid) + "\n[coordinator]\nauto_failover = true\nskew_margin_ms = 250\n",
                               "test.toml");
  ASSERT_TRUE(set.ok()) << set.status().to_string();
  EXPECT_TRUE(set->coordinator.auto_failover);
  EXPECT_EQ(set->coordinator.skew_margin_ms, 250);
  expect_error(parse_node_config(std::string(kValid) + "\n[coordinator]\npoll_ms = 0\n", "test.toml"),
               "coordinator.poll_ms");
  expect_error(parse_node_config(std::string(kValid) + "\n[coordinator]\nauto_failover = \"yes\"\n", "test.toml"),
               "coordinator.auto_failover");
  expect_error(parse_node_config(std::string(kValid) + "\n[coordinator]\nautofailover = true\n", "test.toml"),
               "coordinator.autofailover");
}

TEST(NodeConfig, FaultInjectionIsOffUnlessTheAdminSectionAllowsIt) {
  auto plain = parse_node_config(kValid, "test.toml");
  ASSERT_TRUE(plain.ok()) << plain.status().to_string();
  EXPECT_FALSE(plain->admin_api.allow_fault_injection);
  auto set = parse_node_config(std::string(kValid) + "\n[admin]\nallow_fault_injection = true\n", "test.toml");
  ASSERT_TRUE(set.ok()) << set.status().to_string();
  EXPECT_TRUE(set->admin_api.allow_fault_injection);
  expect_error(parse_node_config(std::string(kValid) + "\n[admin]\nallow_fault_injection = 1\n", "test.toml"),
               "admin.allow_fault_injection");
  expect_error(parse_node_config(std::string(kValid) + "\n[admin]\nallow_faults = true\n", "test.toml"),
               "admin.allow_faults");
}

TEST(NodeConfig, CacheTablesAreReadAndCheckedAgainstTheSchema) {
  auto none = parse_node_config(kValid, "test.toml");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->cache.tables.empty());
  TempDir tmp;
  const std::string& dir = tmp.path;
  write_file(dir + "/schema.toml",
             "[[table]]\nname = \"scratch\"\nkind = \"local\"\nddl = \"CREATE TABLE scratch(k)\"\n"
             "[[table]]\nname = \"orders\"\nkind = \"sharding-zone\"\nshard_column = \"shard\"\n"
             "ddl = \"CREATE TABLE orders(id INTEGER PRIMARY KEY, shard INTEGER)\"\n");
  const std::string base = with_dal("schema_file = \"schema.toml\"");
  write_file(dir + "/test.toml", base + "[cache]\ntables = [\"orders\"]\nentries_max = 50\nbytes_max_mb = 8\n");
  auto r = load_node_config(dir + "/test.toml");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->cache.tables, std::vector<std::string>{"orders"});
  EXPECT_EQ(r->cache.entries_max, 50);
  EXPECT_EQ(r->cache.bytes_max_mb, 8);
  EXPECT_EQ(r->cache.value_bytes_max, 65536);
  for (const auto& [table, problem] : {std::pair<const char*, const char*>{"scratch", "is a local table"},
                                       {"nope", "is not in the schema"}}) {
    write_file(dir + "/test.toml", base + "[cache]\ntables = [\"" + table + "\"]\n");
    auto refused = load_node_config(dir + "/test.toml");
    expect_error(refused, "cache.tables");
    EXPECT_NE(refused.status().message().find(problem), std::string::npos) << refused.status().message();
  }
  expect_error(parse_node_config(base + "[cache]\ntables = \"orders\"\n", "test.toml"), "cache.tables");
  expect_error(parse_node_config(base + "[cache]\ntables = [\"orders\", \"orders\"]\n", "test.toml"),
               "cache.tables");
  expect_error(parse_node_config(base + "[cache]\ntables = [1]\n", "test.toml"), "cache.tables");
  expect_error(parse_node_config(base + "[cache]\nentries_max = 0\n", "test.toml"), "cache.entries_max");
  expect_error(parse_node_config(base + "[cache]\nbytes_max = 5\n", "test.toml"), "cache.bytes_max");
  expect_error(parse_node_config(std::string(kValid) + "\n[cache]\ntables = [\"orders\"]\n", "test.toml"),
               "cache.tables");
}

TEST(NodeConfig, ShippedExamplesLoad) {
  for (const char* file : {"laptop/bj.toml", "laptop/sh.toml", "three-site/bj.toml", "three-site/sh.toml"}) {
    auto r = load_node_config(source_dir() + "/config/examples/" + file);
    ASSERT_TRUE(r.ok()) << file << ": " << r.status().to_string();
    EXPECT_TRUE(r->dal.enabled) << file;
    auto schema = load_node_schema(*r);
    ASSERT_TRUE(schema.ok()) << file << ": " << schema.status().to_string();
    EXPECT_EQ(schema->tables().size(), 4u) << file;
    EXPECT_TRUE(r->coordinator.auto_failover) << file;
    // The laptop cluster serves order reads from the row cache.
    EXPECT_EQ(r->cache.tables.size(), std::string(file).rfind("laptop/", 0) == 0 ? 1u : 0u) << file;
    // Drills on a laptop, never by default on a real site.
    EXPECT_EQ(r->admin_api.allow_fault_injection, std::string(file).rfind("laptop/", 0) == 0) << file;
    // The laptop's SOA service, with the instances tools/dev up starts.
    if (std::string(file).rfind("laptop/", 0) == 0) {
      ASSERT_EQ(r->soa.services.size(), 1u) << file;
      EXPECT_EQ(r->soa.services[0].name, "pricing");
      EXPECT_EQ(r->soa.services[0].instances.size(), 2u);
    }
  }
}

}  // namespace ezone
