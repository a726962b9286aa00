#include "tools/loadgen/flow_engine.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace ezone::loadgen {
namespace {

using nlohmann::json;

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

template <class T>
const T& pick(const std::vector<T>& v, std::mt19937_64& rng) {
  return v[rng() % v.size()];
}

// The error kind of a step's answer, "" when it acknowledges the step. For a
// create, also the new order's id and shard.
std::string judge(FlowStep step, const Call& c, int64_t* id, ShardId* shard) {
  if (!c.ok()) return c.error;
  if (c.body.value("state", std::string()) != state_after(step)) return "bad_response";
  if (step != FlowStep::create) return "";
  auto parsed = json_id(c.body.value("id", json()));
  const json& s = c.body.value("shard", json());
  if (!parsed || !s.is_number_unsigned()) return "bad_response";
  *id = *parsed;
  *shard = s.get<ShardId>();
  return "";
}

}  // namespace

const char* flow_step_name(FlowStep step) {
  static const char* const names[] = {"create", "accept", "pickup", "deliver", "status"};
  return names[static_cast<size_t>(step)];
}

const char* state_after(FlowStep step) {
  static const char* const states[] = {"created", "accepted", "picked_up", "delivered", ""};
  return states[static_cast<size_t>(step)];
}

uint64_t StepStats::error_count() const {
  uint64_t n = 0;
  for (const auto& [kind, count] : errors) n += count;
  return n;
}

int64_t StepStats::worst_p99_us() const {
  int64_t worst = 0;
  for (const LatencyHistogram& h : latency) worst = std::max(worst, h.percentile_us(0.99));
  return worst;
}

struct FlowEngine::Flow {
  GeoPoint point;
  int64_t user_id = 0;
  int64_t merchant_id = 0;
  int64_t amount_cents = 0;
  int64_t order_id = 0;  // 0 until the create is acknowledged
  ShardId shard = 0;     // the create answer's shard
  FlowStep next = FlowStep::create;
  std::string acked_state;  // state of the last acknowledged step
  std::string maybe_state;  // set when the failed step may have applied
  int reads_left = 0;       // status reads still to send before the next write
  int64_t ready_us = 0;
  std::string trace_id;     // a traced flow's (--trace-ratio), "" when untraced
  uint64_t sent = 0;        // requests sent: the loadgen's span id for each

  // The traceparent of the flow's next request ("" when untraced): the
  // flow's trace, with a new parent id per request.
  std::string traceparent() {
    if (trace_id.empty()) return "";
    char parent[17];
    std::snprintf(parent, sizeof parent, "%016llx", static_cast<unsigned long long>(++sent));
    return "00-" + trace_id + "-" + parent + "-01";
  }
};

namespace {

// A W3C trace id: 32 lowercase hex digits, not all zero.
std::string random_trace_id(std::mt19937_64& rng) {
  uint64_t hi = rng(), lo = rng();
  if (hi == 0 && lo == 0) lo = 1;
  char out[33];
  std::snprintf(out, sizeof out, "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return out;
}

// Keeps `slowest` the kSlowestTracedMax slowest steps, slowest first.
void keep_if_slow(std::vector<TracedStep>& slowest, TracedStep step) {
  if (slowest.size() == kSlowestTracedMax && slowest.back().latency_us >= step.latency_us) return;
  auto at = std::upper_bound(slowest.begin(), slowest.end(), step.latency_us,
                             [](int64_t us, const TracedStep& s) { return us > s.latency_us; });
  slowest.insert(at, std::move(step));
  if (slowest.size() > kSlowestTracedMax) slowest.pop_back();
}

}  // namespace

FlowEngine::FlowEngine(const Options& options, const Population& population,
                       const std::map<ShardId, std::string>& initial_owner, CallObserver observer)
    : options_(options), population_(population), observer_(std::move(observer)), owner_node_(kShardIdMax + 1) {
  stats_ = std::make_unique<StepStats>();
  for (std::atomic<int>& n : owner_node_) n.store(-1);
  for (const auto& [shard, ezone] : initial_owner) learn_owner(shard, ezone);
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this, i] { worker(static_cast<size_t>(i)); });
}

FlowEngine::~FlowEngine() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = abandon_ = true;
  }
  ready_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
}

double FlowEngine::drain_bound_s() const {
  const double requests = static_cast<double>(kWriteSteps) * (1.0 + options_.status_reads);
  return requests * static_cast<double>(options_.timeout_ms) / 1000.0 + 5.0;
}

size_t FlowEngine::pick_node(ShardId shard, std::mt19937_64& rng) const {
  switch (options_.entry) {
    case EntryPolicy::first: return 0;
    case EntryPolicy::owner: {
      const int owner = shard <= kShardIdMax ? owner_node_[shard].load(std::memory_order_relaxed) : -1;
      if (owner >= 0) return static_cast<size_t>(owner);
      break;  // no node of the owner's zone known: any node forwards
    }
    case EntryPolicy::random: break;
  }
  return rng() % options_.nodes.size();
}

