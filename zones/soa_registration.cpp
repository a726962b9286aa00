#include "zones/soa_registration.hpp"

#include <tuple>

#include <nlohmann/json.hpp>

#include "core/ids.hpp"

namespace ezone {

bool valid_soa_service_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9'))) return false;
  for (char ch : name)
    if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-')) return false;
  return true;
}

bool SoaRegistration::operator<(const SoaRegistration& o) const {
  return std::tie(service, ezone, address.host, address.port) <
         std::tie(o.service, o.ezone, o.address.host, o.address.port);
}

std::string soa_instance_key(const SoaRegistration& r) {
  return kSoaInstancePrefix + r.service + "/" + r.ezone + "/" + r.address.to_string();
}

Result<SoaRegistration> parse_soa_instance_key(const std::string& key) {
  const std::string prefix = kSoaInstancePrefix;
  if (key.compare(0, prefix.size(), prefix) != 0)
    return Status(Errc::invalid_argument, "not under " + prefix);
  const std::string rest = key.substr(prefix.size());
  const size_t a = rest.find('/');
  const size_t b = a == std::string::npos ? a : rest.find('/', a + 1);
  if (b == std::string::npos || rest.find('/', b + 1) != std::string::npos)
    return Status(Errc::invalid_argument, "not <service>/<ezone>/<host:port>");
  SoaRegistration r;
  r.service = rest.substr(0, a);
  r.ezone = rest.substr(a + 1, b - a - 1);
  if (!valid_soa_service_name(r.service))
    return Status(Errc::invalid_argument, "'" + r.service.substr(0, 80) + "' is not a service name");
  if (!valid_ezone_name(r.ezone))
    return Status(Errc::invalid_argument, "'" + r.ezone.substr(0, 80) + "' is not an ezone name");
  auto address = parse_host_port(rest.substr(b + 1));
  if (!address) return address.status();
  if (is_wildcard_host(address->host))
    return Status(Errc::invalid_argument, "'" + address->to_string() + "' is not an address an instance listens on");
  r.address = *address;
  if (soa_instance_key(r) != key)  // one spelling per instance, so one key
    return Status(Errc::invalid_argument, "the address is not written as " + r.address.to_string());
  return r;
}

std::string soa_instance_value(const SoaRegistration& r, int64_t registered_wall_ms, int64_t ttl_s) {
  nlohmann::json doc{{"service", r.service},
                     {"ezone", r.ezone},
                     {"address", r.address.to_string()},
                     {"registered_wall_ms", registered_wall_ms},
                     {"ttl_s", ttl_s}};
  return doc.dump();
}

}  // namespace ezone
