// parse_json: the one way ezone parses JSON that comes from outside (HTTP
// bodies, etcd values, peers' replies, GeoJSON files).
//
// Why not nlohmann::json::parse directly: nlohmann parses and destroys
// deeply nested documents without recursion, but copying, comparing or
// dumping one recurses once per level. A 1 MiB body of "[[[[...]]]]" (half
// a million levels) therefore passed the parser and then overflowed the
// stack of whichever thread copied it or quoted it in an error message,
// killing the node. No input ezone reads nests deeper than a few levels
// (GeoJSON MultiPolygons reach 8), so documents deeper than kJsonDepthMax
// are refused before nlohmann sees them.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

#include "core/status.hpp"

namespace ezone {

// The deepest nesting of arrays and objects that parse_json accepts.
constexpr int kJsonDepthMax = 64;

// The byte offset of the bracket that first opens a level deeper than
// max_depth, or npos if the text never does. Brackets inside strings do not
// count. Linear in the text, allocates nothing; works on any bytes.
size_t json_too_deep_at(std::string_view text, int max_depth = kJsonDepthMax);

// Parses text as one JSON document. On failure: Errc::parse_error whose
// message says why ("nested deeper than 64 levels at byte N", or
// nlohmann's message with the byte position), without a "not JSON" prefix
// so that callers can word their own. Never throws.
Result<nlohmann::json> parse_json(std::string_view text, int max_depth = kJsonDepthMax);

// As parse_json, for callers that only check the shape of what they got
// (is_object() and so on) and word their own error: a document that fails
// comes back as a discarded value (is_discarded(), and not an object,
// array, string or number), as nlohmann::json::parse(text, nullptr, false)
// returns it.
nlohmann::json parse_json_or_discarded(std::string_view text, int max_depth = kJsonDepthMax);

// The compact text of value for a response, a log or a store. Strings that
// are not valid UTF-8 (a SQLite TEXT value, raw request bytes quoted in an
// error) get U+FFFD for each bad byte instead of nlohmann's exception, which
// turned bad input into a 500, or killed the thread that serialized it.
std::string dump_json(const nlohmann::json& value);

}  // namespace ezone
