#include "actors/soa/soa_proxy.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "actors/http/http_forwarder.hpp"
#include "actors/http/io_threads.hpp"
#include "actors/soa/soa_proxy_state.hpp"
#include "core/clock.hpp"
#include "core/json.hpp"

namespace ezone {

using soa_internal::wall_ms;

namespace {

const char* const kMethods[] = {"GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"};

// Reads: they change nothing at the instance (RFC 9110's safe methods).
bool is_read(const std::string& method) { return method == "GET" || method == "HEAD" || method == "OPTIONS"; }

// Safe to send again after it may have reached an instance.
bool idempotent(const std::string& method) { return is_read(method) || method == "PUT" || method == "DELETE"; }

// The message of an error answer {"error": "..."} (the forwarder's own), or
// its body as it is; one line, without double quotes (it goes into logfmt).
std::string error_text(const HttpResponse& r) {
  auto doc = parse_json_or_discarded(r.body);
  std::string text = doc.is_object() && doc.contains("error") && doc["error"].is_string()
                         ? doc["error"].get<std::string>()
                         : r.body.substr(0, 200);
  for (char& ch : text)
    if (ch == '"' || ch == '\n' || ch == '\r') ch = ch == '"' ? '\'' : ' ';
  return text;
}

}  // namespace


namespace {

bool may_fall_back(SoaFallback fallback, const std::string& method) {
  return fallback == SoaFallback::all || (fallback == SoaFallback::reads && is_read(method));
}

Instance* next_of(const std::vector<std::shared_ptr<Instance>>& all, size_t start, const std::vector<Instance*>& tried) {
  for (size_t k = 0; k < all.size(); ++k) {
    Instance* in = all[(start + k) % all.size()].get();
    if (in->up.load(std::memory_order_relaxed) && std::find(tried.begin(), tried.end(), in) == tried.end()) return in;
  }
  return nullptr;
}

}  // namespace

Instance* SoaProxy::State::next_instance(Service& service, Call& call) const {
  if (call.tried.size() >= static_cast<size_t>(settings.attempts_max)) return nullptr;
  if (Instance* in = next_of(call.set->local, call.local_start, call.tried)) return in;
  if (!may_fall_back(service.config.fallback, call.request.method)) return nullptr;
  return next_of(call.set->peers, call.peer_start, call.tried);
}

std::string SoaProxy::State::no_instance_message(const Service& service, const InstanceSet& set,
                                                const std::string& method) const {
  std::string msg = "soa: no live instance of service '" + service.config.name + "' in ezone " + ezone;
  msg += set.local.empty() ? " (it has none)" : " (" + std::to_string(set.local.size()) + " down)";
  if (set.peers.empty()) return msg;
  if (!may_fall_back(service.config.fallback, method))
    return msg + "; its fallback is '" + soa_fallback_name(service.config.fallback) + "', which does not send a " +
           method + " to another ezone";
  return msg + ", and none in the other ezones is up either";
}

void SoaProxy::State::handle(Service& service, const std::string& prefix, HttpRequest&& request,
                             HttpResponder respond) {
  if (stopped.load()) {
    HttpResponse r = HttpResponse::error(503, "soa: the proxy is stopping");
    r.headers.emplace_back("Retry-After", "1");
    return (void)respond(std::move(r));
  }
  // The router matched the prefix, so the target starts with it.
  std::string rest = request.target.substr(std::min(prefix.size(), request.target.size()));
  if (rest.empty() || rest[0] != '/') rest.insert(0, "/");
  request.target = std::move(rest);
  auto& h = request.headers;
  h.erase(std::remove_if(h.begin(), h.end(),
                         [](const auto& kv) {
                           return kv.first == "host" || kv.first == "x-ezone-hops" || kv.first == "x-ezone-via" ||
                                  kv.first == "x-ezone-epoch";
                         }),
          h.end());
  auto call = std::make_shared<Call>();
  if (on_span) {
    auto trace = trace_of(request);
    if (trace && trace->sampled()) call->trace = std::move(trace);
  }
  call->request = std::move(request);
  call->respond = std::move(respond);
  call->set = std::atomic_load(&service.set);
  uint64_t turn = service.next_call.fetch_add(1, std::memory_order_relaxed);
  call->local_start = call->set->local.empty() ? 0 : static_cast<size_t>(turn % call->set->local.size());
  call->peer_start = call->set->peers.empty() ? 0 : static_cast<size_t>(turn % call->set->peers.size());
  Instance* first = next_instance(service, *call);
  if (!first) {
    service.no_instance->inc();
    HttpResponse r = HttpResponse::error(503, no_instance_message(service, *call->set, call->request.method));
    r.headers.emplace_back("Retry-After", "1");
    return (void)call->respond(std::move(r));
  }
  send(service, std::move(call), first);
}

std::shared_ptr<Span> SoaProxy::State::attempt_span(const Service& service, Call& call,
                                                   const Instance& instance) const {
  if (!call.trace) return nullptr;
  const std::string& method = call.request.method;
  auto span = std::make_shared<Span>(
      child_span(*call.trace, method + " soa/" + service.config.name, SpanKind::client, "ezone.soa", ezone));
  span->set("soa.service", service.config.name);
  span->set("soa.instance", instance.address.to_string());
  span->set("soa.instance_ezone", instance.ezone);
  span->set("soa.attempt", static_cast<int64_t>(call.tried.size()));
  span->set("http.request.method", method);
  call.request.set_header("traceparent", call.trace->header_for(span->span_id));
  return span;
}

namespace {

// Ends an attempt's span with the instance's answer, or the forwarder's
// error (kind: its X-Ezone-Forward-Error).
void end_attempt(Span& span, const HttpResponse& r, const std::string* kind) {
  span.end_unix_ns = unix_ns_now();
  if (kind) {
    span.set("ezone.forward_error", *kind);
    span.error = *kind + ": " + error_text(r);
    return;
  }
  span.set("http.response.status_code", static_cast<int64_t>(r.status));
  if (r.status >= 500) span.error = "the instance answered " + std::to_string(r.status);
}

}  // namespace

void SoaProxy::State::send(Service& service, std::shared_ptr<Call> call, Instance* instance) {
  call->tried.push_back(instance);
  instance->calls.fetch_add(1, std::memory_order_relaxed);
  std::shared_ptr<Span> span = attempt_span(service, *call, *instance);
  // Gone or stopped: the call gets the 503 below, or, when the lanes drop
  // it unanswered, the responder's own 500.
  (service.config.tls ? tls_calls : calls)->forward(instance->address, call->request,
                 make_responder([weak = weak_from_this(), &service, call, instance, span](HttpResponse&& r) mutable {
                   auto st = weak.lock();
                   if (!st || st->stopped.load()) {
                     HttpResponse gone = HttpResponse::error(503, "soa: the proxy stopped during the call");
                     gone.headers.emplace_back("Retry-After", "1");
                     return (void)call->respond(std::move(gone));
                   }
                   const std::string* kind = r.find_header(kForwardErrorHeader);
                   if (span) {
                     end_attempt(*span, r, kind);
                     st->on_span(*span);
                   }
                   r.headers.emplace_back(kSoaInstanceHeader, instance->address.to_string());
                   r.headers.emplace_back(kSoaZoneHeader, instance->ezone);
                   kind = r.find_header(kForwardErrorHeader);  // the pointer may have moved with the headers
                   if (!kind) {
                     (instance->ezone == st->ezone ? service.served_local : service.served_peer)->inc();
                     return (void)call->respond(std::move(r));
                   }
                   bool unsent = forward_error_before_sending(*kind);
                   instance->errors.fetch_add(1, std::memory_order_relaxed);
                   st->failed(service, *instance, *kind + ": " + error_text(r), unsent && *kind != "queue_full");
                   if (unsent || idempotent(call->request.method)) {
                     if (Instance* next = st->next_instance(service, *call)) {
                       service.retries->inc();
                       return st->send(service, std::move(call), next);
                     }
                   }
                   service.upstream_errors->inc();
                   call->respond(std::move(r));
                 }));
}

void SoaProxy::State::probe_succeeded(Service& service, Instance& instance) {
  instance.failures.store(0, std::memory_order_relaxed);
  if (!instance.up.load()) set_up(service, instance, true, "healthy again");
}

void SoaProxy::State::failed(Service& service, Instance& instance, const std::string& what, bool down_now) {
  instance.set_error(what);
  int64_t n = instance.failures.fetch_add(1, std::memory_order_relaxed) + 1;
  if (instance.up.load() && (down_now || n >= settings.down_after)) set_up(service, instance, false, what);
}

void SoaProxy::State::set_up(Service& service, Instance& instance, bool up, const std::string& why) {
  {
    std::lock_guard<std::mutex> lock(transitions);
    if (instance.removed) return;
    if (instance.up.exchange(up) == up) return;  // another thread got there first
    instance.since_wall_ms.store(wall_ms());
    instance.up_gauge->add(up ? 1 : -1);
  }
  if (!logger) return;
  if (up)
    logger->info("event=soa_instance_up ezone={} service={} instance_ezone={} instance={}", ezone,
                 service.config.name, instance.ezone, instance.address.to_string());
  else
    logger->warn("event=soa_instance_down ezone={} service={} instance_ezone={} instance={} reason=\"{}\"", ezone,
                 service.config.name, instance.ezone, instance.address.to_string(), why.substr(0, 200));
}

void SoaProxy::State::probe(Service& service, std::shared_ptr<Instance> instance) {
  if (instance->probing.exchange(true)) return;  // the last probe is still out
  HttpRequest request{"GET", service.config.health_path, {}, ""};
  const HostPort address = instance->address;
  (service.config.tls ? tls_probes : probes)->forward(address, std::move(request),
                  make_responder([weak = weak_from_this(), &service, instance](HttpResponse&& r) {
                    auto st = weak.lock();
                    if (!st || st->stopped.load()) return;
                    instance->probing.store(false);
                    if (r.status >= 200 && r.status < 300) return st->probe_succeeded(service, *instance);
                    service.probe_failures->inc();
                    const std::string* kind = r.find_header(kForwardErrorHeader);
                    std::string what =
                        kind ? "probe " + *kind + ": " + error_text(r) : "probe answered " + std::to_string(r.status);
                    st->failed(service, *instance, what, false);
                  }));
}

void SoaProxy::State::probe_all() {
  for (auto& service : services) {
    auto set = std::atomic_load(&service->set);
    for (const auto& in : set->local) probe(*service, in);
    for (const auto& in : set->peers) probe(*service, in);
  }
}

void SoaProxy::State::schedule_probes() {
  io->run_after(0, settings.probe_interval_ms, [weak = weak_from_this()] {
    auto st = weak.lock();
    if (!st || st->stopped.load()) return;
    st->probe_all();
    st->schedule_probes();
  });
}

Result<std::unique_ptr<SoaProxy>> SoaProxy::start(std::string ezone, std::vector<std::string> zones,
                                                  SoaSettings settings, std::shared_ptr<IoThreads> io,
                                                  Metrics& metrics, std::shared_ptr<spdlog::logger> logger,
                                                  SpanSink on_span) {
  if (settings.services.empty()) return Status(Errc::invalid_argument, "soa: no service configured");
  if (!io) return Status(Errc::invalid_argument, "soa: no I/O threads");
  auto st = std::make_shared<State>();
  st->metrics = &metrics;
  st->registered_refused = &metrics.counter("ezone_soa_registrations_refused_total",
                                            "Registered instances this proxy would not serve (unknown service or "
                                            "ezone, or over registered_per_zone_max)");
  st->ezone = std::move(ezone);
  st->zones = std::move(zones);
  st->logger = std::move(logger);
  st->on_span = std::move(on_span);
  for (const auto& config : settings.services) {
    auto s = std::make_unique<Service>();
    s->config = config;
    MetricLabels l{{"service", config.name}};
    s->served_local = &metrics.counter("ezone_soa_calls_total", "SOA calls answered by an instance, by where it runs",
                                       {{"service", config.name}, {"served_by", "local"}});
    s->served_peer = &metrics.counter("ezone_soa_calls_total", "SOA calls answered by an instance, by where it runs",
                                      {{"service", config.name}, {"served_by", "peer"}});
    s->no_instance = &metrics.counter("ezone_soa_call_errors_total", "SOA calls that failed, by kind",
                                      {{"service", config.name}, {"kind", "no_instance"}});
    s->upstream_errors = &metrics.counter("ezone_soa_call_errors_total", "SOA calls that failed, by kind",
                                          {{"service", config.name}, {"kind", "upstream"}});
    s->retries = &metrics.counter("ezone_soa_retries_total", "SOA calls sent on to another instance", l);
    s->probe_failures = &metrics.counter("ezone_soa_probe_failures_total", "Failed instance health probes", l);
    auto set = std::make_shared<InstanceSet>();
    for (const auto& [zone, addresses] : config.instances)
      for (const auto& address : addresses)
        (zone == st->ezone ? set->local : set->peers).push_back(st->make_instance(*s, zone, address, false));
    s->set = std::move(set);
    st->services.push_back(std::move(s));
  }
  st->settings = std::move(settings);
  st->io = std::move(io);
  bool any_tls = false;
  for (const auto& service : st->settings.services) any_tls = any_tls || service.tls;
  if (any_tls && !st->settings.tls)
    return Status(Errc::invalid_argument, "soa: a service has tls = true but [soa] has no ca_file");
  HttpForwarderOptions call;
  call.name = "soa";
  call.connections_per_upstream_max = st->settings.connections_max;
  call.response_timeout_ms = st->settings.call_timeout_ms;
  call.connect_timeout_ms = std::min<int64_t>(st->settings.call_timeout_ms, 1000);
  st->calls = HttpForwarder::create(call, st->io, metrics);
  HttpForwarderOptions probe;
  probe.name = "soa_probe";
  probe.connections_per_upstream_max = 1;
  probe.response_timeout_ms = st->settings.probe_timeout_ms;
  probe.connect_timeout_ms = st->settings.probe_timeout_ms;
  st->probes = HttpForwarder::create(probe, st->io, metrics);
  if (any_tls) {
    call.name = "soa_tls";
    call.tls = st->settings.tls.context;
    st->tls_calls = HttpForwarder::create(call, st->io, metrics);
    probe.name = "soa_probe_tls";
    probe.tls = st->settings.tls.context;
    st->tls_probes = HttpForwarder::create(probe, st->io, metrics);
  }
  st->io->run_after(0, 0, [weak = std::weak_ptr<State>(st)] {
    if (auto alive = weak.lock()) alive->probe_all();
  });
  st->schedule_probes();
  return std::unique_ptr<SoaProxy>(new SoaProxy(std::move(st)));
}

SoaProxy::SoaProxy(std::shared_ptr<State> state) : state_(std::move(state)) {}

SoaProxy::~SoaProxy() { stop(); }

void SoaProxy::stop() { state_->stopped.store(true); }

std::vector<Endpoint> SoaProxy::endpoints() const {
  std::vector<Endpoint> out;
  auto add = [&](Service& service, const std::string& prefix, KeyExtractor key) {
    for (const char* method : kMethods) {
      Endpoint e;
      e.method = method;
      e.pattern = prefix + "/{rest...}";
      e.entrance = Entrance::internal;
      e.key = key;
      e.access = is_read(method) ? Access::read : Access::write;
      e.handler = [st = state_, &service, prefix](HttpRequest&& request, HttpResponder respond) {
        st->handle(service, prefix, std::move(request), std::move(respond));
      };
      out.push_back(std::move(e));
    }
  };
  for (auto& s : state_->services) {
    const SoaServiceConfig& c = s->config;
    switch (c.mode) {
      case SoaMode::orig: add(*s, "/soa/v1/" + c.name, nullptr); break;
      case SoaMode::route:
        add(*s, "/soa/v1/" + c.name, c.master.empty() ? key_from_header() : key_to_ezone(c.master));
        break;
      case SoaMode::prefix:
        for (const auto& zone : state_->zones) add(*s, "/soa/v1/" + zone + "." + c.name, key_to_ezone(zone));
        break;
    }
  }
  return out;
}

std::string SoaProxy::status_json() const {
  nlohmann::json services = nlohmann::json::array();
  for (const auto& s : state_->services) {
    nlohmann::json instances = nlohmann::json::array();
    auto set = std::atomic_load(&s->set);
    for (const auto* list : {&set->local, &set->peers})
      for (const auto& in : *list)
        instances.push_back({{"ezone", in->ezone},
                             {"address", in->address.to_string()},
                             {"source", in->registered ? "registered" : "config"},
                             {"up", in->up.load()},
                             {"since_wall_ms", in->since_wall_ms.load()},
                             {"failures", in->failures.load()},
                             {"last_error", in->error()},
                             {"calls", in->calls.load()},
                             {"errors", in->errors.load()}});
    const SoaServiceConfig& c = s->config;
    services.push_back({{"name", c.name},
                        {"mode", soa_mode_name(c.mode)},
                        {"master", c.master},
                        {"fallback", soa_fallback_name(c.fallback)},
                        {"health_path", c.health_path},
                        {"tls", c.tls},
                        {"instances", std::move(instances)}});
  }
  nlohmann::json doc{{"ezone", state_->ezone}, {"services", std::move(services)}};
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<HttpResponse> handle_soa_admin(const SoaProxy* proxy, const std::string& source, const HttpRequest& req) {
  if (req.path() != "/admin/v1/soa") return std::nullopt;
  if (req.method != "GET") return HttpResponse::error(405, req.method + " not allowed on /admin/v1/soa; use GET");
  if (!proxy) return HttpResponse::error(404, source + " has no [soa] section: this node proxies no service");
  return HttpResponse::json(200, proxy->status_json());
}

}  // namespace ezone
