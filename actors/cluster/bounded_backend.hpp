// The CAF network backend of a node: CAF's own (default_multiplexer), with a
// bound on what a connection to the cluster port can make the node allocate,
// and, when asked, TLS on every cluster connection.
//
// Why the bound: CAF 0.17's BASP reads a 32-byte header and then allocates,
// and zeroes, a buffer of the payload length that header claims, up to
// 4 GiB, before it reads a byte of the payload. Anything that reaches the
// cluster port (a port scanner, a misdirected client, a faulty peer) could
// therefore make the node allocate gigabytes per connection: measured, eight
// 32-byte headers took the node's peak memory from 120 MB to 3.4 GB and
// stalled the multiplexer long enough for the peer to be declared down. CAF
// has no setting for this.
//
// With this backend a connection whose first payload (the BASP handshake,
// a few hundred bytes from a real peer) is announced over
// handshake_bytes_max, or any later payload over frame_bytes_max, is closed
// before the buffer is allocated; each is counted and reported. A real
// peer's messages are untouched.
//
// TLS (ClusterTls; [tls] cluster = true): every connection the node accepts
// or dials on the cluster port is TLS 1.2 or later, mutual, under the
// cluster's CA. An accepted connection must present a certificate the CA
// signed; a dialled one must present one that the CA signed and that names
// the host dialled (the peer's `cluster` address). A connection that fails
// the handshake is closed, counted and reported with the reason; BASP never
// sees its bytes. CAF's openssl module is not used: it replaces this
// backend's connections with its own, so the bound above would go.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <caf/actor_system_config.hpp>

#include "storage/net/tls.hpp"

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

struct ClusterTls {
  // Accepted connections: presents its certificate, and requires a client
  // certificate from the CA (a server context with a CA).
  net::TlsContextPtr server;
  // Dialled connections: checks the peer against the CA and the host
  // dialled, and presents its certificate (a client context with one).
  net::TlsContextPtr client;
  // Counts failed handshakes (may be null).
  Counter* handshake_failures = nullptr;
  // Told about each failed handshake, on the multiplexer's thread; must not
  // block.
  std::function<void(const std::string& why)> on_failure;
  bool enabled() const { return server != nullptr && client != nullptr; }
};

// An actor_system_config whose middleman runs on the bounded backend.
// The limits and TLS must be set before the actor_system is built from it.
class ClusterSystemConfig : public caf::actor_system_config {
 public:
  ClusterSystemConfig();
  ClusterWireLimits limits;
  ClusterTls tls;
};

}  // namespace ezone
