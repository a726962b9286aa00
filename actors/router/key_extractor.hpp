// Key extractors: how an endpoint finds the sharding key of a request
// (DESIGN.md, "Requests carry"). The default reads the X-Ezone-Key header;
// others read an id from a path parameter or fields of a JSON body.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/http/http_types.hpp"
#include "core/status.hpp"
#include "zones/sharding_key.hpp"

namespace ezone {

// The values of a matched path pattern's {name} parameters, as views into
// the pattern and the request target: valid while both live.
using PathParams = std::vector<std::pair<std::string_view, std::string_view>>;

// The value of parameter name, or nullptr.
const std::string_view* find_path_param(const PathParams& params, std::string_view name);

// Finds the sharding key of a request. Returns
//   the key                 when the request carries a well-formed one;
//   not_found               when it carries none where this extractor looks
//                           (the router answers 400 "missing key");
//   invalid_argument        when it carries one that is malformed, with a
//                           message naming where it looked and what is wrong
//                           (the router answers 400 "malformed key").
// Runs on an I/O thread for every request: must not block.
using KeyExtractor = std::function<Result<ShardingKey>(const HttpRequest&, const PathParams&)>;

// The X-Ezone-Key header: "geo=LAT,LON", "merchant=ID" or "order=ID".
KeyExtractor key_from_header();
// Every request belongs to `ezone` (e.g. a global-zone table's master): it
// is served there and forwarded there from elsewhere.
KeyExtractor key_to_ezone(std::string ezone);
// A merchant or order id (kind must not be geo) from the path parameter
// param, e.g. {id} in "/v1/orders/{id}/accept".
KeyExtractor key_from_path(std::string param, ShardingKey::Kind kind);
// A geo point from numeric fields of a JSON object body, e.g.
// {"lat": 31.23, "lon": 121.47}.
KeyExtractor key_from_body_geo(std::string lat_field = "lat", std::string lon_field = "lon");
// A merchant or order id from a JSON body field holding a non-negative
// integer or a string of decimal digits (ids over 2^53 travel as strings).
KeyExtractor key_from_body_id(std::string field, ShardingKey::Kind kind);
// Tries each extractor in order and returns the first answer that is not
// not_found (so a malformed key stops the search: it is never skipped).
KeyExtractor first_key_of(std::vector<KeyExtractor> extractors);

}  // namespace ezone
