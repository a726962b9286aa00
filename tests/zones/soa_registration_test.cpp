// Registration keys: one key per instance, read back exactly, and anything
// else under the prefix refused with a reason.
#include "zones/soa_registration.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ezone {
namespace {

TEST(SoaRegistration, AKeyNamesTheServiceTheEzoneAndTheAddress) {
  SoaRegistration r{"pricing", "bj", {"127.0.0.1", 7301}};
  EXPECT_EQ(soa_instance_key(r), "/ezone/v1/soa/instances/pricing/bj/127.0.0.1:7301");
  auto back = parse_soa_instance_key(soa_instance_key(r));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, r);
  SoaRegistration v6{"ledger", "sh-2", {"::1", 80}};
  auto back6 = parse_soa_instance_key(soa_instance_key(v6));
  ASSERT_TRUE(back6.ok()) << back6.status().to_string();
  EXPECT_EQ(back6->address.host, "::1");
  auto value = nlohmann::json::parse(soa_instance_value(r, 1234, 10));
  EXPECT_EQ(value["address"], "127.0.0.1:7301");
  EXPECT_EQ(value["ttl_s"], 10);
}

TEST(SoaRegistration, AnythingElseIsRefusedWithItsReason) {
  const std::string p = kSoaInstancePrefix;
  for (const std::string& key : {std::string("/ezone/v1/nodes/bj"), p, p + "pricing", p + "pricing/bj",
                                 p + "pricing/bj/127.0.0.1:7301/x", p + "Pricing/bj/127.0.0.1:7301",
                                 p + "pricing/BJ/127.0.0.1:7301", p + "pricing/bj/127.0.0.1",
                                 p + "pricing/bj/0.0.0.0:7301", p + "pricing/bj/127.0.0.1:07301",
                                 p + "pricing//127.0.0.1:7301", p + "pricing/bj/127.0.0.1:70000"}) {
    auto r = parse_soa_instance_key(key);
    EXPECT_FALSE(r.ok()) << key;
    if (!r.ok()) {
      EXPECT_FALSE(r.status().message().empty()) << key;
    }
  }
  EXPECT_TRUE(valid_soa_service_name("geo_legacy-2"));
  EXPECT_FALSE(valid_soa_service_name("_registry"));
  EXPECT_FALSE(valid_soa_service_name(std::string(65, 'a')));
}

}  // namespace
}  // namespace ezone
