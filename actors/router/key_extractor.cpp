#include "actors/router/key_extractor.hpp"

#include <nlohmann/json.hpp>

#include "core/assert.hpp"
#include "core/json.hpp"

namespace ezone {
namespace {

Status missing(const std::string& where) { return Status(Errc::not_found, "no sharding key in " + where); }

Status malformed(const std::string& where, const std::string& what) {
  return Status(Errc::invalid_argument, where + ": " + what);
}

// The body as a JSON object, or why it is not one. The parse never throws.
Result<nlohmann::json> body_object(const HttpRequest& request) {
  if (request.body.empty()) return missing("the request body (it is empty)");
  auto doc = parse_json(request.body);
  if (!doc) return malformed("request body", "is not valid JSON: " + doc.status().message());
  if (!doc->is_object()) return malformed("request body", "must be a JSON object");
  return doc;
}

Result<double> coordinate(const nlohmann::json& doc, const std::string& field, double limit) {
  auto it = doc.find(field);
  if (it == doc.end()) return missing("body field '" + field + "'");
  if (!it->is_number()) return malformed("body field '" + field + "'", "must be a number, got " + it->dump());
  double value = it->get<double>();
  if (value < -limit || value > limit)
    return malformed("body field '" + field + "'", it->dump() + " is outside -" + std::to_string(int(limit)) +
                                                       ".." + std::to_string(int(limit)));
  return value;
}

}  // namespace

const std::string_view* find_path_param(const PathParams& params, std::string_view name) {
  for (const auto& [k, v] : params)
    if (k == name) return &v;
  return nullptr;
}

KeyExtractor key_from_header() {
  return [](const HttpRequest& request, const PathParams&) -> Result<ShardingKey> {
    const std::string* value = request.find_header("x-ezone-key");
    if (!value) return missing("header X-Ezone-Key");
    auto key = parse_sharding_key(*value);
    if (!key) return malformed("header X-Ezone-Key", key.status().message());
    return key;
  };
}

KeyExtractor key_from_path(std::string param, ShardingKey::Kind kind) {
  EZONE_ASSERT(kind != ShardingKey::Kind::geo, "key_from_path takes merchant or order ids");
  return [param = std::move(param), kind](const HttpRequest&, const PathParams& params) -> Result<ShardingKey> {
    const std::string_view* value = find_path_param(params, param);
    if (!value) return missing("path parameter {" + param + "}");
    auto id = parse_key_id(*value, sharding_key_kind_name(kind));
    if (!id) return malformed("path parameter {" + param + "}", id.status().message());
    ShardingKey key;
    key.kind = kind;
    key.id = *id;
    return key;
  };
}

KeyExtractor key_from_body_geo(std::string lat_field, std::string lon_field) {
  return [lat_field = std::move(lat_field), lon_field = std::move(lon_field)](
             const HttpRequest& request, const PathParams&) -> Result<ShardingKey> {
    auto doc = body_object(request);
    if (!doc) return doc.status();
    auto lat = coordinate(*doc, lat_field, 90);
    if (!lat) return lat.status();
    auto lon = coordinate(*doc, lon_field, 180);
    if (!lon) return lon.status();
    ShardingKey key;
    key.kind = ShardingKey::Kind::geo;
    key.point = GeoPoint{*lat, *lon};
    return key;
  };
}

KeyExtractor key_from_body_id(std::string field, ShardingKey::Kind kind) {
  EZONE_ASSERT(kind != ShardingKey::Kind::geo, "key_from_body_id takes merchant or order ids");
  return [field = std::move(field), kind](const HttpRequest& request, const PathParams&) -> Result<ShardingKey> {
    auto doc = body_object(request);
    if (!doc) return doc.status();
    auto it = doc->find(field);
    if (it == doc->end()) return missing("body field '" + field + "'");
    std::string digits;
    if (it->is_number_unsigned()) digits = std::to_string(it->get<uint64_t>());
    else if (it->is_string()) digits = it->get<std::string>();
    else return malformed("body field '" + field + "'", "must be a non-negative integer or a string of digits, got " + it->dump());
    auto id = parse_key_id(digits, sharding_key_kind_name(kind));
    if (!id) return malformed("body field '" + field + "'", id.status().message());
    ShardingKey key;
    key.kind = kind;
    key.id = *id;
    return key;
  };
}

KeyExtractor first_key_of(std::vector<KeyExtractor> extractors) {
  return [extractors = std::move(extractors)](const HttpRequest& request,
                                              const PathParams& params) -> Result<ShardingKey> {
    std::string looked;
    for (const auto& extract : extractors) {
      auto key = extract(request, params);
      if (key || key.status().code() != Errc::not_found) return key;
      looked += (looked.empty() ? "" : "; ") + key.status().message();
    }
    return Status(Errc::not_found, looked.empty() ? "no key extractor configured" : looked);
  };
}

KeyExtractor key_to_ezone(std::string ezone) {
  ShardingKey key;
  key.kind = ShardingKey::Kind::ezone;
  key.ezone = std::move(ezone);
  return [key](const HttpRequest&, const PathParams&) -> Result<ShardingKey> { return key; };
}

}  // namespace ezone
