#include "actors/soa/soa_registry.hpp"

#include <charconv>
#include <chrono>
#include <limits>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/soa/soa_proxy.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"
#include "zones/soa_registration.hpp"

namespace ezone {
namespace {

constexpr const char* kInstancesPath = "/admin/v1/soa/instances";
constexpr int64_t kDefaultTtlS = 10;
constexpr int64_t kResyncRetryMs = 1000;

// "<lease>" or "<lease>/keepalive" after kInstancesPath + "/".
struct LeasePath {
  int64_t lease = 0;
  bool keepalive = false;
};

Result<LeasePath> parse_lease_path(const std::string& rest) {
  LeasePath p;
  std::string id = rest;
  const std::string suffix = "/keepalive";
  if (id.size() > suffix.size() && id.compare(id.size() - suffix.size(), suffix.size(), suffix) == 0) {
    p.keepalive = true;
    id.resize(id.size() - suffix.size());
  }
  auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), p.lease);
  if (id.empty() || id[0] == '-' || ec != std::errc() || end != id.data() + id.size() || p.lease <= 0)
    return Status(Errc::invalid_argument,
                  "'" + rest.substr(0, 40) + "' is not <lease> or <lease>/keepalive (a lease is a positive integer)");
  return p;
}

HttpResponse unavailable(const Status& s) {
  HttpResponse r = HttpResponse::error(503, "soa registry: etcd cannot be reached: " + s.message());
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse lease_gone(int64_t lease) {
  return HttpResponse::error(404, "lease " + std::to_string(lease) +
                                      " holds no SOA registration (it expired, was revoked, or is not one): "
                                      "register again with POST /admin/v1/soa/instances");
}

}  // namespace

SoaRegistry::SoaRegistry(std::string ezone, meta::MetaStore& store, SoaProxy& proxy, Metrics& metrics,
                         std::shared_ptr<spdlog::logger> logger, std::function<bool()> store_reachable)
    : ezone_(std::move(ezone)),
      store_(store),
      proxy_(proxy),
      logger_(std::move(logger)),
      store_reachable_(std::move(store_reachable)),
      bad_requests_(metrics.counter("ezone_admin_bad_requests_total", "Malformed admin requests, by endpoint",
                                    {{"endpoint", "soa_instances"}})),
      registrations_(metrics.counter("ezone_soa_registrations_total", "SOA instances registered at this node")),
      errors_(metrics.counter("ezone_soa_registry_errors_total",
                              "Registration keys that name no valid registration, and failed reads of them")),
      resyncs_(metrics.counter("ezone_soa_registry_resyncs_total", "Full reads of the SOA registrations")) {
  resync();
  thread_ = std::thread([this] { run(); });
}

SoaRegistry::~SoaRegistry() { stop(); }

void SoaRegistry::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard<std::mutex> lock(watch_mutex_);
  watch_.reset();  // waits until no callback runs
}

void SoaRegistry::run() {
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    wake_.wait_for(lock, std::chrono::milliseconds(kResyncRetryMs), [this] { return stopping_ || resync_wanted_; });
    if (stopping_) return;
    if (!resync_wanted_) continue;
    lock.unlock();
    const bool done = resync();
    lock.lock();
    if (!done) wake_.wait_for(lock, std::chrono::milliseconds(kResyncRetryMs), [this] { return stopping_; });
  }
}

bool SoaRegistry::resync() {
  std::lock_guard<std::mutex> watch_lock(watch_mutex_);
  watch_.reset();  // waits for its callbacks: nothing applies an event older than the read below
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return true;
    resync_wanted_ = false;
  }
  resyncs_.inc();
  auto fail = [&](const Status& s) {
    errors_.inc();
    if (logger_ && !failing_)  // once per outage
      logger_->warn("event=soa_registry_unavailable ezone={} error=\"{}\" retry_ms={}", ezone_, s.to_string(),
                    kResyncRetryMs);
    failing_ = true;
    std::lock_guard<std::mutex> lock(mutex_);
    resync_wanted_ = true;
    return false;
  };
  auto all = store_.range(kSoaInstancePrefix, /*prefix=*/true);
  if (!all) return fail(all.status());
  std::vector<SoaRegistration> registrations;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    key_by_lease_.clear();
    lease_by_key_.clear();
    for (const auto& kv : all->kvs) {
      auto r = parse_soa_instance_key(kv.key);
      if (!r) {
        errors_.inc();
        if (logger_)
          logger_->warn("event=soa_registration_invalid ezone={} key=\"{}\" error=\"{}\"", ezone_,
                        kv.key.substr(0, 200), r.status().message());
        continue;
      }
      note_lease(kv);
      registrations.push_back(std::move(*r));
    }
  }
  proxy_.set_registered(registrations);
  meta::WatchCallbacks callbacks;
  callbacks.on_events = [this](const std::vector<meta::WatchEvent>& events) { apply(events); };
  callbacks.on_status = [this](const Status& s) {
    if (s || s.code() != Errc::not_found) return;  // an outage: the watch resumes by itself
    std::lock_guard<std::mutex> lock(mutex_);
    resync_wanted_ = true;  // compacted past the watch: read everything again
    wake_.notify_all();
  };
  auto watch = store_.watch(kSoaInstancePrefix, /*prefix=*/true, all->revision + 1, std::move(callbacks));
  if (!watch) return fail(watch.status());
  watch_ = std::move(*watch);
  failing_ = false;
  if (logger_)
    logger_->info("event=soa_registry_read ezone={} registrations={} revision={}", ezone_, registrations.size(),
                  all->revision);
  return true;
}

