// A finished span of a W3C trace (core/trace_context.hpp), as every part of
// a node reports it: the router (a SERVER span per hop), the DAL (an
// INTERNAL span per transaction of a traced request) and the SOA proxy (a
// CLIENT span per call to an instance). The node's sink logs and exports
// them (actors/node/span_exporter.hpp); a part that reports spans takes a
// SpanSink, and reports only spans of sampled traces.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/trace_context.hpp"

namespace ezone {

// OTLP's numbering.
enum class SpanKind { internal = 1, server = 2, client = 3 };
const char* span_kind_name(SpanKind kind);  // internal | server | client

struct SpanAttribute {
  std::string key;
  std::string text;  // when !is_int
  int64_t number = 0;
  bool is_int = false;
};

struct Span {
  std::string trace_id;
  std::string span_id;
  std::string parent_id;  // "" for a root span
  std::string ezone;      // the node's that reported it
  std::string name;       // "POST /v1/orders", "dal.tx", "POST soa/pricing"
  const char* scope = "ezone";  // the instrumentation scope: ezone.router, ezone.dal, ezone.soa
  SpanKind kind = SpanKind::internal;
  int64_t start_unix_ns = 0;
  int64_t end_unix_ns = 0;
  std::string error;  // not empty: the span's status is ERROR, with this message
  std::vector<SpanAttribute> attributes;

  void set(std::string key, std::string value);
  void set(std::string key, int64_t value);
  // The attribute's value as text ("" when absent): for tests and for
  // embedders that read spans from their own sink.
  std::string attribute(const std::string& key) const;
  int64_t duration_us() const { return (end_unix_ns - start_unix_ns) / 1000; }
};

// Called with each finished span of a sampled trace, from any thread; it
// must be thread-safe and must not block (the node's queues the span).
using SpanSink = std::function<void(const Span&)>;

// A new span of `parent`'s trace, whose parent is the caller's span:
// trace_id and parent_id from it, a new span id, started now.
Span child_span(const TraceContext& parent, std::string name, SpanKind kind, const char* scope,
                const std::string& ezone);

// Wall-clock time in Unix nanoseconds, as spans carry it.
int64_t unix_ns_now();

}  // namespace ezone
