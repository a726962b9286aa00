#include "storage/etcd/etcd_watch.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "storage/etcd/etcd_json.hpp"
#include "storage/etcd/etcd_transport.hpp"
#include "storage/net/http_client.hpp"

namespace ezone::meta::etcd {
namespace {

enum class Phase { connecting, streaming, failed };

struct WatchState {
  WatchState(std::shared_ptr<EtcdTransport> t, EtcdWatchSpec s)
      : transport(std::move(t)), spec(std::move(s)), next_revision(spec.start_revision),
        backoff_ms(spec.backoff_min_ms) {}

  const std::shared_ptr<EtcdTransport> transport;
  const EtcdWatchSpec spec;
  std::atomic<bool> stop{false};  // set under mutex, so waits on `changed` see it

  std::mutex mutex;  // guards phase and failure; never held during callbacks
  std::condition_variable changed;
  Phase phase = Phase::connecting;
  Status failure;

  // Owned by the watch thread alone.
  int64_t next_revision;  // resume point: one past the last event delivered
  int64_t backoff_ms;
  bool created_once = false;
  bool broken = false;
  bool finished = false;  // compacted: the watch is over
  size_t endpoint = 0;
  std::string buffer;     // bytes of an incomplete line
  Status stream_problem;  // why the current stream was given up
};

void set_phase(WatchState& s, Phase phase, Status failure = Status::ok()) {
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.phase = phase;
    s.failure = std::move(failure);
  }
  s.changed.notify_all();
}

void on_created(WatchState& s, int64_t header_revision) {
  // With start 0 the watch begins after the revision etcd was at; resuming
  // from there after a break loses nothing.
  if (s.next_revision == 0) s.next_revision = header_revision + 1;
  s.backoff_ms = s.spec.backoff_min_ms;
  if (!s.created_once) {
    s.created_once = true;
    set_phase(s, Phase::streaming);
  }
  if (s.broken) {
    s.broken = false;
    spdlog::info("etcd watch on '{}' recovered at revision {}", s.spec.key, s.next_revision);
    if (s.spec.callbacks.on_status) s.spec.callbacks.on_status(Status::ok());
  }
}

bool on_canceled(WatchState& s, const WatchMessage& message) {
  if (message.compact_revision > 0) {
    s.finished = true;
    if (s.spec.callbacks.on_status)
      s.spec.callbacks.on_status(Status(
          Errc::not_found, "etcd watch from revision " + std::to_string(s.next_revision) +
                               " is compacted: history starts at " +
                               std::to_string(message.compact_revision) + "; re-read"));
    return false;
  }
  s.stream_problem = Status(Errc::unavailable, "etcd canceled the watch: " +
                                                   (message.cancel_reason.empty() ? "no reason given" : message.cancel_reason));
  return false;
}

// Returns false to give up the stream (the reason is in stream_problem).
bool handle_line(WatchState& s, const std::string& line) {
  auto message = parse_watch_message(line);
  if (!message.ok()) {
    s.transport->count_error(Errc::parse_error);
    s.stream_problem = message.status();
    return false;
  }
  if (message->error) {
    s.stream_problem = *message->error;
    return false;
  }
  if (message->created) on_created(s, message->header_revision);
  if (message->canceled) return on_canceled(s, *message);
  if (!message->events.empty()) {
    s.next_revision = message->events.back().kv.mod_revision + 1;
    if (s.spec.callbacks.on_events) s.spec.callbacks.on_events(message->events);
  }
  return true;
}

bool on_piece(WatchState& s, const std::string& piece) {
  s.buffer += piece;
  size_t start = 0;
  for (size_t end; (end = s.buffer.find('\n', start)) != std::string::npos; start = end + 1) {
    std::string line = s.buffer.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty() && !handle_line(s, line)) return false;
  }
  s.buffer.erase(0, start);
  if (s.buffer.size() <= kWatchLineBytesMax) return true;
  s.stream_problem = Status(Errc::parse_error, "etcd watch line exceeds " +
                                                   std::to_string(kWatchLineBytesMax) + " bytes");
  return false;
}

