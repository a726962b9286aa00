#include "actors/router/router.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <exception>

#include <nlohmann/json.hpp>

#include "core/clock.hpp"
#include "core/json.hpp"
#include "core/trace_context.hpp"

namespace ezone {
namespace {

// The recent-traffic history a rebalance reads (traffic_window.hpp).
constexpr int64_t kTrafficSampleMs = 10'000;
constexpr int64_t kTrafficKeepMs = 3'600'000;

int64_t steady_ms() { return SystemClock::instance().now_ms(); }

// Local dispatches per shard and their recent history, shared with the
// sampler that lane 0 runs every kTrafficSampleMs until the router goes.
struct ServedTraffic {
  std::array<std::atomic<uint64_t>, kShardIdMax + 1> served{};
  TrafficWindow window{kTrafficSampleMs, kTrafficKeepMs};
  // The clients' answers by class (RouterMetrics::client_answers; Metrics
  // outlives the router), and their history: {answers, 5xx answers}.
  std::array<Counter*, 3> answers{};
  TrafficWindow answer_window{kTrafficSampleMs, kTrafficKeepMs};
  std::atomic<bool> stopped{false};

  std::vector<uint64_t> counts() const {
    std::vector<uint64_t> out(served.size());
    for (size_t i = 0; i < out.size(); ++i) out[i] = served[i].load(std::memory_order_relaxed);
    return out;
  }
  std::vector<uint64_t> answer_counts() const {
    return {answers[0]->value() + answers[1]->value() + answers[2]->value(), answers[2]->value()};
  }
  void sample(int64_t now_ms) {
    window.sample(now_ms, counts());
    answer_window.sample(now_ms, answer_counts());
  }
};

// The task holds the IoThreads weakly: a task queued on a pool must not
// keep that pool alive.
void sample_traffic_later(const std::shared_ptr<IoThreads>& io, std::shared_ptr<ServedTraffic> traffic) {
  io->run_after(0, kTrafficSampleMs, [weak = std::weak_ptr<IoThreads>(io), traffic] {
    if (traffic->stopped) return;
    traffic->sample(steady_ms());
    if (auto pool = weak.lock()) sample_traffic_later(pool, traffic);
  });
}

using SteadyClock = std::chrono::steady_clock;

double seconds_since(SteadyClock::time_point start) {
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

using SpanFn = std::function<void(const RouterSpan&)>;

// Reports a sampled span (null: the request is not one) with its answer.
void finish_span(const SpanFn& on_span, RouterSpan* span, int status, SteadyClock::time_point start) {
  if (!span) return;
  span->status = status;
  span->duration_us = std::chrono::duration_cast<std::chrono::microseconds>(SteadyClock::now() - start).count();
  on_span(*span);
}

// A request between arrival and its answer. It is moved, not copied, and
// goes to the heap only when it is held.
struct Pending {
  HttpRequest request;
  HttpResponder respond;
  const Endpoint* endpoint = nullptr;
  int entrance = RouterMetrics::kNoEntrance;
  ShardingKey key;
  bool has_key = false;
  RouteTrail trail;
  SteadyClock::time_point start;
  SteadyClock::time_point hold_deadline;
  bool holding = false;
  std::unique_ptr<RouterSpan> span;  // a sampled trace's span, when config.on_span is set
};

// Stands between a handler (or the forwarder) and the connection: stamps
// X-Ezone-Epoch on answers that lack one, times the request and reports
// its span.
class AnswerSink final : public ResponseSink {
 public:
  // client_answers: the counters by class when a client (not a forwarding
  // router) sent the request, else null.
  AnswerSink(HttpResponder inner, Histogram* latency, SteadyClock::time_point start, Epoch epoch,
             std::unique_ptr<RouterSpan> span, const SpanFn* on_span, const std::array<Counter*, 3>* client_answers)
      : inner_(std::move(inner)), latency_(latency), start_(start), epoch_(epoch), span_(std::move(span)),
        on_span_(span_ ? *on_span : SpanFn()),  // a copy: the answer may come late
        client_answers_(client_answers ? *client_answers : std::array<Counter*, 3>{}) {}
  ~AnswerSink() override {
    if (claim()) deliver(HttpResponse::error(500, "request dropped by its handler"));
  }
  void deliver(HttpResponse&& response) override {
    if (!response.find_header("x-ezone-epoch")) response.headers.emplace_back("X-Ezone-Epoch", std::to_string(epoch_));
    latency_->observe(seconds_since(start_));
    if (Counter* c = client_answers_[RouterMetrics::answer_class(response.status)]) c->inc();
    if (span_) finish_span(on_span_, span_.get(), response.status, start_);
    inner_(std::move(response));
  }

 private:
  HttpResponder inner_;
  Histogram* latency_;
  SteadyClock::time_point start_;
  Epoch epoch_;
  std::unique_ptr<RouterSpan> span_;
  SpanFn on_span_;
  std::array<Counter*, 3> client_answers_;  // all null: not a client's request
};

RejectReason reason_for_resolution(Errc code) {
  switch (code) {
    case Errc::not_found: return RejectReason::unknown_key;
    case Errc::invalid_argument: return RejectReason::unresolvable_key;
    default: return RejectReason::unavailable;
  }
}

Status check_config(const RouterConfig& c) {
  auto bad = [](const std::string& why) { return Status(Errc::invalid_argument, "router config: " + why); };
  if (c.ezone.empty()) return bad("ezone is empty");
  if (!c.resolver) return bad("no resolver");
  if (c.hops_max < 0) return bad("hops_max must be >= 0");
  if (c.hold_ms < 0 || c.hold_poll_ms < 1) return bad("hold_ms must be >= 0 and hold_poll_ms >= 1");
  if (c.forwarded_key_hold_ms < 0) return bad("forwarded_key_hold_ms must be >= 0");
  if (c.holds_max < 0 || c.retry_after_s < 0) return bad("holds_max and retry_after_s must be >= 0");
  if (Status s = c.peer_token.check("peer token"); !s) return bad(s.message());
  if (Status s = c.service_token.check("service token"); !s) return bad(s.message());
  return Status::ok();
}

}  // namespace

struct Router::Impl {
  RouterConfig config;
  EndpointRegistry registry;
  std::shared_ptr<IoThreads> io;
  std::shared_ptr<HttpForwarder> forwarder;
  RouterMetrics m;
  std::atomic<Epoch> newest_epoch{0};
  std::atomic<int64_t> held{0};
  std::shared_ptr<ServedTraffic> traffic = std::make_shared<ServedTraffic>();

