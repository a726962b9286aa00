#include "tests/support/ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <string>

#include "core/assert.hpp"

namespace ezone::test {
namespace {

// Whether 127.0.0.1:port can be bound now (port 0: any); the port bound.
uint16_t try_bind(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(port);
  socklen_t length = sizeof address;
  uint16_t bound = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    bound = ntohs(address.sin_port);
  ::close(fd);
  return bound;
}

// The first port of the kernel's ephemeral range (the source ports of
// outgoing connections); 32768 when it cannot be read.
uint16_t ephemeral_low() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 0, high = 0;
  if (in >> low >> high && low > 0 && low < 65536) return static_cast<uint16_t>(low);
  return 32768;
}

}  // namespace

uint16_t free_loopback_port() {
  // Ports below the ephemeral range: no process's outgoing connection can
  // take one between this check and the caller's bind, as one took a
  // kernel-picked port now and then when tests ran side by side. Each
  // process draws at random from its own slice (by pid) of 10000..low-1,
  // which keeps clear of the laptop cluster's ports (2479, 7100-7299) too.
  constexpr uint16_t kFirst = 10000;
  constexpr int kSlices = 32;
  constexpr int kAttemptsMax = 1000;
  static std::mutex mutex;
  static std::set<uint16_t> handed_out;
  static std::mt19937 rng(static_cast<uint32_t>(::getpid()) ^
                          static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::lock_guard<std::mutex> lock(mutex);
  const uint16_t low = ephemeral_low();
  const int span = low > kFirst ? (low - kFirst) / kSlices : 0;
  for (int attempt = 0; attempt < kAttemptsMax; ++attempt) {
    uint16_t port = 0;
    if (span >= 64 && attempt < kAttemptsMax / 2) {
      const int slice = ::getpid() % kSlices;
      port = try_bind(static_cast<uint16_t>(kFirst + slice * span + static_cast<int>(rng() % span)));
    } else {
      port = try_bind(0);  // the slice is used up, or there is none: any port the kernel picks
    }
    if (port != 0 && handed_out.insert(port).second) return port;
  }
  assert_failed("free port", __FILE__, __LINE__,
                "no free loopback port after " + std::to_string(kAttemptsMax) +
                    " attempts: " + std::strerror(errno));
}

}  // namespace ezone::test
