// Reading the takeout API's JSON request bodies. Bodies come from clients,
// so every reader returns a clear invalid_argument naming the field and what
// is wrong with it; nothing here throws or aborts on bad input.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/status.hpp"

namespace ezone::takeout {

// The body as a JSON object. invalid_argument for malformed JSON (with the
// parser's position) or a body that is not an object.
Result<nlohmann::json> parse_object(std::string_view body);

// A string field of 1..max_bytes bytes. Missing, not a string, empty or too
// long: invalid_argument.
Result<std::string> string_field(const nlohmann::json& body, const char* name, size_t max_bytes);

// An integer field in [min, max]. Floats ("1.5"), strings, booleans and
// values out of range are refused.
Result<int64_t> int_field(const nlohmann::json& body, const char* name, int64_t min, int64_t max);

// An id field: a positive integer below 2^63, as a JSON number or a string
// of decimal digits (clients in JavaScript send ids over 2^53 as strings).
Result<int64_t> id_field(const nlohmann::json& body, const char* name);

// A finite number field in [min, max] (an integer is accepted too).
Result<double> number_field(const nlohmann::json& body, const char* name, double min, double max);

// An id from a path segment: decimal digits, positive, below 2^63.
Result<int64_t> parse_path_id(std::string_view text, const char* what);

}  // namespace ezone::takeout
