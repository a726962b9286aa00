#include "zones/sharding_key.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ezone {
namespace {

Status bad(const std::string& message) { return Status(Errc::invalid_argument, message); }

// Parses a finite decimal number that spans the whole text.
bool parse_double(std::string_view text, double* out) {
  if (text.empty() || text.size() > 32) return false;
  std::string buf(text);
  char* end = nullptr;
  *out = std::strtod(buf.c_str(), &end);
  return end == buf.c_str() + buf.size() && std::isfinite(*out);
}

}  // namespace

const char* sharding_key_kind_name(ShardingKey::Kind kind) {
  switch (kind) {
    case ShardingKey::Kind::geo: return "geo";
    case ShardingKey::Kind::merchant: return "merchant";
    case ShardingKey::Kind::order: return "order";
    case ShardingKey::Kind::ezone: return "ezone";
  }
  return "unknown";
}

std::string ShardingKey::to_string() const {
  if (kind == Kind::ezone) return "ezone=" + ezone;
  if (kind != Kind::geo) return std::string(sharding_key_kind_name(kind)) + "=" + std::to_string(id);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "geo=%.6f,%.6f", point.lat, point.lon);
  return buf;
}

Result<GeoPoint> parse_geo_point(std::string_view text) {
  auto comma = text.find(',');
  if (comma == std::string_view::npos) return bad("geo key needs LAT,LON, got '" + std::string(text) + "'");
  std::string_view lat_text = text.substr(0, comma);
  std::string_view lon_text = text.substr(comma + 1);
  while (!lon_text.empty() && lon_text.front() == ' ') lon_text.remove_prefix(1);
  GeoPoint p;
  if (!parse_double(lat_text, &p.lat)) return bad("latitude '" + std::string(lat_text) + "' is not a number");
  if (!parse_double(lon_text, &p.lon)) return bad("longitude '" + std::string(lon_text) + "' is not a number");
  if (p.lat < -90 || p.lat > 90) return bad("latitude " + std::string(lat_text) + " is outside -90..90");
  if (p.lon < -180 || p.lon > 180) return bad("longitude " + std::string(lon_text) + " is outside -180..180");
  return p;
}

Result<uint64_t> parse_key_id(std::string_view digits, const char* what) {
  if (digits.empty() || digits.size() > 20)
    return bad(std::string(what) + " id must be 1-20 decimal digits, got '" + std::string(digits) + "'");
  uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9')
      return bad(std::string(what) + " id '" + std::string(digits) + "' is not a decimal number");
    uint64_t next = value * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != value) return bad(std::string(what) + " id '" + std::string(digits) + "' is too large");
    value = next;
  }
  return value;
}

Result<ShardingKey> parse_sharding_key(std::string_view text) {
  auto eq = text.find('=');
  if (eq == std::string_view::npos)
    return bad("sharding key '" + std::string(text) + "' must look like geo=LAT,LON, merchant=ID, order=ID or ezone=NAME");
  std::string_view kind = text.substr(0, eq);
  std::string_view value = text.substr(eq + 1);
  ShardingKey key;
  if (kind == "geo") {
    auto p = parse_geo_point(value);
    if (!p) return p.status();
    key.point = *p;
    return key;
  }
  if (kind == "ezone") {
    const bool ok = !value.empty() && value.size() <= 32 &&
                    value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") == std::string_view::npos;
    if (!ok) return bad("ezone key '" + std::string(value) + "' must be 1-32 characters of [a-z0-9_-]");
    key.kind = ShardingKey::Kind::ezone;
    key.ezone = std::string(value);
    return key;
  }
  if (kind != "merchant" && kind != "order")
    return bad("unknown sharding key kind '" + std::string(kind) + "'; use geo, merchant, order or ezone");
  key.kind = kind == "merchant" ? ShardingKey::Kind::merchant : ShardingKey::Kind::order;
  auto id = parse_key_id(value, kind == "merchant" ? "merchant" : "order");
  if (!id) return id.status();
  key.id = *id;
  return key;
}

}  // namespace ezone