void FlowEngine::learn_owner(ShardId shard, const std::string& ezone) {
  if (shard > kShardIdMax || ezone.empty()) return;
  const auto& ezones = population_.node_ezones;
  auto it = std::find(ezones.begin(), ezones.end(), ezone);
  if (it != ezones.end()) owner_node_[shard].store(static_cast<int>(it - ezones.begin()), std::memory_order_relaxed);
}

void FlowEngine::start_flow(std::mt19937_64& rng, int64_t due_us) {
  auto flow = std::make_unique<Flow>();
  flow->point = pick(population_.points, rng);
  flow->merchant_id = pick(population_.merchants.at(flow->point.shard), rng);
  flow->user_id = pick(population_.users, rng);
  flow->amount_cents = 1000 + static_cast<int64_t>(rng() % 9000);
  // Drawn only when asked for, so a run without traces sees the same flows.
  if (options_.trace_ratio > 0 && std::uniform_real_distribution<double>(0, 1)(rng) < options_.trace_ratio)
    flow->trace_id = random_trace_id(rng);
  flow->ready_us = due_us;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (in_flight_ >= options_.in_flight_max) {
      ++stats_->errors["overload"];
      return;
    }
    ++in_flight_;
    ++stats_->flows_started;
    ready_.push_back(std::move(flow));
  }
  ready_cv_.notify_one();
}

void FlowEngine::worker(size_t index) {
  NodeClients clients(options_.nodes, options_.timeout_ms, options_.http_tls());
  std::mt19937_64 rng(options_.seed * 7919 + index + 1);
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    ready_cv_.wait(lock, [&] { return stop_ || !ready_.empty(); });
    if (ready_.empty()) return;  // stopping, nothing left
    std::unique_ptr<Flow> flow = std::move(ready_.front());
    ready_.pop_front();
    if (abandon_) {
      ++stats_->errors["abandoned"];
      ++stats_->flows_failed;
      finish_locked(*flow);
      continue;
    }
    lock.unlock();
    // A step's answer leads straight to the flow's next step on this thread:
    // handing it to another worker would cost a wake-up per step, on the
    // cores the system under test runs on.
    while (flow) flow = execute(std::move(flow), clients, rng);
    lock.lock();
  }
}

Call FlowEngine::send(Flow& f, NodeClients& clients, size_t node) const {
  if (f.next == FlowStep::create) {
    const json body{{"user_id", f.user_id}, {"merchant_id", f.merchant_id}, {"lat", f.point.lat},
                    {"lon", f.point.lon}, {"amount_cents", f.amount_cents}};
    return clients.call(node, "POST", "/v1/orders", body.dump(), 201, f.traceparent());
  }
  static const char* const verbs[] = {"", "accept", "pickup", "deliver"};
  const std::string target = "/v1/orders/" + std::to_string(f.order_id) + "/" + verbs[static_cast<size_t>(f.next)];
  return clients.call(node, "POST", target, "{}", 200, f.traceparent());
}

std::unique_ptr<FlowEngine::Flow> FlowEngine::execute(std::unique_ptr<Flow> flow, NodeClients& clients,
                                                      std::mt19937_64& rng) {
  const ShardId shard = flow->order_id ? flow->shard : flow->point.shard;
  const size_t node = pick_node(shard, rng);
  if (flow->reads_left > 0) return read_status(std::move(flow), clients, node);
  const Call call = send(*flow, clients, node);
  const int64_t done_us = now_us();
  int64_t id = 0;
  ShardId created_shard = 0;
  const std::string error = judge(flow->next, call, &id, &created_shard);
  if (error.empty()) learn_owner(shard, call.served_by);
  if (observer_) {
    observer_(CallEvent{std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch()).count(),
                        shard, flow->next == FlowStep::create ? id : flow->order_id, flow->next, error.empty(),
                        call.served_by, error});
  }
  std::unique_lock<std::mutex> lock(mutex_);
  record_locked(*flow, flow->next, node, call, error, done_us - flow->ready_us);
  if (!error.empty()) {
    if (call.maybe_applied && flow->order_id) flow->maybe_state = state_after(flow->next);
    ++stats_->flows_failed;
    finish_locked(*flow);
    return nullptr;
  }
  if (flow->next == FlowStep::create) {
    flow->order_id = id;
    flow->shard = created_shard;
  }
  flow->acked_state = state_after(flow->next);
  flow->reads_left = options_.status_reads;
  return after_write(std::move(flow), done_us);
}

std::unique_ptr<FlowEngine::Flow> FlowEngine::read_status(std::unique_ptr<Flow> flow, NodeClients& clients,
                                                          size_t node) {
  const Call call =
      clients.call(node, "GET", "/v1/orders/" + std::to_string(flow->order_id), "", 200, flow->traceparent());
  const int64_t done_us = now_us();
  std::string error = call.ok() ? "" : call.error;
  if (error.empty() && call.body.value("state", std::string()) != flow->acked_state) error = "stale_read";
  if (error.empty()) learn_owner(flow->shard, call.served_by);
  std::unique_lock<std::mutex> lock(mutex_);
  record_locked(*flow, FlowStep::status, node, call, error, done_us - flow->ready_us);
  --flow->reads_left;
  return after_write(std::move(flow), done_us);
}

