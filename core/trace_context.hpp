// W3C Trace Context (https://www.w3.org/TR/trace-context/): the traceparent
// header a request may carry,
//
//   traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01
//                ver trace-id (16 bytes)             parent-id (8)   flags
//
// Each router a traced request passes through is one span of its trace: it
// takes a new span id, passes `00-<trace-id>-<its span id>-<flags>` on (to
// the handler, or to the next router), and, when the sampled flag (01) is
// set, reports the span tagged with its ezone (RouterConfig::on_span). A
// malformed traceparent is dropped, with tracestate, as the specification
// asks: the request is served untraced.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace ezone {

struct TraceContext {
  std::string trace_id;   // 32 lowercase hex digits, not all zero
  std::string parent_id;  // 16 lowercase hex digits, not all zero: the caller's span
  uint8_t flags = 0;
  bool sampled() const { return (flags & 0x01) != 0; }
  // The traceparent a hop whose own span is span_id passes on (version 00).
  std::string header_for(const std::string& span_id) const;
};

// Parses a traceparent value. Version 00 must be exactly 55 characters; a
// later version may carry more after a '-', which is ignored (the 00 fields
// are read, as the specification asks); version ff is invalid. Hex digits
// must be lowercase. parse_error names what is wrong.
Result<TraceContext> parse_traceparent(std::string_view value);

// A new span id: 16 lowercase hex digits, never all zero.
std::string new_span_id();

}  // namespace ezone
