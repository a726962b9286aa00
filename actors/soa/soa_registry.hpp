// SoaRegistry: service instances that register at runtime, next to the
// ones [soa] lists (DESIGN.md, "soa_proxy": the service registry).
//
// Registration. An instance registers with its own zone's node, on the
// admin port; the instance's ezone is that node's:
//   POST   /admin/v1/soa/instances   {"service", "address", "ttl_s"?}
//          201 {"lease", "ttl_s", "keepalive_ms", "key", "ezone"}
//   POST   /admin/v1/soa/instances/<lease>/keepalive
//          200 {"lease", "ttl_s"}; 404 once the lease is gone: register again
//   DELETE /admin/v1/soa/instances/<lease>
//          200 {"lease", "deregistered"}
// The node grants an etcd lease of ttl_s seconds (default 10, at most
// [soa] registration_ttl_max_s; etcd may raise a small one to its
// minimum), writes the instance's key under it (zones/soa_registration.hpp)
// and relays the keepalives, which the instance sends every keepalive_ms
// (a third of the TTL). An instance that stops renewing (it died, or its
// node did) is removed from every proxy when etcd expires the lease. A
// keepalive or a delete must name a lease that holds a registration, so
// this API can neither renew nor revoke any other lease (such as the
// node's own ownership lease). Registering an address again moves its key
// to the new lease. The service must be declared in this node's [soa]; an
// ezone takes at most registered_per_zone_max registered instances of a
// service. Malformed requests get 400 naming the field, and are counted
// (ezone_admin_bad_requests_total{endpoint="soa_instances"}); an etcd that
// cannot be reached gives 503 with Retry-After.
//
// Watching. Every node reads every registration, then watches their
// prefix: a put adds the instance to its proxy, a delete removes it. When
// the watch cannot resume (etcd compacted past it) or could not be set up
// (etcd unreachable), the registry's thread reads them all again and
// replaces the proxy's registered set, retrying every second until it
// succeeds. A key under the prefix that names no valid registration is
// logged and counted (ezone_soa_registry_errors_total), never served.
#pragma once

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "actors/http/http_types.hpp"
#include "core/metrics.hpp"
#include "storage/meta/meta_store.hpp"

namespace spdlog {
class logger;
}

namespace ezone {

class SoaProxy;

class SoaRegistry {
 public:
  // ezone: this node's. store, proxy and metrics must outlive the registry.
  // store_reachable (optional): whether the node's last check reached etcd.
  // While it says no, the API answers 503 at once instead of waiting on
  // etcd's timeouts, which would hold up the admin port's other requests
  // (/healthz). Reads the registrations and starts watching them (or, with
  // etcd out of reach, keeps trying on its thread).
  SoaRegistry(std::string ezone, meta::MetaStore& store, SoaProxy& proxy, Metrics& metrics,
              std::shared_ptr<spdlog::logger> logger, std::function<bool()> store_reachable = nullptr);
  ~SoaRegistry();
  SoaRegistry(const SoaRegistry&) = delete;
  SoaRegistry& operator=(const SoaRegistry&) = delete;

  // Ends the watch and joins the thread. Registrations stay in etcd until
  // their leases expire. Idempotent.
  void stop();
  // The registration API above; nullopt for any other path.
  std::optional<HttpResponse> handle(const HttpRequest& req);

 private:
  HttpResponse register_instance(const HttpRequest& req);
  HttpResponse keepalive(int64_t lease);
  HttpResponse deregister(int64_t lease);
  // The registration key held under `lease`, as the watch (and this
  // node's own registrations) show it: everything since the full read
  // that every start and resync makes. nullopt when it holds none.
  std::optional<std::string> key_of_lease(int64_t lease);
  // Registrations of key's service and ezone other than key itself, as
  // the watch shows them (the proxies check the limit again).
  size_t registered_in_zone(const std::string& key);
  HttpResponse bad_request(const std::string& why);
  void apply(const std::vector<meta::WatchEvent>& events);
  // The lease a registration key is under, as of kv.mod_revision; an
  // older revision than the one known changes nothing (the watch may
  // report a put after this node's own newer one). mutex_ held.
  void note_lease(const meta::KeyValue& kv);
  void forget_key(const std::string& key, int64_t revision);  // mutex_ held
  // Reads every registration, hands them to the proxy and watches from
  // there; false (logged) when etcd could not be reached.
  bool resync();
  void run();

  const std::string ezone_;
  meta::MetaStore& store_;
  SoaProxy& proxy_;
  std::shared_ptr<spdlog::logger> logger_;
  std::function<bool()> store_reachable_;
  Counter& bad_requests_;
  Counter& registrations_;
  Counter& errors_;
  Counter& resyncs_;

  std::mutex watch_mutex_;  // guards watch_ and failing_ (resync: the constructor, then the thread)
  std::unique_ptr<meta::Watch> watch_;
  bool failing_ = false;  // the last full read failed (its warning is logged)

  std::mutex mutex_;  // guards the fields below
  std::condition_variable wake_;
  bool stopping_ = false;
  bool resync_wanted_ = true;
  struct Held {
    int64_t lease = 0;
    int64_t revision = 0;
  };
  std::map<int64_t, std::string> key_by_lease_;
  std::map<std::string, Held> lease_by_key_;
  std::thread thread_;
};

// The registration API on a node: the registry's answer; 404 naming the
// config file (source) when the node takes no registrations (no [soa], or
// [soa] registration = false); nullopt for any other path.
std::optional<HttpResponse> handle_soa_registry_admin(SoaRegistry* registry, const std::string& source,
                                                      const HttpRequest& req);

}  // namespace ezone
