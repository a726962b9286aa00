// One SQLite value, as carried by the DAL's API, the outbox and the change
// feed: NULL, INTEGER, REAL, TEXT or BLOB. TEXT and BLOB stay distinct so a
// replicated row is bit-identical on every site.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.hpp"

namespace ezone::dal {

struct Blob {
  std::string bytes;
  bool operator==(const Blob& o) const { return bytes == o.bytes; }
  bool operator<(const Blob& o) const { return bytes < o.bytes; }

  template <class Archive>
  void serialize(Archive& ar) { ar(bytes); }
};

using Value = std::variant<std::monostate, int64_t, double, std::string, Blob>;
using Row = std::vector<Value>;

// A readable rendering for logs, errors and the conflict table: null, 42,
// 1.5, "text" (JSON-escaped), x'0a1b'.
std::string value_text(const Value& v);
// [v1,v2,...] with value_text for each.
std::string row_text(const Row& row);
// Reads back what row_text wrote (a conflict's versions, a quarantined
// row's key). A REAL with an integral value was written without a point
// ("3"), so it reads back as INTEGER 3; a REAL column's affinity turns it
// back into 3.0 when stored. parse_error naming the position otherwise.
Result<Row> parse_row_text(std::string_view text);
// A column value read back from SQLite: INTEGER as int64 (0 for anything
// else), REAL as double (an INTEGER converts; 0 for anything else), TEXT as
// a string ("" for anything else).
inline int64_t int_of(const Value& v) {
  const int64_t* i = std::get_if<int64_t>(&v);
  return i ? *i : 0;
}
inline double real_of(const Value& v) {
  if (const double* d = std::get_if<double>(&v)) return *d;
  return static_cast<double>(int_of(v));
}
inline std::string text_of(const Value& v) {
  const std::string* s = std::get_if<std::string>(&v);
  return s ? *s : std::string();
}
// The memory v holds, near enough for a bound.
inline size_t value_bytes(const Value& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return s->size() + sizeof(Value);
  if (const auto* b = std::get_if<Blob>(&v)) return b->bytes.size() + sizeof(Value);
  return sizeof(Value);
}

}  // namespace ezone::dal