void SoaRegistry::note_lease(const meta::KeyValue& kv) {
  auto it = lease_by_key_.find(kv.key);
  if (it != lease_by_key_.end() && it->second.revision > kv.mod_revision) return;  // older than what is known
  forget_key(kv.key, kv.mod_revision);
  lease_by_key_[kv.key] = {kv.lease, kv.mod_revision};
  if (kv.lease != 0) key_by_lease_[kv.lease] = kv.key;
}

void SoaRegistry::forget_key(const std::string& key, int64_t revision) {
  auto it = lease_by_key_.find(key);
  if (it == lease_by_key_.end() || it->second.revision > revision) return;
  auto back = key_by_lease_.find(it->second.lease);
  if (back != key_by_lease_.end() && back->second == key) key_by_lease_.erase(back);
  lease_by_key_.erase(it);
}

void SoaRegistry::apply(const std::vector<meta::WatchEvent>& events) {
  for (const auto& e : events) {
    auto r = parse_soa_instance_key(e.kv.key);
    if (!r) {
      errors_.inc();
      if (logger_)
        logger_->warn("event=soa_registration_invalid ezone={} key=\"{}\" error=\"{}\"", ezone_,
                      e.kv.key.substr(0, 200), r.status().message());
      continue;
    }
    const bool put = e.type == meta::WatchEvent::Type::put;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (put) note_lease(e.kv);
      else forget_key(e.kv.key, e.kv.mod_revision);
    }
    if (!put) {
      proxy_.remove_registered(*r);
    } else if (Status s = proxy_.add_registered(*r); !s && logger_) {
      logger_->warn("event=soa_registration_refused ezone={} error=\"{}\"", ezone_, s.message());
    }
  }
}

std::optional<HttpResponse> handle_soa_registry_admin(SoaRegistry* registry, const std::string& source,
                                                      const HttpRequest& req) {
  if (registry) return registry->handle(req);
  const std::string path = req.path();
  const std::string base = kInstancesPath;
  if (path != base && path.compare(0, base.size() + 1, base + "/") != 0) return std::nullopt;
  return HttpResponse::error(404, source + " lets no instance register: it has no [soa] section, or [soa] "
                                           "registration = false");
}

std::optional<HttpResponse> SoaRegistry::handle(const HttpRequest& req) {
  const std::string path = req.path();
  const std::string base = kInstancesPath;
  const bool registering = path == base;
  if (!registering && path.compare(0, base.size() + 1, base + "/") != 0) return std::nullopt;
  LeasePath lease;
  if (!registering) {
    auto parsed = parse_lease_path(path.substr(base.size() + 1));
    if (!parsed) return bad_request(parsed.status().message());
    lease = *parsed;
  }
  const char* method = registering || lease.keepalive ? "POST" : "DELETE";
  if (req.method != method)
    return HttpResponse::error(405, req.method + " not allowed on " + path + "; use " + method +
                                        (registering ? " to register an instance (GET /admin/v1/soa lists them)" : ""));
  if (store_reachable_ && !store_reachable_())
    return unavailable(Status(Errc::unavailable, "the node's last check did not reach it"));
  if (registering) return register_instance(req);
  return lease.keepalive ? keepalive(lease.lease) : deregister(lease.lease);
}

HttpResponse SoaRegistry::bad_request(const std::string& why) {
  bad_requests_.inc();
  return HttpResponse::error(400, "soa registry: " + why);
}

