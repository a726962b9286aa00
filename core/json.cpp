#include "core/json.hpp"

#include <nlohmann/json.hpp>

namespace ezone {

size_t json_too_deep_at(std::string_view text, int max_depth) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return std::string_view::npos;
}

Result<nlohmann::json> parse_json(std::string_view text, int max_depth) {
  if (size_t at = json_too_deep_at(text, max_depth); at != std::string_view::npos)
    return Status(Errc::parse_error,
                  "nested deeper than " + std::to_string(max_depth) + " levels at byte " + std::to_string(at));
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::exception& e) {
    // e.what() reads "[json.exception.parse_error.101] parse error at line 1,
    // column 3: ..."; the id in brackets means nothing to a person.
    std::string why = e.what();
    if (size_t end = why.find("] "); why.rfind("[json.exception.", 0) == 0 && end != std::string::npos)
      why.erase(0, end + 2);
    return Status(Errc::parse_error, why);
  }
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

nlohmann::json parse_json_or_discarded(std::string_view text, int max_depth) {
  auto parsed = parse_json(text, max_depth);
  if (!parsed) return nlohmann::json(nlohmann::json::value_t::discarded);
  return std::move(parsed).value();
}

}  // namespace ezone
