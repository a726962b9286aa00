#include "core/span.hpp"

#include <chrono>

namespace ezone {

const char* span_kind_name(SpanKind kind) {
  switch (kind) {
    case SpanKind::internal: return "internal";
    case SpanKind::server: return "server";
    case SpanKind::client: return "client";
  }
  return "internal";
}

void Span::set(std::string key, std::string value) {
  attributes.push_back(SpanAttribute{std::move(key), std::move(value), 0, false});
}

void Span::set(std::string key, int64_t value) { attributes.push_back(SpanAttribute{std::move(key), "", value, true}); }

std::string Span::attribute(const std::string& key) const {
  for (const SpanAttribute& a : attributes)
    if (a.key == key) return a.is_int ? std::to_string(a.number) : a.text;
  return "";
}

Span child_span(const TraceContext& parent, std::string name, SpanKind kind, const char* scope,
                const std::string& ezone) {
  Span s;
  s.trace_id = parent.trace_id;
  s.span_id = new_span_id();
  s.parent_id = parent.parent_id;
  s.ezone = ezone;
  s.name = std::move(name);
  s.scope = scope;
  s.kind = kind;
  s.start_unix_ns = unix_ns_now();
  return s;
}

int64_t unix_ns_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ezone
