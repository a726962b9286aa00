// The flow engine: starts order flows at a paced rate (open loop) and runs
// their steps on a pool of worker threads, each with its own keep-alive
// connections (NodeClients).
//
//   scheduler (caller's thread)        workers (N threads)
//   at each due time: new flow  --->  [ready queue]  ---> send the flow's steps, one
//                                                        after the other, on the same
//                                                        worker (then: acked order)
//
// Open loop: a flow's start time comes from the rate alone, never from how
// fast earlier flows finished. Each step's latency runs from the moment it
// became ready (its scheduled start, or the previous step's answer) to its
// own answer, so time a new flow spends queued behind busy workers counts: an
// overloaded system shows up as latency, not as a quietly lower rate
// (no coordinated omission). Flows in flight are bounded by in_flight_max; a
// flow due beyond it is refused and counted as error "overload".
//
// A failed step ends its flow (no retries): the order stays acknowledged in
// the state of its last acknowledged step, and a failure that may have
// applied (maybe_applied) records the state it would have set. A failed
// status read is counted and the flow goes on (a read changes nothing).
// Status reads are not reported to the CallObserver, which sees writes.
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tools/loadgen/latency.hpp"
#include "tools/loadgen/options.hpp"
#include "tools/loadgen/population.hpp"
#include "tools/loadgen/rate_plan.hpp"
#include "tools/loadgen/verify.hpp"

namespace ezone::loadgen {

// The four writes of a flow, and `status`: a user's GET /v1/orders/{id}
// after a write (--status-reads per write), which must show the state that
// write acknowledged (else error "stale_read").
enum class FlowStep { create = 0, accept = 1, pickup = 2, deliver = 3, status = 4 };
constexpr size_t kWriteSteps = 4;
constexpr size_t kFlowSteps = 5;
const char* flow_step_name(FlowStep step);
// The order state a successful write leaves ("created", "accepted", ...).
const char* state_after(FlowStep step);

// A step of a traced flow (--trace-ratio), among the slowest of a load step.
struct TracedStep {
  FlowStep step = FlowStep::create;
  int64_t latency_us = 0;
  std::string trace_id;   // the flow's: look it up in the zones' spans
  std::string served_by;  // X-Ezone of the answer, "" when none
  std::string error;      // the error kind, "" when it succeeded
};
constexpr size_t kSlowestTracedMax = 10;

// Figures of one load step (one run, or one rate of --find-max).
struct StepStats {
  std::string name;
  double target_rate = 0;
  double load_s = 0;     // seconds of pacing
  double elapsed_s = 0;  // until the last flow finished (or the drain bound)
  uint64_t flows_started = 0;
  uint64_t flows_completed = 0;  // delivered
  uint64_t flows_failed = 0;     // a step failed, or abandoned at the drain bound
  uint64_t requests = 0;
  uint64_t forwarded = 0;        // entered at a node of another zone than the one that served it
  std::array<LatencyHistogram, kFlowSteps> latency;
  std::map<std::string, uint64_t> errors;     // kind -> count
  std::map<std::string, uint64_t> served_by;  // X-Ezone -> requests
  uint64_t traced_requests = 0;               // sent with a sampled traceparent
  std::vector<TracedStep> slowest_traced;     // the kSlowestTracedMax slowest, slowest first

  uint64_t error_count() const;
  int64_t worst_p99_us() const;
  double flows_per_s() const { return elapsed_s > 0 ? static_cast<double>(flows_completed) / elapsed_s : 0; }
  double requests_per_s() const { return elapsed_s > 0 ? static_cast<double>(requests) / elapsed_s : 0; }
};

struct LoadStep {
  std::string name;
  double rate = 0;  // flows/s (peak rate under Profile::peaks)
  double duration_s = 0;
  Profile profile = Profile::flat;
};

// One answered (or failed) step, for a caller watching the run live (the
// failover drill times its RTO and RPO from these).
struct CallEvent {
  int64_t wall_ms = 0;    // when the answer came (system clock)
  ShardId shard = 0;
  int64_t order_id = 0;   // 0 for a create that failed
  FlowStep step = FlowStep::create;
  bool ok = false;
  std::string served_by;  // X-Ezone of the answer, "" when none
  std::string error;      // the error kind when !ok
};
// Called on the worker threads, concurrently: it must be thread-safe and quick.
using CallObserver = std::function<void(const CallEvent&)>;

class FlowEngine {
 public:
  // population must outlive the engine. Shard owners start from the shard
  // config (initial_owner: shard -> ezone) and follow X-Ezone afterwards.
  FlowEngine(const Options& options, const Population& population,
             const std::map<ShardId, std::string>& initial_owner, CallObserver observer = {});
  ~FlowEngine();

  // Runs one step to its end (pacing, then draining in-flight flows, bounded
  // by drain_bound_s()), printing a progress line to stderr every second.
  StepStats run(const LoadStep& step);
  // Every order acknowledged so far, in every step.
  const std::vector<AckedOrder>& acked() const { return acked_; }
  double drain_bound_s() const;

 private:
  struct Flow;
  void worker(size_t index);
  Call send(Flow& flow, NodeClients& clients, size_t node) const;
  // Sends the flow's next step and records it; returns the flow when it has
  // a further step to send (the caller sends it at once), null once the
  // flow has finished (delivered, failed or abandoned).
  std::unique_ptr<Flow> execute(std::unique_ptr<Flow> flow, NodeClients& clients, std::mt19937_64& rng);
  // Both require mutex_ held.
  void finish_locked(const Flow& flow);
  void record_locked(const Flow& flow, FlowStep step, size_t node, const Call& call, const std::string& error,
                     int64_t latency_us);
  // A status read of the flow's order; returns the flow (null once done).
  std::unique_ptr<Flow> read_status(std::unique_ptr<Flow> flow, NodeClients& clients, size_t node);
  // The flow after its write was acknowledged: reads, the next write, or done.
  std::unique_ptr<Flow> after_write(std::unique_ptr<Flow> flow, int64_t done_us);
  void start_flow(std::mt19937_64& rng, int64_t due_us);
  size_t pick_node(ShardId shard, std::mt19937_64& rng) const;
  void learn_owner(ShardId shard, const std::string& ezone);
  // Waits (bounded by drain_bound_s) until no flow is in flight; abandons
  // the rest after that.
  void drain(int64_t t0_us, double* next_progress_s);
  void progress(double elapsed_s);

  const Options& options_;
  const Population& population_;
  const CallObserver observer_;
  std::vector<std::atomic<int>> owner_node_;  // by shard: node index to enter at (owner policy)

  std::mutex mutex_;  // guards everything below
  std::condition_variable ready_cv_;
  std::deque<std::unique_ptr<Flow>> ready_;
  std::unique_ptr<StepStats> stats_;
  std::vector<AckedOrder> acked_;
  int64_t in_flight_ = 0;
  int64_t last_finish_us_ = 0;
  bool abandon_ = false;  // finish queued flows without sending (drain bound hit)
  bool stop_ = false;     // workers exit once the queue is empty
  // progress: counters at the previous line
  uint64_t last_started_ = 0, last_requests_ = 0;
  double last_progress_s_ = 0;

  std::vector<std::thread> workers_;
};

}  // namespace ezone::loadgen
