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
//   X-Ezone-Peer: TOKEN        the cluster's peer token (RouterConfig::peer_token),
//                              added by a router that forwards; removed by
//                              the router that receives it, so it never
//                              reaches a handler or goes further unchanged
//
// Trust. Hops and Via can only hurt the request that carries them (a 508
// sooner), so they are read from every request. X-Ezone-Epoch and Via also
// make a router hold a request (rules 2 and the unknown-key hold), and holds
// count against holds_max: a client claiming a future epoch on many
// requests at once could fill the hold queue, and then held requests of
// other clients (a shard being moved) would get their 503 at once. So with
// a peer token configured, a request that does not carry it is routed as
// if it had no X-Ezone-Epoch and is never held for its Via (counted as
// ezone_router_untrusted_trails_total when it claimed either). Without a
// token every request's trail is trusted, as between sites behind an edge
// proxy that strips these headers from clients.
//
// A site whose peer has a different token (or none) still routes: its
// forwards are not held there, so during a route change a request can
// bounce and end as 508 (rules 1 and 3 still hold), never loop.
#pragma once

#include <string>
#include <vector>

#include "actors/http/http_types.hpp"
#include "core/ids.hpp"
#include "core/shared_token.hpp"
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
  bool from_peer = true;      // false: the peer token was required and missing
};

// The header that carries the peer token between routers (lower-cased).
constexpr const char* kPeerTokenHeader = "x-ezone-peer";


// Longest Via list accepted; a request that has passed more routers than
// this is malformed (hop limits are far smaller).
constexpr size_t kViaEntriesMax = 32;

// Reads the trail headers. Missing headers mean a request fresh from a
// client. Returns invalid_argument naming the header when one is malformed
// (not a decimal count, an entry that is not ezone@epoch, too many
// entries, a negative epoch).
Result<RouteTrail> parse_route_trail(const HttpRequest& request);

// Applies the trust rule above: removes X-Ezone-Peer from request and
// sets trail->from_peer (always true when token is empty). A trail not
// from a peer loses its sender_epoch. Returns true when the request
// claimed an epoch or a Via that is thereby not trusted.
bool apply_peer_token(HttpRequest& request, const SharedToken& token, RouteTrail* trail);

// Rule 3: true if self already routed this request at an epoch >= epoch.
bool is_routing_loop(const RouteTrail& trail, const std::string& self, Epoch epoch);

// Sets the trail headers for forwarding request from self, routed at
// epoch: hops + 1, Via + self@epoch, X-Ezone-Epoch = epoch, and
// X-Ezone-Peer = peer_token when it is not empty.
void stamp_forward(HttpRequest& request, const RouteTrail& trail, const std::string& self, Epoch epoch,
                   const std::string& peer_token);

}  // namespace ezone