// Requires mutex_ held.
std::unique_ptr<FlowEngine::Flow> FlowEngine::after_write(std::unique_ptr<Flow> flow, int64_t done_us) {
  flow->ready_us = done_us;
  if (flow->reads_left > 0 && !abandon_) return flow;
  if (flow->next == FlowStep::deliver) {
    ++stats_->flows_completed;
    finish_locked(*flow);
    return nullptr;
  }
  flow->next = static_cast<FlowStep>(static_cast<int>(flow->next) + 1);
  flow->reads_left = 0;
  if (abandon_) {  // the drain bound passed: the next step is not sent
    ++stats_->errors["abandoned"];
    ++stats_->flows_failed;
    finish_locked(*flow);
    return nullptr;
  }
  return flow;
}

void FlowEngine::record_locked(const Flow& flow, FlowStep step, size_t node, const Call& call,
                               const std::string& error, int64_t latency_us) {
  StepStats& s = *stats_;
  ++s.requests;
  if (!flow.trace_id.empty()) {
    ++s.traced_requests;
    keep_if_slow(s.slowest_traced, TracedStep{step, latency_us, flow.trace_id, call.served_by, error});
  }
  if (!call.served_by.empty()) {
    ++s.served_by[call.served_by];
    const std::string& entered = population_.node_ezones[node];
    if (!entered.empty() && entered != call.served_by) ++s.forwarded;
  }
  if (error.empty()) {
    s.latency[static_cast<size_t>(step)].record(latency_us);
  } else {
    ++s.errors[error];
  }
}

void FlowEngine::finish_locked(const Flow& f) {
  --in_flight_;
  last_finish_us_ = now_us();
  if (f.order_id == 0) return;  // never acknowledged: nothing to verify
  acked_.push_back(AckedOrder{f.order_id, f.shard, f.user_id, f.merchant_id, f.amount_cents, f.acked_state,
                              f.maybe_state});
}

StepStats FlowEngine::run(const LoadStep& step) {
  std::mt19937_64 rng(options_.seed ^ std::hash<std::string>()(step.name));
  const int64_t t0 = now_us();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_ = std::make_unique<StepStats>();
    stats_->name = step.name;
    stats_->target_rate = step.rate;
    last_started_ = last_requests_ = 0;
    last_progress_s_ = 0;
    last_finish_us_ = t0;
  }
  double due_s = 0;  // when the next flow is due, from t0
  double next_progress_s = 1;
  while (due_s < step.duration_s) {
    const double now_s = static_cast<double>(now_us() - t0) / 1e6;
    if (now_s >= next_progress_s) {
      progress(now_s);
      next_progress_s += 1;
    }
    if (now_s < due_s) {
      const double wait_s = std::min(due_s, next_progress_s) - now_s;
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(wait_s * 1e6) + 1));
      continue;
    }
    start_flow(rng, t0 + static_cast<int64_t>(due_s * 1e6));
    due_s += 1.0 / rate_at(step.profile, step.rate, due_s, step.duration_s);
  }
  drain(t0, &next_progress_s);
  std::lock_guard<std::mutex> lock(mutex_);
  stats_->load_s = step.duration_s;
  stats_->elapsed_s = std::max(step.duration_s, static_cast<double>(last_finish_us_ - t0) / 1e6);
  return *stats_;
}

void FlowEngine::drain(int64_t t0_us, double* next_progress_s) {
  const auto in_flight = [this] {
    std::lock_guard<std::mutex> lock(mutex_);
    return in_flight_;
  };
  const int64_t deadline = now_us() + static_cast<int64_t>(drain_bound_s() * 1e6);
  while (in_flight() > 0 && now_us() < deadline) {
    const double now_s = static_cast<double>(now_us() - t0_us) / 1e6;
    if (now_s >= *next_progress_s) {
      progress(now_s);
      *next_progress_s += 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (in_flight() == 0) return;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    abandon_ = true;  // queued flows finish unsent; a request on the wire ends within timeout_ms
  }
  ready_cv_.notify_all();
  const int64_t hard = now_us() + (options_.timeout_ms + 2000) * 1000;
  while (in_flight() > 0 && now_us() < hard) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  std::lock_guard<std::mutex> lock(mutex_);
  abandon_ = false;
}

void FlowEngine::progress(double elapsed_s) {
  std::lock_guard<std::mutex> lock(mutex_);
  const StepStats& s = *stats_;
  const double dt = std::max(1e-3, elapsed_s - last_progress_s_);
  std::fprintf(stderr, "[%s %6.1fs] %8.1f flows/s %9.1f req/s  in flight %6lld  errors %6llu  p99 %8.2f ms\n",
               s.name.c_str(), elapsed_s, static_cast<double>(s.flows_started - last_started_) / dt,
               static_cast<double>(s.requests - last_requests_) / dt, static_cast<long long>(in_flight_),
               static_cast<unsigned long long>(s.error_count()), static_cast<double>(s.worst_p99_us()) / 1000.0);
  last_started_ = s.flows_started;
  last_requests_ = s.requests;
  last_progress_s_ = elapsed_s;
}

}  // namespace ezone::loadgen
