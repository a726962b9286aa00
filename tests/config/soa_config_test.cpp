// The [soa] section: a full service list read back, and one named case for
// each kind of mistake, each error naming the file, the key and a fix.
#include "config/node_config.hpp"

#include <gtest/gtest.h>

#include "tests/config/valid_config.hpp"

namespace ezone {
namespace {

const char* kServices = R"(
[soa]
probe_interval_ms = 200
down_after = 3

[[soa.services]]
name = "pricing"
mode = "route"
[soa.services.instances]
bj = ["127.0.0.1:7301", "127.0.0.1:7302"]
sh = ["127.0.0.1:7401"]

[[soa.services]]
name = "user-profile"
mode = "route"
master = "sh"
fallback = "none"
health_path = "/ready"
[soa.services.instances]
sh = ["127.0.0.1:7402"]

[[soa.services]]
name = "geo_legacy"
[soa.services.instances]
bj = ["localhost:7303"]

[[soa.services]]
name = "ledger"
mode = "prefix"
[soa.services.instances]
bj = ["127.0.0.1:7304"]
sh = ["127.0.0.1:7404"]
)";

Result<NodeConfig> parse(const std::string& soa) { return parse_node_config(std::string(test::kValid) + soa, "test.toml"); }

std::string replace(std::string text, const std::string& from, const std::string& to) {
  auto pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

void expect_error(const Result<NodeConfig>& r, const std::string& key, const std::string& words = "") {
  ASSERT_FALSE(r.ok()) << "accepted a bad [soa]; expected an error for " << key;
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("test.toml"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'" + key + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Fix:"), std::string::npos) << msg;
  if (!words.empty()) {
    EXPECT_NE(msg.find(words), std::string::npos) << msg;
  }
}

}  // namespace

TEST(SoaConfig, ServicesAreReadWithTheirModesDefaultsAndInstances) {
  auto none = parse("");
  ASSERT_TRUE(none.ok()) << none.status().to_string();
  EXPECT_TRUE(none->soa.services.empty());

  auto r = parse(kServices);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  const SoaSettings& s = r->soa;
  EXPECT_EQ(s.probe_interval_ms, 200);
  EXPECT_EQ(s.down_after, 3);
  EXPECT_EQ(s.call_timeout_ms, 5000);
  ASSERT_EQ(s.services.size(), 4u);
  const auto& pricing = s.services[0];
  EXPECT_EQ(pricing.name, "pricing");
  EXPECT_EQ(pricing.mode, SoaMode::route);
  EXPECT_EQ(pricing.master, "");
  EXPECT_EQ(pricing.fallback, SoaFallback::reads) << "zone-aware services fall back for reads only by default";
  EXPECT_EQ(pricing.health_path, "/health");
  ASSERT_EQ(pricing.instances.size(), 2u);
  EXPECT_EQ(pricing.instances[0].first, "bj");
  ASSERT_EQ(pricing.instances[0].second.size(), 2u);
  EXPECT_EQ(pricing.instances[0].second[1].to_string(), "127.0.0.1:7302");
  EXPECT_EQ(pricing.instances[1].first, "sh");
  EXPECT_EQ(s.services[1].master, "sh");
  EXPECT_EQ(s.services[1].fallback, SoaFallback::none);
  EXPECT_EQ(s.services[1].health_path, "/ready");
  EXPECT_EQ(s.services[2].mode, SoaMode::orig);
  EXPECT_EQ(s.services[2].fallback, SoaFallback::all) << "a legacy service may be served anywhere";
  EXPECT_EQ(s.services[3].mode, SoaMode::prefix);
  EXPECT_STREQ(soa_mode_name(SoaMode::prefix), "prefix");
  EXPECT_STREQ(soa_fallback_name(SoaFallback::reads), "reads");
}

TEST(SoaConfig, EachMistakeIsNamedWithItsKey) {
  expect_error(parse("[soa]\n"), "soa.services", "without a service");
  expect_error(parse("[soa]\nservices = []\n"), "soa.services");
  expect_error(parse("[soa]\nservices = 3\n"), "soa.services");
  expect_error(parse(replace(kServices, "down_after = 3", "down_after = 0")), "soa.down_after");
  expect_error(parse(replace(kServices, "down_after = 3", "downafter = 3")), "soa.downafter", "unknown key");
  expect_error(parse(replace(kServices, "name = \"pricing\"", "name = \"Pricing\"")), "soa.services[0].name");
  expect_error(parse(replace(kServices, "name = \"pricing\"", "name = \"bj.pricing\"")), "soa.services[0].name");
  expect_error(parse(replace(kServices, "name = \"pricing\"", "name = \"ledger\"")), "soa.services[3].name",
               "declared twice");
  expect_error(parse(replace(kServices, "mode = \"route\"", "mode = \"smart\"")), "soa.services[0].mode");
  expect_error(parse(replace(kServices, "master = \"sh\"", "master = \"gz\"")), "soa.services[1].master",
               "not an ezone");
  expect_error(parse(replace(kServices, "name = \"geo_legacy\"", "name = \"geo_legacy\"\nmaster = \"bj\"")),
               "soa.services[2].master", "only a route-mode");
  expect_error(parse(replace(kServices, "fallback = \"none\"", "fallback = \"some\"")), "soa.services[1].fallback");
  expect_error(parse(replace(kServices, "health_path = \"/ready\"", "health_path = \"ready\"")),
               "soa.services[1].health_path");
  expect_error(parse(replace(kServices, "sh = [\"127.0.0.1:7401\"]", "gz = [\"127.0.0.1:7401\"]")),
               "soa.services[0].instances.gz", "not an ezone");
  expect_error(parse(replace(kServices, "\"127.0.0.1:7302\"", "\"127.0.0.1\"")),
               "soa.services[0].instances.bj[1]");
  expect_error(parse(replace(kServices, "\"127.0.0.1:7302\"", "\"0.0.0.0:7302\"")),
               "soa.services[0].instances.bj[1]");
  expect_error(parse(replace(kServices, "\"127.0.0.1:7302\"", "\"127.0.0.1:7301\"")),
               "soa.services[0].instances.bj[1]", "twice");
  expect_error(parse(replace(kServices, "\"127.0.0.1:7302\"", "7302")), "soa.services[0].instances.bj[1]");
  // Without registration, a service needs an instance in the file.
  const std::string closed = replace(kServices, "down_after = 3", "down_after = 3\nregistration = false");
  expect_error(parse(replace(closed, "sh = [\"127.0.0.1:7402\"]", "sh = []")), "soa.services[1].instances",
               "no instance");
  expect_error(parse(replace(kServices, "sh = [\"127.0.0.1:7402\"]", "sh = \"127.0.0.1:7402\"")),
               "soa.services[1].instances.sh");
  expect_error(parse(replace(kServices, "health_path = \"/ready\"", "health_path = \"/ready\"\nport = 1")),
               "soa.services[1].port", "unknown key");
  std::string no_instances = replace(closed, "[soa.services.instances]\nbj = [\"localhost:7303\"]", "");
  expect_error(parse(no_instances), "soa.services[2].instances", "missing");
  expect_error(parse(replace(kServices, "down_after = 3", "registration = 1")), "soa.registration");
  expect_error(parse(replace(kServices, "down_after = 3", "registration_ttl_max_s = 0")),
               "soa.registration_ttl_max_s");
  expect_error(parse(replace(kServices, "down_after = 3", "registered_per_zone_max = 5000")),
               "soa.registered_per_zone_max");
}

TEST(SoaConfig, WithRegistrationAServiceMayLeaveItsInstancesToRegister) {
  auto r = parse(replace(kServices, "sh = [\"127.0.0.1:7402\"]", "sh = []"));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->soa.registration) << "registration is on by default";
  EXPECT_EQ(r->soa.registration_ttl_max_s, 300);
  EXPECT_EQ(r->soa.registered_per_zone_max, 64);
  auto bare = parse("[soa]\nregistration_ttl_max_s = 60\nregistered_per_zone_max = 8\n"
                    "[[soa.services]]\nname = \"quote\"\nmode = \"route\"\n");
  ASSERT_TRUE(bare.ok()) << bare.status().to_string();
  EXPECT_EQ(bare->soa.registration_ttl_max_s, 60);
  EXPECT_EQ(bare->soa.registered_per_zone_max, 8);
  ASSERT_EQ(bare->soa.services.size(), 1u);
  EXPECT_TRUE(bare->soa.services[0].instances.empty());
}

// TLS to instances: per service, with [soa]'s client files (absolute here:
// the text has no file to be beside).
TEST(SoaConfig, AServiceWithTlsNeedsTheInstancesCa) {
  const std::string d = std::string(EZONE_TEST_SOURCE_DIR) + "/tests/data/tls";
  const std::string secure = replace(kServices, "mode = \"prefix\"", "mode = \"prefix\"\ntls = true");
  const std::string files = "ca_file = \"" + d + "/ca.crt\"\ncert_file = \"" + d + "/client.crt\"\nkey_file = \"" +
                            d + "/client.key\"\n";
  auto r = parse(replace(secure, "down_after = 3\n", "down_after = 3\n" + files));
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->soa.tls);
  EXPECT_TRUE(r->soa.services[3].tls);
  EXPECT_FALSE(r->soa.services[0].tls) << "plain unless the service says tls";
  EXPECT_FALSE(parse(kServices)->soa.tls);
  expect_error(parse(secure), "soa.ca_file", "service 'ledger' has tls = true");
  expect_error(parse(replace(secure, "down_after = 3\n", "down_after = 3\nca_file = \"" + d + "/missing.crt\"\n")),
               "soa.ca_file", "missing.crt");
  const std::string mismatched = replace(files, "/client.key", "/node.key");
  expect_error(parse(replace(secure, "down_after = 3\n", "down_after = 3\n" + mismatched)), "soa.cert_file",
               "does not belong");
  expect_error(parse(replace(secure, "tls = true", "tls = \"yes\"")), "soa.services[3].tls");
}