HttpResponse SoaRegistry::register_instance(const HttpRequest& req) {
  auto doc = parse_json_or_discarded(req.body);
  if (!doc.is_object())
    return bad_request("the body must be a JSON object {\"service\", \"address\", \"ttl_s\"?}");
  for (const auto& [key, value] : doc.items())
    if (key != "service" && key != "address" && key != "ttl_s")
      return bad_request("unknown field '" + key.substr(0, 40) + "'; the fields are service, address and ttl_s");
  if (!doc.contains("service") || !doc["service"].is_string())
    return bad_request("'service' must be the name of a service in [soa]");
  if (!doc.contains("address") || !doc["address"].is_string())
    return bad_request("'address' must be the instance's \"host:port\"");
  SoaRegistration r;
  r.service = doc["service"].get<std::string>();
  r.ezone = ezone_;
  if (!valid_soa_service_name(r.service))
    return bad_request("'" + r.service.substr(0, 80) + "' is not a service name");
  if (!proxy_.serves(r.service))
    return HttpResponse::error(404, "soa registry: no service '" + r.service +
                                        "' is declared in this node's [soa]; declare it on every node first");
  auto address = parse_host_port(doc["address"].get<std::string>());
  if (!address) return bad_request("'address': " + address.status().message());
  if (is_wildcard_host(address->host))
    return bad_request("'address': " + address->to_string() + " is not an address an instance listens on");
  r.address = *address;
  const SoaSettings& settings = proxy_.settings();
  int64_t ttl_s = kDefaultTtlS;
  if (doc.contains("ttl_s")) {
    const auto& t = doc["ttl_s"];
    if (!t.is_number_integer() || t.get<int64_t>() < 1 || t.get<int64_t>() > settings.registration_ttl_max_s)
      return bad_request("'ttl_s' must be an integer in 1.." + std::to_string(settings.registration_ttl_max_s) +
                         " ([soa] registration_ttl_max_s)");
    ttl_s = t.get<int64_t>();
  }
  const std::string key = soa_instance_key(r);
  if (const size_t n = registered_in_zone(key); n >= static_cast<size_t>(settings.registered_per_zone_max))
    return HttpResponse::error(409, "soa registry: service '" + r.service + "' has " + std::to_string(n) +
                                        " instances registered in ezone " + ezone_ +
                                        ", its most ([soa] registered_per_zone_max)");
  auto grant = store_.lease_grant(ttl_s);
  if (!grant) return unavailable(grant.status());
  const int64_t now = SystemClock::instance().wall_ms();
  auto put = store_.put(key, soa_instance_value(r, now, grant->ttl_s), grant->id);
  if (!put) {
    (void)store_.lease_revoke(grant->id);
    return unavailable(put.status());
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    meta::KeyValue kv;
    kv.key = key;
    kv.lease = grant->id;
    kv.mod_revision = *put;
    note_lease(kv);
  }
  (void)proxy_.add_registered(r);  // the watch brings it too; this serves it at once
  registrations_.inc();
  if (logger_)
    logger_->info("event=soa_instance_registration ezone={} service={} instance={} lease={} ttl_s={}", ezone_,
                  r.service, r.address.to_string(), grant->id, grant->ttl_s);
  nlohmann::json out{{"lease", grant->id},
                     {"ttl_s", grant->ttl_s},
                     {"keepalive_ms", grant->ttl_s * 1000 / 3},
                     {"key", key},
                     {"ezone", ezone_}};
  return HttpResponse::json(201, out.dump() + "\n");
}

size_t SoaRegistry::registered_in_zone(const std::string& key) {
  // The other keys of its service and zone: the same key up to the address.
  const std::string zone_keys = key.substr(0, key.rfind('/') + 1);
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (auto it = lease_by_key_.lower_bound(zone_keys);
       it != lease_by_key_.end() && it->first.compare(0, zone_keys.size(), zone_keys) == 0; ++it)
    n += it->first == key ? 0 : 1;
  return n;
}

std::optional<std::string> SoaRegistry::key_of_lease(int64_t lease) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = key_by_lease_.find(lease);
  if (it == key_by_lease_.end()) return std::nullopt;
  return it->second;
}

HttpResponse SoaRegistry::keepalive(int64_t lease) {
  if (!key_of_lease(lease)) return lease_gone(lease);
  auto ttl = store_.lease_keepalive(lease);
  if (!ttl) return ttl.status().code() == Errc::not_found ? lease_gone(lease) : unavailable(ttl.status());
  nlohmann::json out{{"lease", lease}, {"ttl_s", *ttl}};
  return HttpResponse::json(200, out.dump() + "\n");
}

HttpResponse SoaRegistry::deregister(int64_t lease) {
  auto key = key_of_lease(lease);
  if (!key) return lease_gone(lease);
  if (Status s = store_.lease_revoke(lease); !s) return unavailable(s);
  auto r = parse_soa_instance_key(*key);
  if (r) proxy_.remove_registered(*r);  // the watch brings it too; this stops calls to it at once
  {
    std::lock_guard<std::mutex> lock(mutex_);
    forget_key(*key, std::numeric_limits<int64_t>::max());
  }
  if (logger_)
    logger_->info("event=soa_instance_deregistration ezone={} key=\"{}\" lease={}", ezone_, *key, lease);
  nlohmann::json out{{"lease", lease}, {"deregistered", *key}};
  return HttpResponse::json(200, out.dump() + "\n");
}

}  // namespace ezone
