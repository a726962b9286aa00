#include "core/address.hpp"

#include <cctype>

namespace ezone {
namespace {

bool valid_host_chars(const std::string& host, bool bracketed) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '.' || c == '-' || c == '_') continue;
    if (bracketed && c == ':') continue;
    return false;
  }
  return true;
}

}  // namespace

std::string HostPort::to_string() const {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + std::to_string(port);
  return host + ":" + std::to_string(port);
}

Result<HostPort> parse_host_port(const std::string& text) {
  HostPort out;
  std::string port_text;
  bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    auto close = text.find(']');
    if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return Status(Errc::invalid_argument,
                    "'" + text + "' is not host:port (IPv6 needs the form [::1]:7100)");
    out.host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos)
      return Status(Errc::invalid_argument, "'" + text + "' has no port; write host:port");
    out.host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (out.host.find(':') != std::string::npos)
      return Status(Errc::invalid_argument,
                    "'" + text + "': put IPv6 addresses in brackets, e.g. [::1]:7100");
  }
  if (!valid_host_chars(out.host, bracketed))
    return Status(Errc::invalid_argument, "'" + text + "' has an empty or invalid host");
  if (port_text.empty() || port_text.size() > 5)
    return Status(Errc::invalid_argument, "'" + text + "' has an invalid port");
  unsigned long port = 0;
  for (char c : port_text) {
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return Status(Errc::invalid_argument, "'" + text + "' has a non-numeric port");
    port = port * 10 + static_cast<unsigned long>(c - '0');
  }
  if (port == 0 || port > 65535)
    return Status(Errc::invalid_argument, "'" + text + "': port must be in 1..65535");
  out.port = static_cast<uint16_t>(port);
  return out;
}

bool is_wildcard_host(const std::string& host) {
  return host == "0.0.0.0" || host == "::" || host == "*";
}

}  // namespace ezone
