#include "core/trace_context.hpp"

#include <random>

namespace ezone {
namespace {

constexpr size_t kVersion00Length = 55;  // 2 + 1 + 32 + 1 + 16 + 1 + 2
constexpr const char* kHexDigits = "0123456789abcdef";

bool lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

bool all_zero(std::string_view s) { return s.find_first_not_of('0') == std::string_view::npos; }

int hex_value(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

Status bad(const std::string& why) { return Status(Errc::parse_error, "traceparent: " + why); }

}  // namespace

std::string TraceContext::header_for(const std::string& span_id) const {
  std::string out = "00-" + trace_id + "-" + span_id + "-";
  out += kHexDigits[flags >> 4];
  out += kHexDigits[flags & 0x0f];
  return out;
}

Result<TraceContext> parse_traceparent(std::string_view v) {
  if (v.size() < kVersion00Length) return bad("shorter than 55 characters");
  const std::string_view version = v.substr(0, 2);
  if (!lower_hex(version)) return bad("version is not two lowercase hex digits");
  if (version == "ff") return bad("version ff is invalid");
  if (version == "00" && v.size() != kVersion00Length) return bad("version 00 is exactly 55 characters");
  if (v.size() > kVersion00Length && v[kVersion00Length] != '-') return bad("a later version's fields go after a '-'");
  if (v[2] != '-' || v[35] != '-' || v[52] != '-') return bad("fields are not separated by '-'");
  TraceContext t;
  const std::string_view trace = v.substr(3, 32), parent = v.substr(36, 16), flags = v.substr(53, 2);
  if (!lower_hex(trace) || !lower_hex(parent) || !lower_hex(flags))
    return bad("trace-id, parent-id and flags are lowercase hex");
  if (all_zero(trace)) return bad("trace-id is all zeros");
  if (all_zero(parent)) return bad("parent-id is all zeros");
  t.trace_id = std::string(trace);
  t.parent_id = std::string(parent);
  t.flags = static_cast<uint8_t>(hex_value(flags[0]) * 16 + hex_value(flags[1]));
  return t;
}

std::string new_span_id() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t id = 0;
  while (id == 0) id = rng();
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, id >>= 4) out[static_cast<size_t>(i)] = kHexDigits[id & 0x0f];
  return out;
}

}  // namespace ezone
