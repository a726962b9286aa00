#include "tests/support/ports.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <mutex>
#include <set>
#include <string>

#include "core/assert.hpp"

namespace ezone::test {
namespace {

// Asks the kernel for an unused port; 0 when it cannot.
uint16_t kernel_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0)
    port = ntohs(address.sin_port);
  ::close(fd);
  return port;
}

}  // namespace

uint16_t free_loopback_port() {
  static std::mutex mutex;
  static std::set<uint16_t> handed_out;
  constexpr int kAttemptsMax = 1000;
  std::lock_guard<std::mutex> lock(mutex);
  for (int attempt = 0; attempt < kAttemptsMax; ++attempt) {
    uint16_t port = kernel_port();
    if (port != 0 && handed_out.insert(port).second) return port;
  }
  assert_failed("free port", __FILE__, __LINE__,
                "no free loopback port after " + std::to_string(kAttemptsMax) +
                    " attempts: " + std::strerror(errno));
}

}  // namespace ezone::test
