#include "examples/takeout/json_body.hpp"

#include <cmath>
#include <limits>

#include "core/json.hpp"

namespace ezone::takeout {
namespace {

using nlohmann::json;

Status bad(const std::string& message) { return Status(Errc::invalid_argument, message); }

// The field; invalid_argument naming it when it is missing or null.
Result<const json*> field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return bad(std::string("'") + name + "' is missing");
  return &*it;
}

// Shown in messages: the value as the client sent it, cut short.
std::string shown(const json& value) {
  std::string text = dump_json(value);
  return text.size() > 40 ? text.substr(0, 40) + "..." : text;
}

}  // namespace

Result<json> parse_object(std::string_view body) {
  auto parsed = parse_json(body);
  if (!parsed) return bad("the body is not valid JSON: " + parsed.status().message());
  if (!parsed->is_object()) return bad("the body must be a JSON object");
  return parsed;
}

Result<std::string> string_field(const json& body, const char* name, size_t max_bytes) {
  auto f = field(body, name);
  if (!f) return f.status();
  const json& v = **f;
  if (!v.is_string()) return bad(std::string("'") + name + "' must be a string, not " + shown(v));
  const auto& text = v.get_ref<const std::string&>();
  if (text.empty()) return bad(std::string("'") + name + "' is empty");
  if (text.size() > max_bytes)
    return bad(std::string("'") + name + "' is longer than " + std::to_string(max_bytes) + " bytes");
  return text;
}

Result<int64_t> int_field(const json& body, const char* name, int64_t min, int64_t max) {
  auto f = field(body, name);
  if (!f) return f.status();
  const json& v = **f;
  const std::string range = " (allowed: " + std::to_string(min) + ".." + std::to_string(max) + ")";
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(max) || static_cast<int64_t>(u) < min)
      return bad(std::string("'") + name + "' is out of range: " + shown(v) + range);
    return static_cast<int64_t>(u);
  }
  if (!v.is_number_integer()) return bad(std::string("'") + name + "' must be an integer, not " + shown(v));
  const int64_t i = v.get<int64_t>();
  if (i < min || i > max) return bad(std::string("'") + name + "' is out of range: " + shown(v) + range);
  return i;
}

Result<int64_t> id_field(const json& body, const char* name) {
  auto f = field(body, name);
  if (!f) return f.status();
  const json& v = **f;
  if (v.is_string()) return parse_path_id(v.get_ref<const std::string&>(), name);
  return int_field(body, name, 1, std::numeric_limits<int64_t>::max());
}

Result<double> number_field(const json& body, const char* name, double min, double max) {
  auto f = field(body, name);
  if (!f) return f.status();
  const json& v = **f;
  if (!v.is_number()) return bad(std::string("'") + name + "' must be a number, not " + shown(v));
  const double d = v.get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    return bad(std::string("'") + name + "' is out of range: " + shown(v) + " (allowed: " + json(min).dump() +
               ".." + json(max).dump() + ")");
  }
  return d;
}

Result<int64_t> parse_path_id(std::string_view text, const char* what) {
  const std::string quoted = "'" + std::string(text.substr(0, 40)) + (text.size() > 40 ? "...'" : "'");
  if (text.empty()) return bad(std::string(what) + " is empty");
  if (text.size() > 19) return bad(std::string(what) + " " + quoted + " is longer than 19 digits");
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return bad(std::string(what) + " " + quoted + " must be decimal digits only");
    value = value * 10 + static_cast<uint64_t>(c - '0');  // 19 digits cannot overflow 2^64
  }
  if (value == 0 || value > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return bad(std::string(what) + " " + quoted + " must be between 1 and 2^63-1");
  return static_cast<int64_t>(value);
}

}  // namespace ezone::takeout
