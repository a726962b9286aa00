// Two Nodes with a DAL (bj and sh, test-fences.toml: shard 1 is bj's, 2
// is sh's), with helpers for the DAL's HTTP API and the admin API.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "storage/net/http_client.hpp"
#include "tests/actors/node_fixture.hpp"
#include "tests/support/eventually.hpp"

namespace ezone::test {

using nlohmann::json;

class DalNodeTest : public TwoNodeTest {
 protected:
  void SetUp() override {
    TwoNodeTest::SetUp();
    configure = dal_config(dir_);
  }

  Result<std::unique_ptr<Node>> start_node(const std::string& ezone) {
    return start(ezone, {}, std::string(EZONE_TEST_SOURCE_DIR) + "/config/shards/test-fences.toml");
  }

  Result<net::HttpResponse> tx(uint16_t http_port, const json& body) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = "/dal/v1/tx";
    req.body = body.dump();
    req.content_type = "application/json";
    return net::HttpConnection({"127.0.0.1", http_port}).request(req, 5000);
  }

  // Posts `body` to bj until it commits: a node refuses writes (503,
  // lease_invalid) until its etcd session holds the lease.
  bool commit_once_leased(const json& body, uint16_t http_port = 0) {
    return eventually([&] {
      auto r = tx(http_port != 0 ? http_port : bj_ports_.http, body);
      return r.ok() && r->status == 200;
    });
  }

  // A request to a node's admin API, with admin_token_ when it is set.
  Result<net::HttpResponse> admin_call(uint16_t admin_port, const std::string& method, const std::string& target) {
    net::HttpRequest req{method, target, "", "", {}};
    net::add_bearer_token(req, admin_token_);
    return net::HttpConnection({"127.0.0.1", admin_port}, admin_tls_).request(req, 5000);
  }

  json admin_get(uint16_t admin_port, const std::string& target) {
    auto r = admin_call(admin_port, "GET", target);
    if (!r.ok() || r->status != 200) return json();
    return json::parse(r->body, nullptr, false);
  }

  std::string checksum(uint16_t admin_port) {
    json j = admin_get(admin_port, "/admin/v1/dal/checksum?table=orders");
    return j.is_object() ? j.value("checksum", "") : "";
  }

  // Gives every node start() builds the admin token ([admin] token), and
  // sends it with admin_call and admin_get.
  void use_admin_token(const std::string& token) {
    admin_token_ = token;
    configure = [dal = configure, token](NodeConfig& c) {
      dal(c);
      c.admin_api.token = token;
    };
  }
  std::string admin_token_;
  net::TlsContextPtr admin_tls_;  // when a test gives the nodes [tls]

  json insert_order(int64_t id, ShardId shard, Epoch epoch) {
    return json{{"shard", shard}, {"epoch", epoch},
                {"statements", {{{"sql", "INSERT INTO orders(id, shard, state) VALUES(?1, ?2, 'created')"},
                                 {"params", {id, shard}}}}}};
  }
};

}  // namespace ezone::test
