#include "config/soa_config.hpp"

#include <initializer_list>
#include <set>

#include "config/node_config.hpp"
#include "config/toml_reader.hpp"
#include "zones/soa_registration.hpp"

namespace ezone {

const char* soa_mode_name(SoaMode mode) {
  switch (mode) {
    case SoaMode::orig: return "orig";
    case SoaMode::prefix: return "prefix";
    case SoaMode::route: return "route";
  }
  return "unknown";
}

const char* soa_fallback_name(SoaFallback fallback) {
  switch (fallback) {
    case SoaFallback::none: return "none";
    case SoaFallback::reads: return "reads";
    case SoaFallback::all: return "all";
  }
  return "unknown";
}

namespace config_internal {
namespace {

// The ezones a service may name: this node's and its peers'.
std::set<std::string> cluster_zones(const NodeConfig& c) {
  std::set<std::string> zones{c.ezone};
  for (const auto& p : c.peers) zones.insert(p.ezone);
  return zones;
}

std::string zone_list(const std::set<std::string>& zones) {
  std::string out;
  for (const auto& z : zones) out += (out.empty() ? "" : ", ") + z;
  return out;
}

// An optional string key that must be one of choices; *out keeps its
// default when the key is absent.
template <class Enum>
Status read_choice(TableReader& r, const std::string& key, std::initializer_list<std::pair<const char*, Enum>> choices,
                   const std::string& what, Enum* out) {
  std::string fix = "use one of:";
  for (const auto& [name, value] : choices) fix += std::string(" \"") + name + "\"";
  std::string text;
  EZONE_TRY(r.string(key, false, &text, fix));
  if (!r.get(key)) return Status::ok();
  for (const auto& [name, value] : choices) {
    if (text != name) continue;
    *out = value;
    return Status::ok();
  }
  return r.error(key, "'" + text + "' is not " + what, fix);
}

// Without registration, a service needs instances in the file; with it,
// they are optional (instances may all register).
Status read_instances(const toml::node* node, const std::string& key, const NodeConfig& c,
                      SoaServiceConfig& service) {
  const std::string fix = c.soa.registration
                              ? "write [soa.services.instances] with one array of \"host:port\" per ezone, "
                                "e.g. bj = [\"127.0.0.1:7301\"], or leave it out and let instances register"
                              : "write [soa.services.instances] with one array of \"host:port\" per ezone, "
                                "e.g. bj = [\"127.0.0.1:7301\"], or set [soa] registration = true";
  if (!node) {
    if (c.soa.registration) return Status::ok();
    return config_error(c.source, key, "missing", fix);
  }
  const toml::table* table = node->as_table();
  if (!table) return config_error(c.source, key, "must be a table of ezone = [\"host:port\", ...]", fix);
  auto zones = cluster_zones(c);
  size_t total = 0;
  for (const auto& [k, v] : *table) {
    std::string zone(k.str());
    std::string zone_key = key + "." + zone;
    if (!zones.count(zone))
      return config_error(c.source, zone_key, "'" + zone + "' is not an ezone of this cluster",
                          "use one of: " + zone_list(zones));
    const toml::array* list = v.as_array();
    if (!list) return config_error(c.source, zone_key, "must be an array of \"host:port\"", fix);
    if (list->size() > kSoaInstancesPerZoneMax)
      return config_error(c.source, zone_key, std::to_string(list->size()) + " instances",
                          "list at most " + std::to_string(kSoaInstancesPerZoneMax) + " per ezone");
    std::vector<HostPort> addresses;
    std::set<std::string> seen;
    for (size_t i = 0; i < list->size(); ++i) {
      std::string item_key = zone_key + "[" + std::to_string(i) + "]";
      auto text = list->get(i)->value<std::string>();
      if (!text) return config_error(c.source, item_key, "must be a string \"host:port\"", fix);
      auto address = parse_host_port(*text);
      if (!address) return config_error(c.source, item_key, address.status().message(), fix);
      if (address->port == 0 || is_wildcard_host(address->host))
        return config_error(c.source, item_key, "'" + *text + "' is not an address an instance listens on",
                            "name the instance's host and its port, e.g. \"127.0.0.1:7301\"");
      if (!seen.insert(address->to_string()).second)
        return config_error(c.source, item_key, "'" + *text + "' is listed twice", "list each instance once");
      addresses.push_back(*address);
    }
    total += addresses.size();
    service.instances.emplace_back(zone, std::move(addresses));
  }
  if (total == 0 && !c.soa.registration) return config_error(c.source, key, "no instance in any ezone", fix);
  return Status::ok();
}

Status read_service(const toml::node& node, size_t index, NodeConfig& c) {
  std::string path = "soa.services[" + std::to_string(index) + "]";
  const toml::table* table = node.as_table();
  if (!table)
    return config_error(c.source, path, "must be a table", "write each service as a [[soa.services]] table");
  TableReader r(table, path, c.source);
  SoaServiceConfig s;
  EZONE_TRY(r.string("name", true, &s.name, "name the service, e.g. name = \"pricing\""));
  if (!valid_soa_service_name(s.name))
    return r.error("name", "'" + s.name + "' is not a service name",
                   "use 1-64 of [a-z0-9_-], starting with a letter or digit");
  for (const auto& other : c.soa.services)
    if (other.name == s.name) return r.error("name", "service '" + s.name + "' is declared twice", "declare it once");
  EZONE_TRY(read_choice(r, "mode", {{"orig", SoaMode::orig}, {"prefix", SoaMode::prefix}, {"route", SoaMode::route}},
                        "a registration mode", &s.mode));
  EZONE_TRY(r.string("master", false, &s.master, "name the ezone that masters this global-zone service"));
  auto zones = cluster_zones(c);
  if (r.get("master") && s.mode != SoaMode::route)
    return r.error("master", "only a route-mode service has a master",
                   "set mode = \"route\", or remove master");
  if (r.get("master") && !zones.count(s.master))
    return r.error("master", "'" + s.master + "' is not an ezone of this cluster", "use one of: " + zone_list(zones));
  s.fallback = s.mode == SoaMode::orig ? SoaFallback::all : SoaFallback::reads;
  EZONE_TRY(read_choice(r, "fallback",
                        {{"none", SoaFallback::none}, {"reads", SoaFallback::reads}, {"all", SoaFallback::all}},
                        "a fallback", &s.fallback));
  EZONE_TRY(r.string("health_path", false, &s.health_path, "set a path such as \"/health\""));
  if (s.health_path.empty() || s.health_path[0] != '/' ||
      s.health_path.find_first_of(" \r\n\t") != std::string::npos)
    return r.error("health_path", "'" + s.health_path + "' is not a path", "set a path such as \"/health\"");
  EZONE_TRY(r.boolean("tls", &s.tls));
  EZONE_TRY(read_instances(r.get("instances"), path + ".instances", c, s));
  EZONE_TRY(r.no_unknown_keys("name, mode, master, fallback, health_path, tls, instances"));
  c.soa.services.push_back(std::move(s));
  return Status::ok();
}

}  // namespace

Status read_soa(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "soa", c.source, &table));
  if (!table) return Status::ok();
  TableReader r(table, "soa", c.source);
  SoaSettings& s = c.soa;
  EZONE_TRY(r.integer("probe_interval_ms", &s.probe_interval_ms, 50, 60000));
  EZONE_TRY(r.integer("probe_timeout_ms", &s.probe_timeout_ms, 10, 60000));
  EZONE_TRY(r.integer("down_after", &s.down_after, 1, 100));
  EZONE_TRY(r.integer("call_timeout_ms", &s.call_timeout_ms, 10, 600000));
  EZONE_TRY(r.integer("connections_max", &s.connections_max, 1, 100000));
  EZONE_TRY(r.integer("attempts_max", &s.attempts_max, 1, 16));
  EZONE_TRY(r.boolean("registration", &s.registration));
  EZONE_TRY(r.integer("registration_ttl_max_s", &s.registration_ttl_max_s, 1, 3600));
  EZONE_TRY(r.integer("registered_per_zone_max", &s.registered_per_zone_max, 1, 1024));
  const std::string fix = "declare each service as a [[soa.services]] table with name, mode and instances";
  const toml::node* services = r.get("services");
  if (!services) return r.error("services", "missing: [soa] without a service", fix);
  const toml::array* list = services->as_array();
  if (!list || list->empty()) return r.error("services", "must be a non-empty array of tables", fix);
  if (list->size() > kSoaServicesMax)
    return r.error("services", std::to_string(list->size()) + " services",
                   "declare at most " + std::to_string(kSoaServicesMax));
  for (size_t i = 0; i < list->size(); ++i) EZONE_TRY(read_service(*list->get(i), i, c));
  std::string needs_ca;
  for (const auto& service : s.services)
    if (service.tls && needs_ca.empty()) needs_ca = "service '" + service.name + "' has tls = true";
  EZONE_TRY(read_client_tls(r, c.source, "the instances'", needs_ca, &s.tls));
  return r.no_unknown_keys(
      "probe_interval_ms, probe_timeout_ms, down_after, call_timeout_ms, connections_max, attempts_max, "
      "registration, registration_ttl_max_s, registered_per_zone_max, ca_file, cert_file, key_file, services");
}

}  // namespace config_internal
}  // namespace ezone
