// ShardingKey: the routable value of a request (DESIGN.md vocabulary): a geo
// point, a merchant id or an order id. Written as text in the X-Ezone-Key
// header and in tools: "geo=31.23,121.47", "merchant=8812", "order=123...".
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/status.hpp"

namespace ezone {

struct GeoPoint {
  double lat = 0;  // degrees, -90..90
  double lon = 0;  // degrees, -180..180
};

struct ShardingKey {
  // ezone: not a shard's key but a zone's name: the request belongs to that
  // ezone (a global-zone table's master). It has no shard, so it is never
  // write-forbidden; it is forwarded like any key whose owner is elsewhere.
  enum class Kind { geo, merchant, order, ezone };
  Kind kind = Kind::geo;
  GeoPoint point;     // for geo
  uint64_t id = 0;    // for merchant and order
  std::string ezone;  // for ezone

  // The canonical text form, e.g. "geo=31.23,121.47".
  std::string to_string() const;
};

// Keys in one bulk locate request (the admin API's POST /admin/v1/locate);
// `ezctl locate --file` sends a longer list in several requests.
constexpr size_t kLocateKeysMax = 10000;

const char* sharding_key_kind_name(ShardingKey::Kind kind);

// Parses the text form. Fails with invalid_argument and a message that says
// what is wrong (unknown kind, not a number, latitude out of range, ...).
// Never reads past text; accepts no surrounding spaces except after commas.
Result<ShardingKey> parse_sharding_key(std::string_view text);

// Parses the parts on their own (for keys taken from a path or body).
Result<GeoPoint> parse_geo_point(std::string_view lat_comma_lon);
Result<uint64_t> parse_key_id(std::string_view digits, const char* what);

}  // namespace ezone
