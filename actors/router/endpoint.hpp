// Endpoints of the API router: a method and a path pattern, the entrance the
// request comes through (user app, merchant portal, rider app, internal),
// how to find its sharding key, and the handler that serves it where the
// key's shard is owned.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "actors/http/http_types.hpp"
#include "actors/router/key_extractor.hpp"
#include "core/status.hpp"

namespace ezone {

enum class Entrance { user, merchant, rider, internal };
constexpr int kEntrances = 4;
// "user", "merchant", "rider", "internal": metric labels and logs.
const char* entrance_name(Entrance entrance);

// Whether serving a request writes its shard. Reads are served even while
// the shard is write-forbidden (the owner's data is still there); writes
// are then held or answered 503.
enum class Access { read, write };

struct Endpoint {
  std::string method;   // "GET", "POST", ... (exact, upper case)
  // Literal segments and whole-segment parameters, e.g.
  // "/v1/orders/{id}/accept". Parameters match one non-empty segment. A
  // last segment {name...} matches the rest of the path, zero or more
  // segments: "/soa/v1/pricing/{rest...}" matches "/soa/v1/pricing",
  // "/soa/v1/pricing/" and "/soa/v1/pricing/a/b" (rest = "", "" and "a/b").
  std::string pattern;
  Entrance entrance = Entrance::user;
  // Empty: the endpoint is not sharded and is always served locally.
  KeyExtractor key = key_from_header();
  Access access = Access::write;
  // Serves the request on the owning ezone. Answers exactly once.
  AsyncHttpHandler handler;
};

// The endpoints of one router, matched in registration order.
class EndpointRegistry {
 public:
  // Requires: methods non-empty; patterns starting with '/', with parameter
  // segments written {name} (name non-empty, [a-z0-9_], unique within the
  // pattern; {name...} only last); a handler on each; no two endpoints
  // with the same method and the same pattern shape. Returns invalid_argument naming the endpoint.
  static Result<EndpointRegistry> create(std::vector<Endpoint> endpoints);

  struct Match {
    const Endpoint* endpoint = nullptr;  // nullptr: nothing matched
    bool other_method = false;           // the path matched another method (405)
    PathParams params;                   // views into the pattern and `path`
  };
  // Matches a path (no query string). A HEAD with no HEAD endpoint of its
  // own takes the path's GET endpoint: its handler runs (and sees "HEAD"),
  // and the server sends the answer's headers without its body, as RFC 9110
  // asks of a server that serves GET. Never allocates beyond params.
  Match match(std::string_view method, std::string_view path) const;

  size_t size() const { return entries_.size(); }

 private:
  struct Segment {
    std::string text;  // literal text, or the parameter name
    bool param = false;
    bool rest = false;  // {name...}: the rest of the path (always the last)
  };
  struct Entry {
    Endpoint endpoint;
    std::vector<Segment> segments;
  };
  static bool match_segments(const std::vector<Segment>& segments, std::string_view path, PathParams& params);

  std::vector<std::unique_ptr<Entry>> entries_;  // stable addresses for Match
};

}  // namespace ezone
