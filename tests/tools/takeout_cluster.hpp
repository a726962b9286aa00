// A LocalCluster of bj and sh serving the takeout app on the small test
// fences, for tests that drive it with the load generator
// (loadgen_cluster_test, drill_process_test).
#pragma once

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "storage/net/http_client.hpp"
#include "tests/integration/local_cluster.hpp"
#include "tests/support/eventually.hpp"

namespace ezone::test {

const std::string kTakeoutSource = EZONE_TEST_SOURCE_DIR;
const std::string kTakeoutFencesDir = kTakeoutSource + "/tests/data/fences/good";
const std::string kTakeoutShardsFile = kTakeoutSource + "/config/shards/test-fences.toml";
constexpr int64_t kTakeoutTimeoutMs = 5000;

// One merchant committed at the zone: true once writes are accepted there
// (they are refused, 503, until the zone holds its etcd lease). Bounded.
inline bool merchant_commits(const LocalCluster& cluster, const std::string& ezone, double lat, double lon) {
  const std::string body = nlohmann::json{{"name", "warm-up"}, {"lat", lat}, {"lon", lon}}.dump();
  return eventually([&] {
    auto r = net::http_request(cluster.addresses(ezone).http, "POST", "/v1/merchants", body, "application/json",
                               kTakeoutTimeoutMs, cluster.http_tls());
    return r.ok() && r->status == 201;
  }, std::chrono::seconds(20));
}

// Starts the cluster (extra_toml and timeouts_toml are added to every node's
// config) and waits until both zones accept writes: a merchant in a shard of
// each (1 is bj's, 2 sh's). Fails the test otherwise.
// options: its admin_toml and admin_token are kept; the rest is set here.
inline void start_takeout_cluster(std::unique_ptr<LocalCluster>* out, const std::string& extra_toml = "",
                                  const std::string& timeouts_toml = "", LocalClusterOptions options = {}) {
  options.gzs_toml = "fences_dir = \"" + kTakeoutFencesDir + "\"\nshards_file = \"" + kTakeoutShardsFile + "\"\n";
  options.timeouts_toml = timeouts_toml;
  options.extra_toml = "[dal]\nschema_file = \"" + kTakeoutSource + "/config/schemas/takeout.toml\"\n"
                       "synchronous = \"normal\"\n\n"
                       "[drc]\npull_wait_ms = 200\npull_timeout_ms = 1000\nretry_ms = 50\n\n"
                       "[app]\nname = \"takeout\"\n\n" + extra_toml;
  auto cluster = LocalCluster::start(options);
  ASSERT_TRUE(cluster.ok()) << cluster.status().to_string();
  *out = std::move(*cluster);
  ASSERT_TRUE(merchant_commits(**out, "bj", 1.0, 1.0)) << (*out)->log_tail("bj");
  ASSERT_TRUE(merchant_commits(**out, "sh", 2.0, 5.5)) << (*out)->log_tail("sh");
}

}  // namespace ezone::test
