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

json attribute(const SpanAttribute& a) {
  if (!a.is_int) return attribute(a.key, a.text);
  return {{"key", a.key}, {"value", {{"intValue", std::to_string(a.number)}}}};  // OTLP/JSON: int64 as a string
}

json otlp_span(const Span& s) {
  json attributes = json::array({attribute("ezone", s.ezone)});
  for (const SpanAttribute& a : s.attributes) attributes.push_back(attribute(a));
  json span{{"traceId", s.trace_id},
            {"spanId", s.span_id},
            {"name", s.name},
            {"kind", static_cast<int>(s.kind)},
            {"startTimeUnixNano", std::to_string(s.start_unix_ns)},
            {"endTimeUnixNano", std::to_string(s.end_unix_ns)},
            {"attributes", std::move(attributes)}};
  if (!s.parent_id.empty()) span["parentSpanId"] = s.parent_id;
  if (!s.error.empty()) span["status"] = {{"code", 2}, {"message", s.error}};  // STATUS_CODE_ERROR
  return span;
}

// A log field's value: bare when it is one plain word, quoted otherwise,
// on one line (a span's name may be a client's path).
std::string log_value(const std::string& v) {
  if (!v.empty() && v.find_first_of(" \"=\r\n") == std::string::npos) return v;
  std::string out = "\"";
  for (char c : v) out += c == '"' ? '\'' : c == '\n' || c == '\r' ? ' ' : c;
  return out + "\"";
}

std::string log_line(const Span& s) {
  std::string out = "event=span trace_id=" + s.trace_id + " span_id=" + s.span_id + " parent_id=" + s.parent_id +
                    " ezone=" + s.ezone + " name=" + log_value(s.name) + " kind=" + span_kind_name(s.kind) +
                    " duration_us=" + std::to_string(s.duration_us());
  if (!s.error.empty()) out += " error=" + log_value(s.error);
  for (const SpanAttribute& a : s.attributes)
    out += " " + a.key + "=" + (a.is_int ? std::to_string(a.number) : log_value(a.text));
  return out;
}

}  // namespace

std::string otlp_traces_json(const std::string& ezone, const std::vector<Span>& spans) {
  // One scopeSpans per scope, in the order each scope first appears.
  std::vector<std::pair<std::string, json>> scopes;
  for (const Span& s : spans) {
    auto it = std::find_if(scopes.begin(), scopes.end(), [&](const auto& x) { return x.first == s.scope; });
    if (it == scopes.end()) it = scopes.insert(scopes.end(), {s.scope, json::array()});
    it->second.push_back(otlp_span(s));
  }
  json scope_spans = json::array();
  for (auto& [name, list] : scopes)
    scope_spans.push_back({{"scope", {{"name", name}}}, {"spans", std::move(list)}});
  json resource{{"attributes", json::array({attribute("service.name", "ezone"),
                                            attribute("service.instance.id", "ezoned-" + ezone),
                                            attribute("service.version", build_version()), attribute("ezone", ezone)})}};
  json doc{{"resourceSpans",
            json::array({{{"resource", std::move(resource)}, {"scopeSpans", std::move(scope_spans)}}})}};
  return doc.dump(-1, ' ', false, json::error_handler_t::replace);
}

Span router_span(const RouterSpan& r, int64_t end_unix_ns) {
  Span s;
  s.trace_id = r.trace_id;
  s.span_id = r.span_id;
  s.parent_id = r.parent_id;
  s.ezone = r.ezone;
  s.name = r.name;
  s.scope = "ezone.router";
  s.kind = SpanKind::server;
  s.end_unix_ns = end_unix_ns;
  s.start_unix_ns = end_unix_ns - r.duration_us * 1000;
  s.set("ezone.outcome", std::string(r.outcome));
  if (*r.reason) s.set("ezone.reason", std::string(r.reason));
  if (!r.forwarded_to.empty()) s.set("ezone.forwarded_to", r.forwarded_to);
  s.set("http.response.status_code", static_cast<int64_t>(r.status));
  if (r.status >= 500) s.error = *r.reason ? r.reason : "server error";
  return s;
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

void SpanExporter::add(const Span& span) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= static_cast<size_t>(settings_.queue_max)) {
      dropped_full_.inc();
      return;
    }
    queue_.push_back(span);
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
    std::vector<Span> batch;
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

bool SpanExporter::send(const std::vector<Span>& batch) {
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

SpanSink make_span_sink(const TracingSettings& settings, std::shared_ptr<spdlog::logger> logger,
                        SpanExporter* exporter) {
  if (!settings.log_spans && !exporter) return nullptr;
  const bool log_spans = settings.log_spans;
  return [log_spans, log = std::move(logger), exporter](const Span& s) {
    if (log_spans && log) log->info("{}", log_line(s));
    if (exporter) exporter->add(s);
  };
}

}  // namespace ezone
