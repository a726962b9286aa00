#include "actors/node/span_exporter.hpp"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "core/build_info.hpp"
#include "storage/net/http_client.hpp"

namespace ezone {
namespace {

using nlohmann::json;

json attribute(const std::string& key, const std::string& value) {
  return {{"key", key}, {"value", {{"stringValue", value}}}};
}

json int_attribute(const std::string& key, int64_t value) {
  return {{"key", key}, {"value", {{"intValue", std::to_string(value)}}}};  // OTLP/JSON: int64 as a string
}

int64_t unix_ns_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::string otlp_traces_json(const std::string& ezone, const std::vector<ExportedSpan>& spans) {
  json list = json::array();
  for (const ExportedSpan& e : spans) {
    const RouterSpan& s = e.span;
    json attributes = json::array({attribute("ezone", s.ezone), attribute("ezone.outcome", s.outcome),
                                   int_attribute("http.response.status_code", s.status)});
    if (*s.reason) attributes.push_back(attribute("ezone.reason", s.reason));
    if (!s.forwarded_to.empty()) attributes.push_back(attribute("ezone.forwarded_to", s.forwarded_to));
    json span{{"traceId", s.trace_id},
              {"spanId", s.span_id},
              {"name", s.name},
              {"kind", 2},  // SPAN_KIND_SERVER
              {"startTimeUnixNano", std::to_string(e.start_unix_ns)},
              {"endTimeUnixNano", std::to_string(e.end_unix_ns)},
              {"attributes", std::move(attributes)}};
    if (!s.parent_id.empty()) span["parentSpanId"] = s.parent_id;
    if (s.status >= 500) span["status"] = {{"code", 2}, {"message", *s.reason ? s.reason : "server error"}};
    list.push_back(std::move(span));
  }
  json resource{{"attributes", json::array({attribute("service.name", "ezone"),
                                            attribute("service.instance.id", "ezoned-" + ezone),
                                            attribute("service.version", build_version()), attribute("ezone", ezone)})}};
  json doc{{"resourceSpans",
            json::array({{{"resource", std::move(resource)},
                          {"scopeSpans", json::array({{{"scope", {{"name", "ezone.router"}}},
                                                       {"spans", std::move(list)}}})}}})}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

SpanExporter::SpanExporter(std::string ezone, TracingSettings settings, Metrics& metrics,
                           std::shared_ptr<spdlog::logger> logger)
    : ezone_(std::move(ezone)),
      settings_(std::move(settings)),
      logger_(std::move(logger)),
      exported_(metrics.counter("ezone_trace_spans_exported_total", "Spans the collector accepted")),
      dropped_full_(metrics.counter("ezone_trace_spans_dropped_total", "Spans not exported, by reason",
                                    {{"reason", "queue_full"}})),
      dropped_failed_(metrics.counter("ezone_trace_spans_dropped_total", "Spans not exported, by reason",
                                      {{"reason", "export_failed"}})),
      errors_(metrics.counter("ezone_trace_export_errors_total", "Export requests that failed or were refused")) {
  thread_ = std::thread([this] { run(); });
}

SpanExporter::~SpanExporter() { stop(); }

void SpanExporter::add(const RouterSpan& span) {
  ExportedSpan e{span, 0, unix_ns_now()};
  e.start_unix_ns = e.end_unix_ns - span.duration_us * 1000;
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= static_cast<size_t>(settings_.queue_max)) {
      dropped_full_.inc();
      return;
    }
    queue_.push_back(std::move(e));
    // The thread waits for a first span, then for a full batch or the
    // flush interval.
    wake = queue_.size() == 1 || queue_.size() == static_cast<size_t>(settings_.batch_max);
  }
  if (wake) wake_.notify_one();
}

void SpanExporter::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SpanExporter::run() {
  const size_t batch_max = static_cast<size_t>(settings_.batch_max);
  for (;;) {
    std::vector<ExportedSpan> batch;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!stopping_ && queue_.size() < batch_max) {
        // The batch's first span waits at most flush_interval_ms.
        if (queue_.empty()) wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        wake_.wait_for(lock, std::chrono::milliseconds(settings_.flush_interval_ms),
                       [&] { return stopping_ || queue_.size() >= batch_max; });
      }
      stopping = stopping_;
      const size_t n = std::min(batch_max, queue_.size());
      batch.assign(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
    }
    if (batch.empty()) {
      if (stopping) return;
      continue;
    }
    if (send(batch)) continue;
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {  // the collector is out of reach: do not hold the stop up with more batches
      dropped_failed_.inc(queue_.size());
      queue_.clear();
      return;
    }
  }
}

bool SpanExporter::send(const std::vector<ExportedSpan>& batch) {
  if (!connection_) connection_ = std::make_unique<net::HttpConnection>(settings_.otlp_endpoint);
  net::HttpRequest request;
  request.method = "POST";
  request.target = settings_.otlp_path;
  request.content_type = "application/json";
  request.body = otlp_traces_json(ezone_, batch);
  auto r = connection_->request(request, settings_.export_timeout_ms);
  if (r.ok() && r->status >= 200 && r->status < 300) {
    exported_.inc(batch.size());
    if (failing_ && logger_)
      logger_->info("event=trace_export_recovered ezone={} collector={}", ezone_,
                    settings_.otlp_endpoint.to_string());
    failing_ = false;
    return true;
  }
  errors_.inc();
  dropped_failed_.inc(batch.size());
  if (!failing_ && logger_)
    logger_->warn("event=trace_export_failed ezone={} collector={} dropped={} error=\"{}\"", ezone_,
                  settings_.otlp_endpoint.to_string(), batch.size(),
                  r.ok() ? "answered " + std::to_string(r->status) + ": " + r->body.substr(0, 200)
                         : r.status().message());
  failing_ = true;
  return false;
}

std::function<void(const RouterSpan&)> make_span_sink(const TracingSettings& settings,
                                                      std::shared_ptr<spdlog::logger> logger, SpanExporter* exporter) {
  if (!settings.log_spans && !exporter) return nullptr;
  const bool log_spans = settings.log_spans;
  return [log_spans, log = std::move(logger), exporter](const RouterSpan& s) {
    if (log_spans && log)
      log->info("event=span trace_id={} span_id={} parent_id={} ezone={} name=\"{}\" outcome={}{}{}{}{} status={} "
                "duration_us={}",
                s.trace_id, s.span_id, s.parent_id, s.ezone, s.name, s.outcome, *s.reason ? " reason=" : "",
                s.reason, s.forwarded_to.empty() ? "" : " forwarded_to=", s.forwarded_to, s.status, s.duration_us);
    if (exporter) exporter->add(s);
  };
}

}  // namespace ezone
