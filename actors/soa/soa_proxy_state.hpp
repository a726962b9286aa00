// The SOA proxy's state, shared by its translation units: soa_proxy.cpp
// (calls and probes) and soa_proxy_registered.cpp (the instance sets and
// their registered instances). Not part of the proxy's interface.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/http/http_forwarder.hpp"
#include "actors/soa/soa_proxy.hpp"
#include "core/clock.hpp"
#include "core/span.hpp"

namespace ezone {
namespace soa_internal {

inline int64_t wall_ms() { return SystemClock::instance().wall_ms(); }

struct Instance {
  std::string ezone;
  HostPort address;
  bool registered = false;    // by SoaRegistry, not listed in the file
  Gauge* up_gauge = nullptr;  // ezone_soa_instances_up{service,ezone}
  bool removed = false;       // deregistered; guarded by State::transitions
  std::atomic<bool> up{true};
  std::atomic<bool> probing{false};
  std::atomic<int64_t> failures{0};  // in a row, of probes and calls; only a healthy probe ends the row
  std::atomic<int64_t> since_wall_ms{0};
  std::atomic<uint64_t> calls{0};
  std::atomic<uint64_t> errors{0};
  mutable std::mutex mutex;  // guards last_error
  std::string last_error;

  void set_error(std::string what) {
    std::lock_guard<std::mutex> lock(mutex);
    last_error = std::move(what);
  }
  std::string error() const {
    std::lock_guard<std::mutex> lock(mutex);
    return last_error;
  }
};

// A service's instances as one call sees them. Registration replaces the
// whole set (copy on write), so a call keeps the set it started with, and
// the instances it may still report on, to its end.
struct InstanceSet {
  std::vector<std::shared_ptr<Instance>> local;  // this zone's: the file's, then the registered ones
  std::vector<std::shared_ptr<Instance>> peers;  // the other zones', likewise
};

struct Service {
  SoaServiceConfig config;
  std::shared_ptr<const InstanceSet> set;  // std::atomic_load / atomic_store; State::registry_mutex for writers
  std::map<std::string, Gauge*> up_gauges;  // by instance ezone; State::registry_mutex
  std::atomic<uint64_t> next_call{0};  // round robin: where each call starts
  Counter* served_local = nullptr;
  Counter* served_peer = nullptr;
  Counter* no_instance = nullptr;
  Counter* upstream_errors = nullptr;
  Counter* retries = nullptr;
  Counter* probe_failures = nullptr;
};

// One call on its way through the instances.
struct Call {
  HttpRequest request;
  HttpResponder respond;
  std::shared_ptr<const InstanceSet> set;  // keeps the instances in `tried` alive
  std::vector<Instance*> tried;
  size_t local_start = 0;
  size_t peer_start = 0;
  // A sampled trace's context whose parent is the router's span: each
  // attempt is a CLIENT span under it (null when untraced or no sink).
  std::optional<TraceContext> trace;
};

}  // namespace soa_internal

using soa_internal::Call;
using soa_internal::Instance;
using soa_internal::InstanceSet;
using soa_internal::Service;

// Shared by the proxy, its endpoints' handlers (strongly) and the work it
// queues on the router's lanes (weakly: that work may outlive it, since the
// lanes' owner destroys queued work whenever it goes).
struct SoaProxy::State : std::enable_shared_from_this<SoaProxy::State> {
  std::atomic<bool> stopped{false};
  std::string ezone;
  std::vector<std::string> zones;
  SoaSettings settings;
  std::shared_ptr<spdlog::logger> logger;
  std::vector<std::unique_ptr<Service>> services;
  std::shared_ptr<IoThreads> io;
  std::shared_ptr<HttpForwarder> calls;
  std::shared_ptr<HttpForwarder> probes;
  // Over TLS (SoaSettings::tls), for services with tls; null without one.
  std::shared_ptr<HttpForwarder> tls_calls;
  std::shared_ptr<HttpForwarder> tls_probes;
  Metrics* metrics = nullptr;
  std::mutex registry_mutex;  // serializes changes of the instance sets
  std::mutex transitions;     // guards Instance::removed and the up/down transitions with their gauges
  Counter* registered_refused = nullptr;
  SpanSink on_span;  // empty: calls report no spans

  void handle(Service& service, const std::string& prefix, HttpRequest&& request, HttpResponder respond);
  // Sends the call to instance; on a failure, to the next one if the call
  // may go again and one is left (next_instance), else answers the failure.
  void send(Service& service, std::shared_ptr<Call> call, Instance* instance);
  // The CLIENT span of the call's attempt at instance, when it is traced;
  // its id goes to the instance as the parent in traceparent.
  std::shared_ptr<Span> attempt_span(const Service& service, Call& call, const Instance& instance) const;
  // The next live instance the call has not tried, round robin from where
  // the call started: this zone's first, then (if the fallback allows this
  // method) the peers'; nullptr when none is left or attempts_max are used.
  Instance* next_instance(Service& service, Call& call) const;
  std::string no_instance_message(const Service& service, const InstanceSet& set, const std::string& method) const;
  void probe_all();
  void probe(Service& service, std::shared_ptr<Instance> instance);
  // A healthy probe: the failures in a row end, and a down instance is up.
  void probe_succeeded(Service& service, Instance& instance);
  // A failed probe or call; down_now marks it down whatever its count.
  void failed(Service& service, Instance& instance, const std::string& what, bool down_now);
  void set_up(Service& service, Instance& instance, bool up, const std::string& why);
  void schedule_probes();
  Service* find_service(const std::string& name) const;
  Status add_registered_locked(const SoaRegistration& r);  // registry_mutex held
  bool remove_registered_locked(const SoaRegistration& r);
  Gauge* up_gauge(Service& service, const std::string& zone);
  // A new instance of zone, up, counted in its gauge.
  std::shared_ptr<Instance> make_instance(Service& service, const std::string& zone, const HostPort& address,
                                          bool registered);
  // Takes a deregistered instance out of its gauge; later transitions of
  // it change nothing.
  void retire(Instance& instance);
};

}  // namespace ezone
