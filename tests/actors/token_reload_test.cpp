// A running node re-reads its token files (Node::reload_tokens, POST
// /admin/v1/tokens/reload; ezoned on SIGHUP): the admin API, the router's
// internal endpoints and the peer token between routers take the new
// tokens without a restart, and a bad file changes nothing.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>

#include "actors/node/node.hpp"
#include "actors/router/key_extractor.hpp"
#include "storage/net/http_client.hpp"
#include "tests/actors/node_fixture.hpp"

namespace ezone {
namespace {

const std::string kOld = "old-token-0123456789abcdef";
const std::string kNew = "new-token-fedcba9876543210";
const std::string kOther = "other-token-5555555555555555";

class TokenReloadTest : public test::TwoNodeTest {
 protected:
  std::string file(const std::string& ezone, const std::string& token) const {
    return dir_ + "/" + ezone + "." + token;
  }
  void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

  // Every node's admin, service and peer tokens come from its own files,
  // first holding kOld.
  void use_token_files() {
    for (const char* ezone : {"bj", "sh"})
      for (const char* token : {"admin", "service", "peer"}) write(file(ezone, token), kOld + "\n");
    configure = [this](NodeConfig& c) {
      auto live = [&](const char* token) {
        const std::string path = file(c.ezone, token);
        auto read = read_token_file(path, token);
        EXPECT_TRUE(read.ok()) << read.status().to_string();
        return LiveToken::from_file(read.ok() ? *read : SharedToken(), path);
      };
      c.admin_api.token = live("admin");
      c.router.service_token = live("service");
      c.router.peer_token = live("peer");
    };
  }

