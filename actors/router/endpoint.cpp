#include "actors/router/endpoint.hpp"

#include <set>

namespace ezone {
namespace {

Status bad_endpoint(const Endpoint& e, const std::string& why) {
  return Status(Errc::invalid_argument, "endpoint " + e.method + " " + e.pattern + ": " + why);
}

bool valid_param_name(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

// Splits the next segment off a path that starts with '/'.
std::string_view next_segment(std::string_view& rest) {
  rest.remove_prefix(1);  // the '/'
  size_t end = rest.find('/');
  std::string_view segment = rest.substr(0, end);
  rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  return segment;
}

// The pattern with every parameter replaced by "{}": two endpoints with the
// same shape would shadow each other.
std::string shape_of(const std::string& method, const std::string& pattern) {
  std::string out = method + " ";
  bool in_param = false;
  for (char c : pattern) {
    if (c == '{') in_param = true;
    if (!in_param) out += c;
    if (c == '}') {
      in_param = false;
      out += "{}";
    }
  }
  return out;
}

}  // namespace

const char* entrance_name(Entrance entrance) {
  switch (entrance) {
    case Entrance::user: return "user";
    case Entrance::merchant: return "merchant";
    case Entrance::rider: return "rider";
    case Entrance::internal: return "internal";
  }
  return "unknown";
}

Result<EndpointRegistry> EndpointRegistry::create(std::vector<Endpoint> endpoints) {
  EndpointRegistry registry;
  std::set<std::string> shapes;
  for (auto& e : endpoints) {
    if (e.method.empty()) return bad_endpoint(e, "method is empty");
    if (!e.handler) return bad_endpoint(e, "has no handler");
    if (e.pattern.empty() || e.pattern[0] != '/') return bad_endpoint(e, "pattern must start with '/'");
    auto entry = std::make_unique<Entry>();
    std::set<std::string> names;
    std::string_view rest(e.pattern);
    while (!rest.empty()) {
      std::string_view seg = next_segment(rest);
      bool param = seg.size() >= 2 && seg.front() == '{' && seg.back() == '}';
      if (!param && seg.find_first_of("{}") != std::string_view::npos)
        return bad_endpoint(e, "parameters must be whole segments like {id}");
      if (param) seg = seg.substr(1, seg.size() - 2);
      bool rest_param = param && seg.size() > 3 && seg.substr(seg.size() - 3) == "...";
      if (rest_param) seg.remove_suffix(3);
      if (rest_param && !rest.empty()) return bad_endpoint(e, "{" + std::string(seg) + "...} must be the last segment");
      if (param && !valid_param_name(seg)) return bad_endpoint(e, "parameter names are [a-z0-9_]+");
      if (param && !names.insert(std::string(seg)).second)
        return bad_endpoint(e, "parameter {" + std::string(seg) + "} appears twice");
      entry->segments.push_back(Segment{std::string(seg), param, rest_param});
    }
    if (!shapes.insert(shape_of(e.method, e.pattern)).second)
      return bad_endpoint(e, "another endpoint has the same method and path shape");
    entry->endpoint = std::move(e);
    registry.entries_.push_back(std::move(entry));
  }
  return registry;
}

bool EndpointRegistry::match_segments(const std::vector<Segment>& segments, std::string_view path,
                                      PathParams& params) {
  params.clear();
  std::string_view rest = path;
  for (const auto& segment : segments) {
    if (segment.rest) {
      if (!rest.empty()) rest.remove_prefix(1);  // the '/'
      params.emplace_back(segment.text, rest);
      return true;
    }
    if (rest.empty() || rest[0] != '/') return false;
    std::string_view value = next_segment(rest);
    if (segment.param) {
      if (value.empty()) return false;
      params.emplace_back(segment.text, value);
    } else if (value != segment.text) {
      return false;
    }
  }
  return rest.empty();
}

EndpointRegistry::Match EndpointRegistry::match(std::string_view method, std::string_view path) const {
  Match m;
  const bool head = method == "HEAD";
  const Endpoint* get_for_head = nullptr;  // HEAD is served by the path's GET endpoint when it has no HEAD one
  PathParams get_params;
  for (const auto& entry : entries_) {
    if (!match_segments(entry->segments, path, m.params)) continue;
    if (entry->endpoint.method == method) {
      m.endpoint = &entry->endpoint;
      return m;
    }
    if (head && !get_for_head && entry->endpoint.method == "GET") {
      get_for_head = &entry->endpoint;
      get_params = m.params;
      continue;
    }
    m.other_method = true;
  }
  if (get_for_head) {
    m.endpoint = get_for_head;
    m.params = std::move(get_params);
    m.other_method = false;
    return m;
  }
  m.params.clear();
  return m;
}

}  // namespace ezone