  Impl(RouterConfig c, EndpointRegistry r, std::shared_ptr<IoThreads> i, Metrics& metrics)
      : config(std::move(c)), registry(std::move(r)), io(std::move(i)),
        forwarder(HttpForwarder::create(config.forwarder, io, metrics)), m(RouterMetrics::create(metrics)) {}
  ~Impl() { traffic->stopped = true; }

  void handle(HttpRequest&& request, HttpResponder respond);
  // Reads the request's traceparent, passes this router's span on in its
  // place, and opens p.span for a sampled one (see router.hpp, "Tracing").
  void take_trace(Pending& p);
  void route(Pending&& p);
  void reject(Pending& p, RejectReason reason, const std::string& message, Epoch epoch);
  // Answers 503 isolated and returns true while the node is isolated.
  bool reject_if_isolated(Pending& p);
  // Holds p (re-routing it every hold_poll_ms) for at most bound_ms from its
  // first hold, then rejects it; bound_ms <= 0 rejects at once.
  void hold_or_reject(Pending&& p, RejectReason reason, const std::string& message, Epoch epoch, int64_t bound_ms);
  void hold_or_reject(Pending&& p, RejectReason reason, const std::string& message, Epoch epoch) {
    hold_or_reject(std::move(p), reason, message, epoch, config.hold_ms);
  }
  // r: the resolution that made this zone the owner (null for endpoints
  // without a key); its shard reaches the handler as X-Ezone-Shard.
  void dispatch_local(Pending&& p, Epoch epoch, const Resolution* r = nullptr);
  void forward(Pending&& p, const Resolution& r);
  void end_hold(Pending& p, HoldResult result);
  // Whether a client sent p: no router forwarded it here (hops 0), or it
  // claims hops without the peer token.
  static bool from_client(const Pending& p) { return p.trail.hops == 0 || !p.trail.from_peer; }
  // The answer counters for p's answer when a client sent it, else null.
  const std::array<Counter*, 3>* client_answers_for(const Pending& p) const {
    return from_client(p) ? &m.client_answers : nullptr;
  }
  Result<Resolution> resolve(const ShardingKey& key);

