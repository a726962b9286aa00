// check_listen_addresses: binds each listening address once, so that a port
// that is taken is reported with its config key before anything starts.
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "config/node_config.hpp"

namespace ezone {
namespace {

Status try_bind(const std::string& source, const char* key, const HostPort& addr) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(addr.port);
  int rc = ::getaddrinfo(addr.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0)
    return Status(Errc::invalid_argument,
                  source + ": key '" + key + "': cannot resolve '" + addr.host + "': " +
                      ::gai_strerror(rc) + ". Fix: use a local IP address such as 127.0.0.1");
  int fd = ::socket(found->ai_family, SOCK_STREAM, 0);
  int one = 1;
  // The real listeners set SO_REUSEADDR too; match them so TIME_WAIT
  // leftovers do not count as "in use".
  if (fd >= 0) ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  int err = 0;
  if (fd < 0 || ::bind(fd, found->ai_addr, found->ai_addrlen) != 0) err = errno;
  if (fd >= 0) ::close(fd);
  ::freeaddrinfo(found);
  if (err == 0) return Status::ok();
  std::string why = err == EADDRINUSE     ? "port " + port + " is already in use"
                    : err == EADDRNOTAVAIL ? "address " + addr.host + " is not on this machine"
                                           : std::string(std::strerror(err));
  return Status(Errc::unavailable,
                source + ": key '" + key + "': cannot bind " + addr.to_string() + ": " + why +
                    ". Fix: stop what holds it (ss -ltnp 'sport = :" + port +
                    "') or choose another port for " + key);
}

}  // namespace

Status check_listen_addresses(const NodeConfig& config) {
  const std::pair<const char*, const HostPort*> addrs[] = {
      {"node.http", &config.http}, {"node.admin", &config.admin}, {"node.cluster", &config.cluster}};
  for (const auto& [key, addr] : addrs)
    if (Status s = try_bind(config.source, key, *addr); !s) return s;
  return Status::ok();
}

}  // namespace ezone
