// The cluster's peer token: a shared secret that a router adds to every
// request it forwards, so that the receiving router can tell a peer's
// route trail from a client's (actors/router/route_trail.hpp, "Trust").
// Configured as [router] peer_token or peer_token_file.
#pragma once

#include <cstddef>
#include <string>

#include "core/status.hpp"

namespace ezone {

// It travels as a header value: kPeerTokenBytesMin..kPeerTokenBytesMax
// visible ASCII characters, no spaces.
constexpr size_t kPeerTokenBytesMin = 16;
constexpr size_t kPeerTokenBytesMax = 256;

// invalid_argument naming the rule that token breaks.
Status check_peer_token(const std::string& token);

// Compares every byte whatever the first difference, so the time taken
// does not tell a client how much of a guess was right.
bool peer_token_equals(const std::string& sent, const std::string& token);

}  // namespace ezone
