#include "core/status.hpp"

#include "core/assert.hpp"

namespace ezone {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::ok: return "ok";
    case Errc::invalid_argument: return "invalid_argument";
    case Errc::not_found: return "not_found";
    case Errc::unavailable: return "unavailable";
    case Errc::timeout: return "timeout";
    case Errc::conflict: return "conflict";
    case Errc::io_error: return "io_error";
    case Errc::parse_error: return "parse_error";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  return std::string(errc_name(code_)) + ": " + message_;
}

void result_access_failed(const Status& status) {
  EZONE_ASSERT(false, "value() on an error Result: " + status.to_string());
}

}  // namespace ezone