  net::HttpResponse call(uint16_t port, const std::string& method, const std::string& target,
                         std::vector<std::pair<std::string, std::string>> headers) {
    net::HttpRequest req{method, target, "", method == "POST" ? "{}" : "", std::move(headers)};
    auto r = net::HttpConnection({"127.0.0.1", port}).request(req, 5000);
    EXPECT_TRUE(r.ok()) << r.status().to_string();
    return r.ok() ? *r : net::HttpResponse{};
  }
  int admin_status(const std::string& token) {
    return call(bj_ports_.admin, "GET", "/admin/v1/cluster", {{"Authorization", "Bearer " + token}}).status;
  }
  int internal_status(const std::string& token) {
    auto r = call(bj_ports_.http, "GET", "/v1/internal", {{"X-Ezone-Service-Token", token}});
    if (r.status != 200 && r.status != 401) ADD_FAILURE() << r.body;
    return r.status;
  }
  static uint64_t counter(Node& node, const std::string& name, const MetricLabels& labels = {}) {
    return node.metrics().counter(name, "", labels).value();  // registered by the node before
  }
  static uint64_t untrusted_at_bj(Node& bj) { return counter(bj, "ezone_router_untrusted_trails_total"); }
};

// bj serves an ezone-keyed user endpoint (so a request entering sh is
// forwarded to bj with sh's peer token) and an internal endpoint.
std::vector<Endpoint> endpoints() {
  Endpoint user;
  user.method = "POST";
  user.pattern = "/v1/users";
  user.key = key_to_ezone("bj");
  user.handler = [](HttpRequest&&, HttpResponder respond) { respond(HttpResponse::json(201, "{}")); };
  Endpoint internal;
  internal.method = "GET";
  internal.pattern = "/v1/internal";
  internal.entrance = Entrance::internal;
  internal.key = nullptr;  // served where it enters
  internal.handler = [](HttpRequest&&, HttpResponder respond) { respond(HttpResponse::json(200, "{}")); };
  return {user, internal};
}

}  // namespace

TEST_F(TokenReloadTest, ReloadedTokenFilesApplyFromTheNextRequestAndABadFileChangesNothing) {
  use_token_files();
  const std::string shards = std::string(EZONE_TEST_SOURCE_DIR) + "/config/shards/test-fences.toml";
  auto bj = start("bj", endpoints(), shards);
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  auto sh = start("sh", endpoints(), shards);
  ASSERT_TRUE(sh.ok()) << sh.status().to_string();
  auto forwarded_from_sh = [&] { return call(sh_ports_.http, "POST", "/v1/users", {}).status; };

  EXPECT_EQ(admin_status(kOld), 200);
  EXPECT_EQ(internal_status(kOld), 200);
  EXPECT_EQ(forwarded_from_sh(), 201);
  EXPECT_EQ(untrusted_at_bj(**bj), 0u) << "sh's forwards carry the peer token bj accepts";

  // The admin API: a reload asked over it, with the token in force.
  write(file("bj", "admin"), kNew + "\n");
  auto reload = call(bj_ports_.admin, "POST", "/admin/v1/tokens/reload", {{"Authorization", "Bearer " + kOld}});
  ASSERT_EQ(reload.status, 200) << reload.body;
  auto doc = nlohmann::json::parse(reload.body);
  EXPECT_EQ(doc["ok"], true);
  EXPECT_EQ(doc["tokens"][0], (nlohmann::json{{"token", "admin"}, {"file", file("bj", "admin")}, {"outcome", "changed"}}));
  EXPECT_EQ(doc["tokens"][1]["outcome"], "unchanged");
  EXPECT_EQ(doc["tokens"][2]["outcome"], "unchanged");
  EXPECT_EQ(reload.body.find(kNew), std::string::npos) << "token values are never shown";
  EXPECT_EQ(admin_status(kOld), 401);
  EXPECT_EQ(admin_status(kNew), 200);
  EXPECT_EQ(call(bj_ports_.admin, "GET", "/admin/v1/tokens/reload", {{"Authorization", "Bearer " + kNew}}).status, 405);
  EXPECT_EQ(call(bj_ports_.admin, "POST", "/admin/v1/tokens/reload", {}).status, 401);

  // The router's internal endpoints, reloaded through the embedding API.
  write(file("bj", "service"), kNew + "\n" + kOld + "\n");
  TokenReloadReport report = (*bj)->reload_tokens();
  EXPECT_TRUE(report.ok());
  EXPECT_EQ(report.tokens[1].outcome, "changed");
  EXPECT_EQ(internal_status(kOld), 200) << "the second line is still accepted";
  EXPECT_EQ(internal_status(kNew), 200);
  write(file("bj", "service"), kNew + "\n");
  (*bj)->reload_tokens();
  EXPECT_EQ(internal_status(kOld), 401);
  EXPECT_EQ(internal_status(kNew), 200);

  // The peer token: sh now sends one bj does not accept, so bj routes sh's
  // forwards as a client's (served, but their trail is not trusted)...
  write(file("sh", "peer"), kOther + "\n");
  EXPECT_EQ((*sh)->reload_tokens().tokens[2].outcome, "changed");
  EXPECT_EQ(forwarded_from_sh(), 201);
  EXPECT_EQ(untrusted_at_bj(**bj), 1u);
  // ...until bj accepts it too.
  write(file("bj", "peer"), kOld + "\n" + kOther + "\n");
  (*bj)->reload_tokens();
  EXPECT_EQ(forwarded_from_sh(), 201);
  EXPECT_EQ(untrusted_at_bj(**bj), 1u);

  // A file that cannot be used keeps the token in force and says why.
  write(file("bj", "admin"), "\n");
  ::unlink(file("bj", "service").c_str());
  auto failed = call(bj_ports_.admin, "POST", "/admin/v1/tokens/reload", {{"Authorization", "Bearer " + kNew}});
  EXPECT_EQ(failed.status, 500);
  auto bad = nlohmann::json::parse(failed.body);
  EXPECT_EQ(bad["ok"], false);
  EXPECT_EQ(bad["tokens"][0]["outcome"], "failed");
  EXPECT_NE(bad["tokens"][0]["error"].get<std::string>().find("holds no admin token"), std::string::npos) << failed.body;
  EXPECT_NE(bad["tokens"][0]["error"].get<std::string>().find("stays as it was"), std::string::npos);
  EXPECT_EQ(bad["tokens"][1]["outcome"], "failed");
  EXPECT_NE(bad["tokens"][1]["error"].get<std::string>().find(file("bj", "service")), std::string::npos);
  EXPECT_EQ(bad["tokens"][2]["outcome"], "unchanged");
  EXPECT_EQ(admin_status(kNew), 200);
  EXPECT_EQ(internal_status(kNew), 200);
  EXPECT_EQ(internal_status(kOld), 401);

  auto reloads = [&](const char* token, const char* outcome) {
    return counter(**bj, "ezone_token_reloads_total", {{"token", token}, {"outcome", outcome}});
  };
  EXPECT_EQ(reloads("admin", "changed"), 1u);
  EXPECT_EQ(reloads("admin", "failed"), 1u);
  EXPECT_EQ(reloads("service", "changed"), 2u);
  EXPECT_EQ(reloads("service", "failed"), 1u);
  EXPECT_EQ(reloads("peer", "changed"), 1u);
  EXPECT_EQ(nlohmann::json::parse((*bj)->cluster_json())["tokens"],
            (nlohmann::json{{"admin", true}, {"service", true}, {"peer", true}}));
}

TEST_F(TokenReloadTest, ATokenInTheConfigItselfOrNoneHasNothingToReload) {
  configure = [](NodeConfig& c) { c.admin_api.token = kOld; };
  auto bj = start("bj");
  ASSERT_TRUE(bj.ok()) << bj.status().to_string();
  TokenReloadReport report = (*bj)->reload_tokens();
  EXPECT_TRUE(report.ok());
  ASSERT_EQ(report.tokens.size(), 3u);
  for (const TokenReloadEntry& e : report.tokens) {
    EXPECT_EQ(e.outcome, "not_a_file") << e.token;
    EXPECT_EQ(e.file, "");
  }
  EXPECT_EQ(admin_status(kOld), 200);
}

}  // namespace ezone
