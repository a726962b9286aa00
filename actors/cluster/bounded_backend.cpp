#include "actors/cluster/bounded_backend.hpp"

#include <sys/socket.h>

#include <caf/io/middleman.hpp>
#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/scribe_impl.hpp>

#include "core/metrics.hpp"

namespace ezone {
namespace {

namespace net = caf::io::network;

// A scribe (one TCP connection) that refuses to allocate a read buffer
// larger than its limit. CAF asks for the payload's exact size right after
// reading a header; a size over the limit shuts the socket down instead, so
// the next read sees end of stream and CAF closes the connection through
// its ordinary path (closing it from here would re-enter the broker that is
// handling this connection's data).
class BoundedScribe final : public net::scribe_impl {
 public:
  BoundedScribe(net::default_multiplexer& mx, net::native_socket fd, const ClusterWireLimits& limits)
      : scribe_impl(mx, fd), limits_(limits) {}

  void configure_read(caf::io::receive_policy::config config) override {
    if (refused_) return scribe_impl::configure_read({caf::io::receive_policy_flag::at_most, 1});
    const bool handshake = payloads_ == 0;
    const size_t limit = handshake ? limits_.handshake_bytes_max : limits_.frame_bytes_max;
    // Reads of a BASP header are 32 bytes; anything bigger is a payload.
    if (config.second > kHeaderBytes) ++payloads_;
    if (config.second > limit) {
      refused_ = true;
      if (limits_.refused) limits_.refused->inc();
      if (limits_.on_refused)
        limits_.on_refused("closed a cluster connection from " + addr() + ":" + std::to_string(port()) +
                           " that announced a " + std::to_string(config.second) + "-byte " +
                           (handshake ? "handshake" : "message") + " (limit " + std::to_string(limit) + ")");
      ::shutdown(stream_.fd(), SHUT_RDWR);
      config = {caf::io::receive_policy_flag::at_most, 1};
    }
    scribe_impl::configure_read(config);
  }

 private:
  static constexpr size_t kHeaderBytes = 32;
  const ClusterWireLimits& limits_;
  uint64_t payloads_ = 0;
  bool refused_ = false;
};

class BoundedMultiplexer final : public net::default_multiplexer {
 public:
  // Only ClusterSystemConfig loads this backend, so the config is one.
  explicit BoundedMultiplexer(caf::actor_system* sys)
      : default_multiplexer(sys), limits_(static_cast<const ClusterSystemConfig&>(sys->config()).limits) {}

  caf::io::scribe_ptr new_scribe(net::native_socket fd) override {
    caf::io::scribe_ptr ptr = caf::make_counted<BoundedScribe>(*this, fd, limits_);
    return ptr;
  }

 private:
  const ClusterWireLimits& limits_;  // lives in the config, which outlives the system
};

}  // namespace

ClusterSystemConfig::ClusterSystemConfig() { load<caf::io::middleman, BoundedMultiplexer>(); }

}  // namespace ezone
