// Where a node's sampled spans go ([tracing], config/node_config.hpp): a
// log line each (event=span), and, with an otlp_endpoint, a collector that
// speaks OTLP/HTTP with JSON bodies (the OpenTelemetry Collector, Jaeger,
// Tempo...). The spans (core/span.hpp) come from the router (SERVER, scope
// ezone.router), the DAL (INTERNAL dal.tx, scope ezone.dal) and the SOA
// proxy (CLIENT, scope ezone.soa).
//
// SpanExporter batches spans on its own thread and POSTs them to
// otlp_path: a batch leaves when batch_max spans wait, or flush_interval_ms
// after its first span. add() never blocks the I/O thread that answered
// the request: it queues the span, and when queue_max spans already wait
// the span is dropped and counted. A batch the collector refuses (non-2xx)
// or that cannot be sent within export_timeout_ms is dropped and counted:
// spans are evidence, not data, and memory stays bounded while a collector
// is down. The first failure after a success is logged, and so is the
// recovery. stop() sends what is queued and joins; a failure while stopping
// drops the rest, so a collector out of reach holds the stop up for one
// export_timeout_ms at most.
//
// Each span: traceId, spanId, parentSpanId (hex), name, kind, start and
// end time, its attributes (the router's: ezone, ezone.outcome, ezone.reason,
// ezone.forwarded_to, http.response.status_code; the DAL's and the proxy's
// are listed where they are made), and status ERROR with a message when it
// failed. Spans are grouped by scope. The resource: service.name "ezone",
// service.instance.id "ezoned-<ezone>", ezone, service.version.
//
// Metrics: ezone_trace_spans_exported_total,
// ezone_trace_spans_dropped_total{reason=queue_full|export_failed},
// ezone_trace_export_errors_total.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "actors/router/router.hpp"
#include "config/node_config.hpp"
#include "core/metrics.hpp"
#include "core/span.hpp"

namespace spdlog {
class logger;
}

namespace ezone {
namespace net {
class HttpConnection;
}

// The OTLP/JSON ExportTraceServiceRequest for spans of one ezone.
std::string otlp_traces_json(const std::string& ezone, const std::vector<Span>& spans);

// The router's span as the node reports it: SERVER, scope ezone.router,
// ending at end_unix_ns; ERROR for a 5xx.
Span router_span(const RouterSpan& span, int64_t end_unix_ns);

class SpanExporter {
 public:
  // settings.exports() must hold. metrics and logger outlive the exporter.
  SpanExporter(std::string ezone, TracingSettings settings, Metrics& metrics, std::shared_ptr<spdlog::logger> logger);
  ~SpanExporter();
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  // Queues a finished span (see above). Thread-safe, non-blocking.
  void add(const Span& span);
  // Sends what is queued and joins. Idempotent; add() drops afterwards.
  void stop();

 private:
  void run();
  // Sends one batch; false when it was dropped.
  bool send(const std::vector<Span>& batch);

  const std::string ezone_;
  const TracingSettings settings_;
  std::shared_ptr<spdlog::logger> logger_;
  Counter& exported_;
  Counter& dropped_full_;
  Counter& dropped_failed_;
  Counter& errors_;
  bool failing_ = false;  // the thread's: the last export failed
  std::unique_ptr<net::HttpConnection> connection_;  // the thread's: keep-alive to the collector

  std::mutex mutex_;  // guards the fields below
  std::condition_variable wake_;
  bool stopping_ = false;
  std::deque<Span> queue_;
  std::thread thread_;
};

// The node's sink for these settings: logs each span when log_spans
// (event=span trace_id=... span_id=... parent_id=... ezone=... name="..."
// kind=... duration_us=... [error="..."] <attribute>=<value>...), and hands
// it to exporter when there is one (exporter must outlive every part that
// reports spans). Empty when neither applies. The line is written on the
// thread that ended the span, like the node's other log lines: handing
// the lines to the exporter's thread was measured slower on two cores
// (BENCHMARKS.md, "Tracing the flows").
SpanSink make_span_sink(const TracingSettings& settings, std::shared_ptr<spdlog::logger> logger,
                        SpanExporter* exporter);

}  // namespace ezone
