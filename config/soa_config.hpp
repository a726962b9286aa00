// [soa]: the SOA proxy's service registry (DESIGN.md, "soa_proxy";
// actors/soa/soa_proxy.hpp says how calls are carried). Every site's file
// lists the same services with every zone's instances, as every site holds
// the same schema:
//
//   [soa]
//   probe_interval_ms = 1000   # health probe of every instance, 50..60000
//   probe_timeout_ms = 500     # one probe, 10..60000
//   down_after = 2             # failed probes in a row that mark an instance down, 1..100
//   call_timeout_ms = 5000     # one call to an instance, connect to last byte, 10..600000
//   connections_max = 64       # pooled keep-alive connections per instance, 1..100000
//   attempts_max = 3           # instances one call may try, 1..16
//   registration = true        # instances may register at runtime (below)
//   registration_ttl_max_s = 300   # the longest lease a registration may ask for, 1..3600
//   registered_per_zone_max = 64   # registered instances of one service in one ezone, 1..1024
//   ca_file = "tls/ca.crt"     # TLS to the instances of services with tls = true:
//   cert_file = "tls/bj.crt"   # the CA that signed their certificates, and
//   key_file = "tls/bj.key"    # (optional) the proxy's own, for instances that ask
//                              # for a client certificate; re-read at SIGHUP
//
//   [[soa.services]]
//   name = "pricing"           # [a-z0-9][a-z0-9_-]*, at most 64 characters, unique
//   mode = "route"             # orig | prefix | route
//   master = "bj"              # route only, optional: a global-zone service, served at its master
//   fallback = "reads"         # none | reads | all; default all for orig, reads otherwise
//   health_path = "/health"    # GET; 2xx is healthy
//   tls = false                # true: calls and probes go to its instances over
//                              # TLS; each instance's certificate must chain to
//                              # [soa] ca_file and name the address it is listed
//                              # (or registered) at
//   [soa.services.instances]   # optional with registration
//   bj = ["127.0.0.1:7301", "127.0.0.1:7302"]
//   sh = ["127.0.0.1:7401"]
//
// Registration (actors/soa/soa_registry.hpp): an instance registers with
// its own zone's node (POST /admin/v1/soa/instances) under a lease that it
// keeps alive; every node watches the registrations and adds them to the
// instances of the file. A service is declared in the file either way:
// its mode, fallback and health path are the cluster's decision, not an
// instance's.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/address.hpp"
#include "storage/net/tls.hpp"

namespace ezone {

// How a call finds its zone (DESIGN.md's three registration modes):
//   orig    a legacy service that knows nothing of zones: served in the
//           caller's zone;
//   prefix  a zone-aware service addressed by zone: /soa/v1/<zone>.<name>/...
//           is served in <zone>;
//   route   the runtime picks the zone: the owner of the call's sharding key
//           (X-Ezone-Key), or the master for a global-zone service.
enum class SoaMode { orig, prefix, route };
// Where a call may go when its zone has no live instance: nowhere, to a
// peer zone's instance for reads (GET, HEAD, OPTIONS) only, or for every call.
enum class SoaFallback { none, reads, all };

const char* soa_mode_name(SoaMode mode);
const char* soa_fallback_name(SoaFallback fallback);

struct SoaServiceConfig {
  std::string name;
  SoaMode mode = SoaMode::orig;
  std::string master;  // route only; empty: by the call's key
  SoaFallback fallback = SoaFallback::all;
  std::string health_path = "/health";
  bool tls = false;  // its instances speak TLS (checked against SoaSettings::tls)
  // Per ezone, in file order; an ezone may have none.
  std::vector<std::pair<std::string, std::vector<HostPort>>> instances;
};

constexpr size_t kSoaServicesMax = 256;
constexpr size_t kSoaInstancesPerZoneMax = 64;

struct SoaSettings {
  int64_t probe_interval_ms = 1000;
  int64_t probe_timeout_ms = 500;
  int64_t down_after = 2;
  int64_t call_timeout_ms = 5000;
  int64_t connections_max = 64;
  int64_t attempts_max = 3;
  bool registration = true;
  int64_t registration_ttl_max_s = 300;
  int64_t registered_per_zone_max = 64;
  // The client TLS of calls and probes to services with tls = true
  // (loaded with the config; config/tls_config.cpp).
  net::ClientTls tls;
  std::vector<SoaServiceConfig> services;  // empty: no [soa], no proxy
};

}  // namespace ezone