// [incident] shares the file for want of a better home: it is as small.
TEST(IncidentConfig, ThePolicyIsReadOverTheDefaultsAndCheckedAsAWhole) {
  auto none = parse("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->incident.window_s, 300);
  EXPECT_EQ(none->incident.policy.rules[0].error_ratio_min, 0.20);

  auto custom = parse("[incident]\nwindow_s = 60\nfailed_ratio = [0.5, 0.25, 0.1, 0.02, 0]\n"
                      "money_cents = [-1, -1, -1, -1, 1]\n");
  ASSERT_TRUE(custom.ok()) << custom.status().to_string();
  EXPECT_EQ(custom->incident.window_s, 60);
  EXPECT_EQ(custom->incident.policy.rules[0].error_ratio_min, 0.5);
  EXPECT_EQ(custom->incident.policy.rules[4].error_ratio_min, 0.0);
  EXPECT_EQ(custom->incident.policy.rules[0].money_cents_min, -1);
  EXPECT_EQ(custom->incident.policy.rules[4].money_cents_min, 1);
  EXPECT_EQ(custom->incident.policy.rules[0].loss_ratio_min, 0.01) << "arrays left out keep the defaults";

  expect_error(parse("[incident]\nwindow_s = 5\n"), "incident.window_s");
  expect_error(parse("[incident]\nfailed_ratio = [0.5, 0.25]\n"), "incident.failed_ratio", "five");
  expect_error(parse("[incident]\nfailed_ratio = [0.5, 0.25, 0.1, \"x\", 0]\n"), "incident.failed_ratio");
  expect_error(parse("[incident]\nlost_orders = [-1, -1, -1, 1.5, -1]\n"), "incident.lost_orders", "integer");
  expect_error(parse("[incident]\nfailed_ratio = [nan, 0.1, 0.05, 0.01, 0.001]\n"), "incident.failed_ratio", "finite");
  expect_error(parse("[incident]\nlost_ratio = [inf, 0.001, 0.0001, -1, -1]\n"), "incident.lost_ratio", "finite");
  expect_error(parse("[incident]\nmoney_cents = [-1, -1, -1, -2, -1]\n"), "incident.money_cents", "not -1");
  expect_error(parse("[incident]\nfailed_ratio = [0.1, 0.2, 0.05, 0.01, 0.001]\n"), "incident", "milder grade");
  expect_error(parse("[incident]\nfailed = [0.1]\n"), "incident.failed", "unknown key");
}

TEST(TracingConfig, TheCollectorAndItsBoundsAreReadAndChecked) {
  auto none = parse("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->tracing.log_spans);
  EXPECT_FALSE(none->tracing.exports());
  auto r = parse("[tracing]\nlog_spans = false\notlp_endpoint = \"127.0.0.1:4318\"\nbatch_max = 100\n"
                 "queue_max = 1000\nflush_interval_ms = 200\n");
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_FALSE(r->tracing.log_spans);
  EXPECT_TRUE(r->tracing.exports());
  EXPECT_EQ(r->tracing.otlp_endpoint.to_string(), "127.0.0.1:4318");
  EXPECT_EQ(r->tracing.otlp_path, "/v1/traces");
  EXPECT_EQ(r->tracing.batch_max, 100);
  EXPECT_EQ(r->tracing.flush_interval_ms, 200);
  auto empty = parse("[tracing]\notlp_endpoint = \"\"\n");
  ASSERT_TRUE(empty.ok()) << empty.status().to_string();
  EXPECT_FALSE(empty->tracing.exports());

  expect_error(parse("[tracing]\notlp_endpoint = \"127.0.0.1\"\n"), "tracing.otlp_endpoint");
  expect_error(parse("[tracing]\notlp_endpoint = \"0.0.0.0:4318\"\n"), "tracing.otlp_endpoint");
  expect_error(parse("[tracing]\notlp_path = \"v1/traces\"\n"), "tracing.otlp_path");
  expect_error(parse("[tracing]\nbatch_max = 0\n"), "tracing.batch_max");
  expect_error(parse("[tracing]\nbatch_max = 500\nqueue_max = 100\n"), "tracing.queue_max", "below batch_max");
  expect_error(parse("[tracing]\nflush_interval_ms = 1\n"), "tracing.flush_interval_ms");
  expect_error(parse("[tracing]\nexporter = \"jaeger\"\n"), "tracing.exporter", "unknown key");
}

}  // namespace ezone
