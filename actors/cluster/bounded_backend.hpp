// The CAF network backend of a node: CAF's own (default_multiplexer), with a
// bound on what a connection to the cluster port can make the node allocate.
//
// Why: CAF 0.17's BASP reads a 32-byte header and then allocates, and zeroes,
// a buffer of the payload length that header claims, up to 4 GiB, before it
// reads a byte of the payload. Anything that reaches the cluster port (a port
// scanner, a misdirected client, a faulty peer) could therefore make the node
// allocate gigabytes per connection: measured, eight 32-byte headers took the
// node's peak memory from 120 MB to 3.4 GB and stalled the multiplexer long
// enough for the peer to be declared down. CAF has no setting for this.
//
// With this backend a connection whose first payload (the BASP handshake,
// a few hundred bytes from a real peer) is announced over
// handshake_bytes_max, or any later payload over frame_bytes_max, is closed
// before the buffer is allocated; each is counted and reported. A real
// peer's messages are untouched.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <caf/actor_system_config.hpp>

namespace ezone {

class Counter;

struct ClusterWireLimits {
  // The first payload a connection announces: BASP's handshake.
  uint32_t handshake_bytes_max = 1u << 20;
  // Every later payload. A DRC batch is at most drc.batch_bytes_max (64 MiB)
  // plus one entry beyond it, which can be as large as a transaction.
  uint32_t frame_bytes_max = 1u << 30;
  // Counts refused connections (may be null).
  Counter* refused = nullptr;
  // Told about each refusal, on the multiplexer's thread; must not block.
  std::function<void(const std::string& why)> on_refused;
};

// An actor_system_config whose middleman runs on the bounded backend.
// The limits must be set before the actor_system is built from it.
class ClusterSystemConfig : public caf::actor_system_config {
 public:
  ClusterSystemConfig();
  ClusterWireLimits limits;
};

}  // namespace ezone
