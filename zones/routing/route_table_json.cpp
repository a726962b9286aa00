// JSON codec of RouteTable. The text comes from etcd, which any operator
// with etcdctl can write, so decoding trusts nothing: every field is checked
// for presence, type and range, and the result goes through
// RouteTable::create's validation.
#include <initializer_list>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "zones/routing/route_table.hpp"

namespace ezone {
namespace {

using json = nlohmann::json;

// Our document is three levels deep; a deeper one is hostile or broken, and
// refusing it early bounds the parser's bookkeeping.
constexpr int kJsonDepthMax = 8;

Status bad(const std::string& path, const std::string& message) {
  return Status(Errc::parse_error, "route table JSON: " + path + ": " + message);
}

// Thrown from the parser callback to stop parsing; caught in parse_strict.
struct StrictParseError {
  std::string message;
};

// nlohmann keeps the last of duplicated keys; a route table with two "epoch"
// fields is ambiguous, so the callback refuses it (and over-deep nesting).
Result<json> parse_strict(const std::string& text) {
  std::vector<std::set<std::string>> open_objects;
  auto check = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kJsonDepthMax)
      throw StrictParseError{"nested deeper than " + std::to_string(kJsonDepthMax) + " levels"};
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == json::parse_event_t::key && !open_objects.empty()) {
      const auto& key = parsed.get_ref<const std::string&>();
      if (!open_objects.back().insert(key).second)
        throw StrictParseError{"key '" + key + "' appears twice in one object"};
    }
    return true;
  };
  try {
    return json::parse(text, check);
  } catch (const StrictParseError& e) {
    return bad("document", e.message);
  } catch (const json::exception& e) {
    return bad("document", std::string("not valid JSON: ") + e.what());
  }
}

Status expect_object(const json& j, const std::string& path,
                     std::initializer_list<const char*> keys) {
  if (!j.is_object()) return bad(path, std::string("expected an object, got ") + j.type_name());
  for (const char* key : keys)
    if (!j.contains(key)) return bad(path, std::string("missing field '") + key + "'");
  for (const auto& item : j.items()) {
    bool known = false;
    for (const char* key : keys) known = known || item.key() == key;
    if (!known) return bad(path + "." + item.key(), "unknown field");
  }
  return Status::ok();
}

Result<std::string> get_string(const json& j, const std::string& path) {
  if (!j.is_string()) return bad(path, std::string("expected a string, got ") + j.type_name());
  return j.get<std::string>();
}

Result<int64_t> get_int(const json& j, const std::string& path, int64_t min, int64_t max) {
  if (!j.is_number_integer())
    return bad(path, std::string("expected an integer, got ") + j.type_name());
  bool too_big = j.is_number_unsigned() &&
                 j.get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  int64_t value = too_big ? std::numeric_limits<int64_t>::max() : j.get<int64_t>();
  if (too_big || value < min || value > max)
    return bad(path, j.dump() + " is out of range " + std::to_string(min) + ".." +
                         std::to_string(max));
  return value;
}

Result<std::map<std::string, HostPort>> decode_ezones(const json& j) {
  if (!j.is_array()) return bad("ezones", std::string("expected an array, got ") + j.type_name());
  std::map<std::string, HostPort> sites;
  for (size_t i = 0; i < j.size(); ++i) {
    std::string path = "ezones[" + std::to_string(i) + "]";
    Status shape = expect_object(j[i], path, {"name", "site"});
    if (!shape) return shape;
    auto name = get_string(j[i]["name"], path + ".name");
    if (!name.ok()) return name.status();
    auto site_text = get_string(j[i]["site"], path + ".site");
    if (!site_text.ok()) return site_text.status();
    auto site = parse_host_port(*site_text);
    if (!site.ok()) return bad(path + ".site", site.status().message());
    if (!sites.emplace(*name, *site).second)
      return bad(path + ".name", "ezone '" + *name + "' is listed twice");
  }
  return sites;
}

