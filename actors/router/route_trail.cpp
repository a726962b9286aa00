#include "actors/router/route_trail.hpp"

#include <string_view>

namespace ezone {
namespace {

Status bad_header(const char* name, const std::string& value, const std::string& why) {
  return Status(Errc::invalid_argument, std::string("header ") + name + " '" + value + "': " + why);
}

// A non-negative decimal of at most 18 digits (fits int64 with room).
bool parse_count(std::string_view text, int64_t* out) {
  if (text.empty() || text.size() > 18) return false;
  int64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *out = value;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status parse_via(const std::string& text, std::vector<ViaEntry>& via) {
  std::string_view rest(text);
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = trim(rest.substr(0, comma));
    rest.remove_prefix(comma == std::string_view::npos ? rest.size() : comma + 1);
    size_t at = item.find('@');
    int64_t epoch = 0;
    if (at == 0 || at == std::string_view::npos || !parse_count(item.substr(at + 1), &epoch))
      return bad_header("X-Ezone-Via", text, "entries must be ezone@epoch, comma-separated");
    if (via.size() >= kViaEntriesMax)
      return bad_header("X-Ezone-Via", text, "more than " + std::to_string(kViaEntriesMax) + " entries");
    via.push_back(ViaEntry{std::string(item.substr(0, at)), epoch});
  }
  return Status::ok();
}

}  // namespace

Result<RouteTrail> parse_route_trail(const HttpRequest& request) {
  RouteTrail trail;
  int64_t value = 0;
  if (const std::string* hops = request.find_header("x-ezone-hops")) {
    if (!parse_count(trim(*hops), &value) || value > 1000)
      return bad_header("X-Ezone-Hops", *hops, "must be a decimal count of forwards (0..1000)");
    trail.hops = static_cast<int>(value);
  }
  if (const std::string* epoch = request.find_header("x-ezone-epoch")) {
    if (!parse_count(trim(*epoch), &value)) return bad_header("X-Ezone-Epoch", *epoch, "must be a decimal epoch");
    trail.sender_epoch = value;
  }
  if (const std::string* via = request.find_header("x-ezone-via")) {
    if (Status s = parse_via(*via, trail.via); !s) return s;
  }
  return trail;
}

bool apply_peer_token(HttpRequest& request, const SharedToken& token, RouteTrail* trail) {
  auto& headers = request.headers;
  bool matched = false;
  for (auto it = headers.begin(); it != headers.end();) {
    if (it->first != kPeerTokenHeader) {
      ++it;
      continue;
    }
    matched = token.accepts(it->second) || matched;
    it = headers.erase(it);
  }
  trail->from_peer = token.empty() || matched;
  if (trail->from_peer) return false;
  bool claimed = trail->sender_epoch != 0 || !trail->via.empty();
  trail->sender_epoch = 0;
  return claimed;
}

bool is_routing_loop(const RouteTrail& trail, const std::string& self, Epoch epoch) {
  for (const auto& entry : trail.via)
    if (entry.ezone == self && entry.epoch >= epoch) return true;
  return false;
}

void stamp_forward(HttpRequest& request, const RouteTrail& trail, const std::string& self, Epoch epoch,
                   const std::string& peer_token) {
  std::string via;
  for (const auto& entry : trail.via) via += entry.ezone + "@" + std::to_string(entry.epoch) + ",";
  via += self + "@" + std::to_string(epoch);
  request.set_header("x-ezone-hops", std::to_string(trail.hops + 1));
  request.set_header("x-ezone-via", std::move(via));
  request.set_header("x-ezone-epoch", std::to_string(epoch));
  if (!peer_token.empty()) request.set_header(kPeerTokenHeader, peer_token);
}

}  // namespace ezone