// Runs one /v3/watch stream to its end and says why it ended.
Status stream_once(WatchState& s) {
  const auto& endpoints = s.transport->endpoints();
  const HostPort& to = endpoints[s.endpoint % endpoints.size()];
  s.buffer.clear();
  s.stream_problem = Status::ok();
  net::HttpRequest request{"POST", "/v3/watch",
                           watch_create_request(s.spec.key, s.spec.prefix, s.next_revision),
                           "application/json", {}};
  auto end = net::http_stream(to, request, s.transport->request_timeout_ms(), s.stop,
                              [&s](const std::string& piece) { return on_piece(s, piece); },
                              s.transport->tls());
  if (!end.ok())
    return Status(end.status().code(),
                  "etcd " + to.to_string() + ": " + end.status().message() + s.transport->plain_hint(end.status()));
  if (*end == net::StreamEnd::server_closed)
    return Status(Errc::unavailable, "etcd " + to.to_string() + " closed the watch stream");
  if (*end == net::StreamEnd::stopped && !s.stream_problem)
    return Status(s.stream_problem.code(), "etcd " + to.to_string() + ": " + s.stream_problem.message());
  return Status::ok();
}

void report_broken(WatchState& s, const Status& reason) {
  s.transport->count_error(reason.code());
  if (s.broken) return;
  s.broken = true;
  spdlog::warn("etcd watch on '{}' broke, resuming from revision {}: {}", s.spec.key,
               s.next_revision, reason.to_string());
  if (s.spec.callbacks.on_status)
    s.spec.callbacks.on_status(Status(Errc::unavailable, "etcd watch broke: " + reason.message()));
}

void sleep_backoff(WatchState& s) {
  std::unique_lock<std::mutex> lock(s.mutex);
  s.changed.wait_for(lock, std::chrono::milliseconds(s.backoff_ms), [&] { return s.stop.load(); });
  s.backoff_ms = std::min(s.backoff_ms * 2, s.spec.backoff_max_ms);
}

void run(const std::shared_ptr<WatchState>& s) {
  size_t endpoints = s->transport->endpoints().size();
  size_t initial_failures = 0;
  while (!s->stop.load()) {
    Status ended = stream_once(*s);
    if (s->stop.load() || s->finished) break;
    if (!s->created_once) {
      s->transport->count_error(ended.code());
      if (++initial_failures >= endpoints) return set_phase(*s, Phase::failed, ended);
    } else {
      report_broken(*s, ended);
      sleep_backoff(*s);
    }
    s->endpoint = (s->endpoint + 1) % endpoints;
  }
}

class EtcdWatch final : public Watch {
 public:
  explicit EtcdWatch(std::shared_ptr<WatchState> state)
      : state_(std::move(state)), thread_([s = state_] { run(s); }) {}

  ~EtcdWatch() override {
    {
      std::lock_guard<std::mutex> lock(state_->mutex);
      state_->stop.store(true);
    }
    state_->changed.notify_all();
    // A callback destroying its own watch cannot join itself; the thread
    // holds the state and exits on its own at the next stop check.
    if (thread_.get_id() == std::this_thread::get_id()) thread_.detach();
    else thread_.join();
  }

 private:
  std::shared_ptr<WatchState> state_;
  std::thread thread_;
};

}  // namespace

Result<std::unique_ptr<Watch>> start_etcd_watch(std::shared_ptr<EtcdTransport> transport,
                                                EtcdWatchSpec spec) {
  auto bound = std::chrono::milliseconds(transport->request_timeout_ms() *
                                             static_cast<int64_t>(transport->endpoints().size()) +
                                         1000);
  auto state = std::make_shared<WatchState>(std::move(transport), std::move(spec));
  auto watch = std::make_unique<EtcdWatch>(state);
  std::unique_lock<std::mutex> lock(state->mutex);
  bool settled = state->changed.wait_for(lock, bound, [&] { return state->phase != Phase::connecting; });
  if (!settled) return Status(Errc::timeout, "etcd did not confirm the watch on '" + state->spec.key + "' in time");
  if (state->phase == Phase::failed) return state->failure;
  lock.unlock();
  return std::unique_ptr<Watch>(std::move(watch));
}

}  // namespace ezone::meta::etcd