Result<ShardRoute> decode_shard(const json& j, const std::string& path) {
  Status shape = expect_object(j, path, {"id", "name", "owner", "state"});
  if (!shape) return shape;
  ShardRoute route;
  auto id = get_int(j["id"], path + ".id", 0, kShardIdMax);
  if (!id.ok()) return id.status();
  route.shard = static_cast<ShardId>(*id);
  auto name = get_string(j["name"], path + ".name");
  if (!name.ok()) return name.status();
  route.name = std::move(name).value();
  auto owner = get_string(j["owner"], path + ".owner");
  if (!owner.ok()) return owner.status();
  route.owner = std::move(owner).value();
  auto state_text = get_string(j["state"], path + ".state");
  if (!state_text.ok()) return state_text.status();
  auto state = parse_shard_state(*state_text);
  if (!state.ok()) return bad(path + ".state", state.status().message());
  route.state = *state;
  return route;
}

Result<std::vector<ShardRoute>> decode_shards(const json& j) {
  if (!j.is_array()) return bad("shards", std::string("expected an array, got ") + j.type_name());
  if (j.size() > size_t{kShardIdMax} + 1)
    return bad("shards", std::to_string(j.size()) + " shards; at most " +
                             std::to_string(kShardIdMax + 1) + " fit the id space");
  std::vector<ShardRoute> shards;
  std::set<ShardId> ids;
  for (size_t i = 0; i < j.size(); ++i) {
    std::string path = "shards[" + std::to_string(i) + "]";
    auto route = decode_shard(j[i], path);
    if (!route.ok()) return route.status();
    if (!ids.insert(route->shard).second)
      return bad(path + ".id", "shard " + std::to_string(route->shard) + " is listed twice");
    shards.push_back(std::move(route).value());
  }
  return shards;
}

}  // namespace

std::string encode_route_table_json(const RouteTable& table) {
  nlohmann::ordered_json doc;
  doc["format"] = kRouteTableJsonFormat;
  doc["epoch"] = table.epoch();
  doc["ezones"] = nlohmann::ordered_json::array();
  for (const auto& [name, site] : table.sites())
    doc["ezones"].push_back({{"name", name}, {"site", site.to_string()}});
  doc["shards"] = nlohmann::ordered_json::array();
  for (const auto& route : table.shards())
    doc["shards"].push_back({{"id", route.shard},
                             {"name", route.name},
                             {"owner", route.owner},
                             {"state", shard_state_name(route.state)}});
  return doc.dump();
}

Result<RouteTable> decode_route_table_json(const std::string& text) {
  if (text.size() > kRouteTableJsonBytesMax)
    return bad("document", std::to_string(text.size()) + " bytes is over the limit of " +
                               std::to_string(kRouteTableJsonBytesMax));
  auto doc = parse_strict(text);
  if (!doc.ok()) return doc.status();
  Status shape = expect_object(*doc, "document", {"format", "epoch", "ezones", "shards"});
  if (!shape) return shape;
  auto format = get_int((*doc)["format"], "format", kRouteTableJsonFormat, kRouteTableJsonFormat);
  if (!format.ok())
    return bad("format", "unsupported format " + (*doc)["format"].dump() + "; this build reads " +
                             std::to_string(kRouteTableJsonFormat));
  auto epoch = get_int((*doc)["epoch"], "epoch", 1, std::numeric_limits<int64_t>::max());
  if (!epoch.ok()) return epoch.status();
  auto sites = decode_ezones((*doc)["ezones"]);
  if (!sites.ok()) return sites.status();
  auto shards = decode_shards((*doc)["shards"]);
  if (!shards.ok()) return shards.status();
  auto table = RouteTable::create(*epoch, std::move(shards).value(), std::move(sites).value());
  if (!table.ok()) return bad("document", table.status().message());
  return table;
}

}  // namespace ezone
