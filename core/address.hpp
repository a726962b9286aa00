// HostPort: a "host:port" endpoint as written in config and on the command
// line. IPv6 literals are bracketed: "[::1]:7100".
#pragma once

#include <cstdint>
#include <string>

#include "core/status.hpp"

namespace ezone {

struct HostPort {
  std::string host;  // without brackets
  uint16_t port = 0;

  // "host:port", with brackets around IPv6 literals.
  std::string to_string() const;
  bool operator==(const HostPort& other) const {
    return host == other.host && port == other.port;
  }
  bool operator!=(const HostPort& other) const { return !(*this == other); }
};

// Parses "host:port". Requires a non-empty host made of letters, digits, '.',
// '-' or ':' (inside brackets), and a port in 1..65535. On failure returns
// invalid_argument with a message that says what is wrong, but not where the
// text came from: the caller adds that.
Result<HostPort> parse_host_port(const std::string& text);

// True if host is an unspecified ("all interfaces") address: 0.0.0.0 or ::.
bool is_wildcard_host(const std::string& host);

}  // namespace ezone