  Epoch current_epoch() const { return config.epoch ? config.epoch() : newest_epoch.load(std::memory_order_relaxed); }
  void note_epoch(Epoch e) {
    Epoch seen = newest_epoch.load(std::memory_order_relaxed);
    while (e > seen && !newest_epoch.compare_exchange_weak(seen, e, std::memory_order_relaxed)) {
    }
  }
};

void Router::Impl::handle(HttpRequest&& request, HttpResponder respond) {
  Pending p;
  p.start = SteadyClock::now();
  p.request = std::move(request);
  p.respond = std::move(respond);
  take_trace(p);
  auto match = registry.match(p.request.method, p.request.path_view());
  if (match.endpoint) p.entrance = static_cast<int>(match.endpoint->entrance);
  if (p.span) p.span->name = p.request.method + " " + (match.endpoint ? match.endpoint->pattern : p.request.path());
  if (reject_if_isolated(p)) return;
  if (!match.endpoint) {
    RejectReason reason = match.other_method ? RejectReason::method_not_allowed : RejectReason::no_endpoint;
    return reject(p, reason, "no endpoint for " + p.request.method + " " + p.request.path(), current_epoch());
  }
  p.endpoint = match.endpoint;
  if (p.endpoint->entrance == Entrance::internal && !config.service_token.empty()) {
    const std::string* sent = p.request.find_header(kServiceTokenHeader);
    if (!sent || !config.service_token.accepts(*sent))
      return reject(p, RejectReason::unauthorized,
                    std::string(sent ? "the service token sent is not this cluster's"
                                     : "this endpoint is internal: send the cluster's service token in "
                                       "X-Ezone-Service-Token") +
                        " ([router] service_token_file)",
                    current_epoch());
  }
  auto trail = parse_route_trail(p.request);
  if (!trail) return reject(p, RejectReason::bad_header, trail.status().message(), current_epoch());
  p.trail = std::move(*trail);
  if (apply_peer_token(p.request, *config.peer_token.snapshot(), &p.trail)) m.untrusted_trails->inc();
  if (p.trail.hops > config.hops_max)
    return reject(p, RejectReason::hop_limit, "request was forwarded " + std::to_string(p.trail.hops) +
                                                  " times; the limit is " + std::to_string(config.hops_max),
                  current_epoch());
  if (!p.endpoint->key) return dispatch_local(std::move(p), current_epoch());
  auto key = p.endpoint->key(p.request, match.params);
  if (!key) {
    bool missing = key.status().code() == Errc::not_found;
    return reject(p, missing ? RejectReason::missing_key : RejectReason::malformed_key, key.status().message(),
                  current_epoch());
  }
  p.key = *key;
  p.has_key = true;
  route(std::move(p));
}

void Router::Impl::take_trace(Pending& p) {
  auto& headers = p.request.headers;
  const std::string* value = nullptr;
  int count = 0;
  for (const auto& h : headers)
    if (h.first == "traceparent") value = &h.second, ++count;
  if (count == 0) return;
  Result<TraceContext> trace = Status(Errc::parse_error, "traceparent: sent more than once");
  if (count == 1) trace = parse_traceparent(*value);
  if (!trace) {
    // The specification: an unparsable traceparent is not propagated, and
    // tracestate is then meaningless.
    m.bad_traceparents->inc();
    headers.erase(std::remove_if(headers.begin(), headers.end(),
                                 [](const auto& h) { return h.first == "traceparent" || h.first == "tracestate"; }),
                  headers.end());
    return;
  }
  std::string span_id = new_span_id();
  p.request.set_header("traceparent", trace->header_for(span_id));
  if (!trace->sampled() || !config.on_span) return;
  p.span = std::make_unique<RouterSpan>();
  p.span->trace_id = std::move(trace->trace_id);
  p.span->span_id = std::move(span_id);
  p.span->parent_id = std::move(trace->parent_id);
  p.span->ezone = config.ezone;
}

Result<Resolution> Router::Impl::resolve(const ShardingKey& key) {
  // The resolver is outside code; an exception must not unwind an I/O
  // thread's event loop.
  try {
    return config.resolver(key);
  } catch (const std::exception& e) {
    return Status(Errc::unavailable, std::string("resolver failed: ") + e.what());
  }
}

bool Router::Impl::reject_if_isolated(Pending& p) {
  if (!config.fault || !config.fault->isolated()) return false;
  reject(p, RejectReason::isolated,
         "ezone " + config.ezone + " is isolated by fault injection (a drill); POST /admin/v1/fault/heal on its admin "
         "API ends it",
         current_epoch());
  return true;
}

void Router::Impl::route(Pending&& p) {
  // A held request comes back here from its timer: the node may have been
  // isolated meanwhile, and then must not serve or forward it.
  if (p.holding && reject_if_isolated(p)) return;
  auto resolved = resolve(p.key);
  if (!resolved) {
    RejectReason reason = reason_for_resolution(resolved.status().code());
    // A router forwarded it, so that router resolved the key: this one
    // lags it (a merchant update its etcd watch has not brought yet).
    if (reason == RejectReason::unknown_key && !p.trail.via.empty() && p.trail.from_peer)
      return hold_or_reject(std::move(p), reason, resolved.status().message() + " (the forwarding router knows it)",
                            current_epoch(), config.forwarded_key_hold_ms);
    return reject(p, reason, resolved.status().message(), current_epoch());
  }
  const Resolution& r = *resolved;
  note_epoch(r.epoch);
  if (p.trail.sender_epoch > r.epoch)
    return hold_or_reject(std::move(p), RejectReason::stale_epoch,
                          "route table here is at epoch " + std::to_string(r.epoch) + ", older than the sender's " +
                              std::to_string(p.trail.sender_epoch),
                          r.epoch);
  if (is_routing_loop(p.trail, config.ezone, r.epoch))
    return reject(p, RejectReason::loop, "request came back to ezone " + config.ezone + " at epoch " +
                                             std::to_string(r.epoch) + ": route tables disagree on shard " +
                                             std::to_string(r.shard),
                  r.epoch);
  if (r.write_forbidden && p.endpoint->access == Access::write)
    return hold_or_reject(std::move(p), RejectReason::write_forbidden,
                          "shard " + std::to_string(r.shard) + " is write-forbidden (moving)", r.epoch);
  if (r.owner == config.ezone) {
    std::string why;
    if (p.endpoint->access == Access::write && config.may_write && !config.may_write(&why))
      return hold_or_reject(std::move(p), RejectReason::fenced, "ezone " + config.ezone + " is fenced: " + why, r.epoch);
    return dispatch_local(std::move(p), r.epoch, &r);
  }
  if (p.trail.hops + 1 > config.hops_max)
    return reject(p, RejectReason::hop_limit, "forwarding to " + r.owner + " would pass the hop limit of " +
                                                  std::to_string(config.hops_max),
                  r.epoch);
  if (r.owner.empty() || r.owner_http.host.empty() || r.owner_http.port == 0)
    return reject(p, RejectReason::unavailable, "no router address for owner ezone '" + r.owner + "'", r.epoch);
  forward(std::move(p), r);
}

void Router::Impl::hold_or_reject(Pending&& p, RejectReason reason, const std::string& message, Epoch epoch,
                                  int64_t bound_ms) {
  if (bound_ms <= 0) return reject(p, reason, message, epoch);
  auto now = SteadyClock::now();
  if (!p.holding) {
    if (held.load(std::memory_order_relaxed) >= config.holds_max) {
      m.holds[static_cast<int>(HoldResult::overflow)]->inc();
      return reject(p, reason, message + " (hold queue full)", epoch);
    }
    p.holding = true;
    p.hold_deadline = now + std::chrono::milliseconds(bound_ms);
    held.fetch_add(1, std::memory_order_relaxed);
    m.held->add(1);
  } else if (now >= p.hold_deadline) {
    end_hold(p, HoldResult::expired);
    return reject(p, reason, message + " (held " + std::to_string(bound_ms) + " ms)", epoch);
  }
  int lane = io->current_lane();
  auto parked = std::make_shared<Pending>(std::move(p));
  io->run_after(lane < 0 ? 0 : lane, config.hold_poll_ms, [this, parked] { route(std::move(*parked)); });
}

void Router::Impl::end_hold(Pending& p, HoldResult result) {
  if (!p.holding) return;
  p.holding = false;
  held.fetch_sub(1, std::memory_order_relaxed);
  m.held->add(-1);
  m.holds[static_cast<int>(result)]->inc();
}

void Router::Impl::reject(Pending& p, RejectReason reason, const std::string& message, Epoch epoch) {
  end_hold(p, HoldResult::released);
  int e = p.entrance;
  m.requests[e][static_cast<int>(Outcome::rejected)]->inc();
  m.rejections[e][static_cast<int>(reason)]->inc();
  nlohmann::json body{{"error", message}, {"reason", reject_reason_name(reason)}};
  if (p.has_key) body["key"] = p.key.to_string();
  int status = reject_status(reason);
  HttpResponse response = HttpResponse::json(status, dump_json(body) + "\n");
  response.headers.emplace_back("X-Ezone-Epoch", std::to_string(epoch));
  if (status == 503) response.headers.emplace_back("Retry-After", std::to_string(config.retry_after_s));
  m.latency[e][static_cast<int>(Outcome::rejected)]->observe(seconds_since(p.start));
  if (p.span) {
    p.span->outcome = "rejected";
    p.span->reason = reject_reason_name(reason);
  }
  finish_span(config.on_span, p.span.get(), status, p.start);
  if (from_client(p)) m.client_answers[RouterMetrics::answer_class(status)]->inc();
  p.respond(std::move(response));
}

void Router::Impl::dispatch_local(Pending&& p, Epoch epoch, const Resolution* r) {
  end_hold(p, HoldResult::released);
  // Only the router says which shard a request belongs to: a client's own
  // X-Ezone-Shard is dropped, and handlers (and the DAL) can trust the
  // header. The service token stops here: a handler (the SOA proxy's
  // instances) never sees it.
  auto& headers = p.request.headers;
  headers.erase(std::remove_if(headers.begin(), headers.end(),
                               [](const auto& h) {
                                 return h.first == "x-ezone-shard" || h.first == kServiceTokenHeader;
                               }),
                headers.end());
  if (r && r->has_shard) {
    headers.emplace_back("x-ezone-shard", std::to_string(r->shard));
    if (r->shard <= kShardIdMax) traffic->served[r->shard].fetch_add(1, std::memory_order_relaxed);
  }
  int e = p.entrance;
  m.requests[e][static_cast<int>(Outcome::local)]->inc();
  if (p.span) p.span->outcome = "local";
  HttpResponder answer(std::make_shared<AnswerSink>(std::move(p.respond), m.latency[e][static_cast<int>(Outcome::local)],
                                                    p.start, epoch, std::move(p.span), &config.on_span,
                                                    client_answers_for(p)));
  // A held request runs from a timer, outside the server's own catch.
  try {
    p.endpoint->handler(std::move(p.request), answer);
  } catch (const std::exception& ex) {
    answer(HttpResponse::error(500, std::string("handler failed: ") + ex.what()));
  }
}

void Router::Impl::forward(Pending&& p, const Resolution& r) {
  end_hold(p, HoldResult::released);
  int e = p.entrance;
  m.requests[e][static_cast<int>(Outcome::forwarded)]->inc();
  stamp_forward(p.request, p.trail, config.ezone, r.epoch, config.peer_token.sent());
  if (p.span) {
    p.span->outcome = "forwarded";
    p.span->forwarded_to = r.owner;
  }
  HttpResponder answer(std::make_shared<AnswerSink>(std::move(p.respond),
                                                    m.latency[e][static_cast<int>(Outcome::forwarded)], p.start,
                                                    r.epoch, std::move(p.span), &config.on_span,
                                                    client_answers_for(p)));
  forwarder->forward(r.owner_http, std::move(p.request), std::move(answer));
}

Router::Router(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Router::~Router() = default;

Result<std::unique_ptr<Router>> Router::create(RouterConfig config, std::vector<Endpoint> endpoints,
                                               std::shared_ptr<IoThreads> io, Metrics& metrics) {
  if (Status s = check_config(config); !s) return s;
  if (!io) return Status(Errc::invalid_argument, "router config: no IoThreads");
  auto registry = EndpointRegistry::create(std::move(endpoints));
  if (!registry) return registry.status();
  auto impl = std::make_unique<Impl>(std::move(config), std::move(*registry), std::move(io), metrics);
  impl->traffic->answers = impl->m.client_answers;
  impl->traffic->sample(steady_ms());
  sample_traffic_later(impl->io, impl->traffic);
  return std::unique_ptr<Router>(new Router(std::move(impl)));
}

AsyncHttpHandler Router::handler() {
  return [impl = impl_.get()](HttpRequest&& request, HttpResponder respond) {
    impl->handle(std::move(request), std::move(respond));
  };
}

void Router::handle(HttpRequest&& request, HttpResponder respond) { impl_->handle(std::move(request), std::move(respond)); }
Epoch Router::epoch() const { return impl_->current_epoch(); }
const std::string& Router::ezone() const { return impl_->config.ezone; }

std::vector<uint64_t> Router::served_per_shard() const { return impl_->traffic->counts(); }

TrafficWindow::Served Router::served_recently(int64_t window_ms) const {
  return impl_->traffic->window.over(steady_ms(), impl_->traffic->counts(), window_ms);
}

Router::Answers Router::answers_recently(int64_t window_ms) const {
  auto over = impl_->traffic->answer_window.over(steady_ms(), impl_->traffic->answer_counts(), window_ms);
  return Answers{over.counts.at(0), over.counts.at(1), over.span_ms};
}

Result<std::unique_ptr<RouterIngress>> RouterIngress::start(RouterConfig config, std::vector<Endpoint> endpoints,
                                                            HttpServerOptions server, Metrics& metrics,
                                                            std::shared_ptr<IoThreads> io) {
  std::unique_ptr<RouterIngress> ingress(new RouterIngress());
  ingress->io_ = io ? std::move(io) : IoThreads::start(std::max(1, server.threads), "rt-" + config.ezone);
  auto router = Router::create(std::move(config), std::move(endpoints), ingress->io_, metrics);
  if (!router) return router.status();  // ~RouterIngress stops the lanes
  ingress->router_ = std::move(*router);
  if (server.ezone.empty()) server.ezone = ingress->router_->ezone();
  if (!server.epoch) server.epoch = [r = ingress->router_.get()] { return r->epoch(); };
  auto started = HttpServer::start(std::move(server), ingress->router_->handler(), metrics, ingress->io_);
  if (!started) return started.status();
  ingress->server_ = std::move(*started);
  return ingress;
}

RouterIngress::~RouterIngress() { stop(); }

void RouterIngress::stop() {
  if (server_) server_->stop();  // stops io_ too
  if (io_) io_->stop();
}

}  // namespace ezone
