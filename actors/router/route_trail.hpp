// RouteTrail: what a request says about the routers it has passed through,
// carried in headers that routers add when they forward it. These are the
// loop guard and the stale-route rule of the API router.
//
//   X-Ezone-Hops: 2            forwards made so far (a client sends none: 0)
//   X-Ezone-Via: bj@7,sh@8     each router that forwarded it, oldest first,
//                              with the route-table epoch it routed at
//   X-Ezone-Epoch: 8           the epoch of the router that forwarded it
//                              (a client may send the newest epoch it has
//                              seen; the same rule then applies)
//
// Rules, applied by every router to every request (see Router::route):
//  1. Hop limit. Hops over hops_max is answered 508 at once; a router also
//     answers 508 rather than forward when hops + 1 would pass hops_max.
//     Every forward adds one hop, so any ping-pong ends within hops_max
//     forwards, whatever the tables say.
//  2. Stale route. If the sender's epoch is newer than the receiver's
//     route table, the receiver must not route with its stale table (the
//     shard may have moved): it holds the request, bounded by hold_ms,
//     re-resolving until its epoch catches up, and answers 503 with
//     Retry-After when the hold runs out.
//  3. Loop. A router that finds itself in Via at an epoch >= its current
//     epoch has already routed this request with the same table it has now,
//     so routing it again would repeat the cycle: 508. If its epoch has
//     moved on since it was visited, its table changed, so it routes again.
//     (That is how a router with a newer epoch re-forwards a request that
//     an older table sent the wrong way, and how it comes back to a router
//     that has caught up, without being taken for a loop.)
//  4. Re-forward. A receiver whose table (at its own, possibly newer,
//     epoch) names another owner forwards the request on rather than serve
//     a route that the sender's older table chose.
//
// These headers are trusted between sites. A client that sends them can
// only change what happens to its own requests (a 508, or a hold bounded by
// hold_ms), but those holds count against the router's holds_max like any
// other: a client claiming a future epoch on many requests at once can fill
// the hold queue, and then held requests of other clients (a shard being
// moved) get their 503 at once instead of after a wait. An edge proxy in
// front of the ingress should strip them from clients it does not trust.
#pragma once

#include <string>
#include <vector>

#include "actors/http/http_types.hpp"
#include "core/ids.hpp"
#include "core/status.hpp"

namespace ezone {

struct ViaEntry {
  std::string ezone;
  Epoch epoch = 0;
};

struct RouteTrail {
  int hops = 0;
  std::vector<ViaEntry> via;  // oldest first
  Epoch sender_epoch = 0;     // 0: no X-Ezone-Epoch on the request
};

// Longest Via list accepted; a request that has passed more routers than
// this is malformed (hop limits are far smaller).
constexpr size_t kViaEntriesMax = 32;

// Reads the trail headers. Missing headers mean a request fresh from a
// client. Returns invalid_argument naming the header when one is malformed
// (not a decimal count, an entry that is not ezone@epoch, too many
// entries, a negative epoch).
Result<RouteTrail> parse_route_trail(const HttpRequest& request);

// Rule 3: true if self already routed this request at an epoch >= epoch.
bool is_routing_loop(const RouteTrail& trail, const std::string& self, Epoch epoch);

// Sets the trail headers for forwarding request from self, routed at
// epoch: hops + 1, Via + self@epoch, X-Ezone-Epoch = epoch.
void stamp_forward(HttpRequest& request, const RouteTrail& trail, const std::string& self, Epoch epoch);

}  // namespace ezone
