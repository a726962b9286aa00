// The sessions of the ingress HTTP server: one per accepted connection,
// reading requests, handing them to the handler, writing the answers
// (streamed ones too) and enforcing the limits and timeouts of
// HttpServerOptions. http_server.cpp accepts the connections.
//
// Internal to actors/http (it includes Asio through io_threads_impl.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "actors/http/http_server.hpp"
#include "actors/http/io_threads_impl.hpp"
#include "core/metrics.hpp"

namespace ezone::http_detail {

struct ServerCounters {
  Counter* requests;
  Counter* bad_requests;
  Counter* header_too_large;
  Counter* body_too_large;
  Counter* request_timeouts;
  Counter* truncated;
  Counter* idle_closed;
  Counter* handler_errors;
  Counter* rejected_connections;
  Counter* accept_errors;
  Counter* stream_overflows;
  Counter* tls_handshake_failures;
  Gauge* open_connections;
};

// What every session of one server shares. Sessions hold it by shared_ptr,
// so it outlives the BeastServer if queued work still holds a session.
struct ServerCore {
  HttpServerOptions options;
  AsyncHttpHandler handler;
  ServerCounters counters{};
  std::atomic<int64_t> open{0};
  std::atomic<bool> running{true};
  IoThreads::Impl* pool = nullptr;  // outlives every session (they live on its lanes)

  bool accepting_responses() const { return running.load() && !pool->stopped.load(); }
};

ServerCounters make_server_counters(Metrics& metrics, const std::string& name);

// Serves one accepted connection on lane (the lane its socket belongs to),
// or answers it 503 and closes it when the server is at its connection
// limit. Call on any thread: the session starts on its lane.
void start_session(LaneSocket socket, const std::shared_ptr<ServerCore>& core, IoLane& lane);

}  // namespace ezone::http_detail
