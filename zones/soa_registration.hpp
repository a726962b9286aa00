// Where the SOA proxy's registered instances live in the cluster's memory
// (actors/soa/soa_registry.hpp registers and watches them).
//
// An instance that registers is one key, written under an etcd lease that
// the instance keeps alive through its zone's node:
//   /ezone/v1/soa/instances/<service>/<ezone>/<host:port>
// The key says everything the proxies need, so a delete event (which
// carries only the key) removes the instance; the value is for operators:
//   {"service","ezone","address","registered_wall_ms","ttl_s"}
#pragma once

#include <cstdint>
#include <string>

#include "core/address.hpp"
#include "core/status.hpp"

namespace ezone {

constexpr const char* kSoaInstancePrefix = "/ezone/v1/soa/instances/";

// A service's name: 1-64 of [a-z0-9_-], starting with a letter or digit
// (so /soa/v1/_... can never be a service's path).
bool valid_soa_service_name(const std::string& name);

struct SoaRegistration {
  std::string service;
  std::string ezone;  // where the instance runs
  HostPort address;

  bool operator==(const SoaRegistration& o) const {
    return service == o.service && ezone == o.ezone && address == o.address;
  }
  bool operator<(const SoaRegistration& o) const;
};

std::string soa_instance_key(const SoaRegistration& r);
// The registration a key names; invalid_argument saying what is wrong for
// anything else under (or outside) the prefix.
Result<SoaRegistration> parse_soa_instance_key(const std::string& key);
// The value written under the key.
std::string soa_instance_value(const SoaRegistration& r, int64_t registered_wall_ms, int64_t ttl_s);

}  // namespace ezone
