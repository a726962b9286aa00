// NetnsTopology: members reach each other through the hub, a cut drops one
// direction only, heal restores it, and nothing is left behind.
#include "tests/support/netns.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/child_process.hpp"

namespace ezone::test {
namespace {

// Connects can fail by silence only: a cut drops, it does not refuse.
constexpr int kConnectWaitMs = 300;

// A listening socket made inside `ns_path` (a socket stays in the namespace
// it was made in); its port in *port. -1 on failure.
int listen_in(const std::string& ns_path, const std::string& host, uint16_t* port) {
  int fd = -1;
  std::thread([&] {
    int ns = ::open(ns_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) return;
    ::close(ns);
    fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
    socklen_t length = sizeof address;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(fd, 16) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      ::close(fd);
      fd = -1;
      return;
    }
    *port = ntohs(address.sin_port);
  }).join();
  return fd;
}

// Whether a TCP connection from the calling thread's namespace completes in time.
bool connects(const std::string& host, uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &address.sin_addr);
  ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  pollfd p{fd, POLLOUT, 0};
  int error = -1;
  socklen_t length = sizeof error;
  if (::poll(&p, 1, kConnectWaitMs) == 1) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  ::close(fd);
  return error == 0;
}

ino_t own_netns() {
  struct stat s {};
  ::stat("/proc/thread-self/ns/net", &s);
  return s.st_ino;
}

bool any_namespace_of_this_process() {
  const std::string prefix = "ezt" + std::to_string(::getpid()) + ".";
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/var/run/netns", error))
    if (entry.path().filename().string().rfind(prefix, 0) == 0) return true;
  return false;
}

TEST(NetnsTopologyTest, CutDropsOneDirectionAndHealRestoresIt) {
  if (Status s = NetnsTopology::probe(); !s) GTEST_SKIP() << s.to_string();
  const ino_t before = own_netns();
  {
    auto topology = NetnsTopology::create({"a", "b"});
    ASSERT_TRUE(topology.ok()) << topology.status().to_string();
    NetnsTopology& net = **topology;
    uint16_t port = 0;
    int listener = listen_in(net.ns_path("a"), net.address("a"), &port);
    ASSERT_GE(listener, 0);
    ASSERT_TRUE(net.join("b").is_ok());
    EXPECT_NE(own_netns(), before);
    EXPECT_TRUE(connects(net.address("a"), port));

    ASSERT_TRUE(net.cut("b", "a").is_ok());  // the SYN is lost
    EXPECT_FALSE(connects(net.address("a"), port));
    ASSERT_TRUE(net.heal().is_ok());
    EXPECT_TRUE(connects(net.address("a"), port));

    ASSERT_TRUE(net.isolate("a", {}, NetnsTopology::Cut::outgoing).is_ok());  // the SYN-ACK is lost
    EXPECT_FALSE(connects(net.address("a"), port));
    ASSERT_TRUE(net.heal().is_ok());
    EXPECT_TRUE(connects(net.address("a"), port));
    ::close(listener);
  }
  EXPECT_EQ(own_netns(), before);
  EXPECT_FALSE(any_namespace_of_this_process());
}

TEST(NetnsTopologyTest, SweepRemovesTheNamespacesOfDeadRunsOnly) {
  if (Status s = NetnsTopology::probe(); !s) GTEST_SKIP() << s.to_string();
  pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  ASSERT_GT(dead, 0);
  ::waitpid(dead, nullptr, 0);
  const std::string stale = "ezt" + std::to_string(dead) + ".1-x";
  ChildOptions add_stale;
  add_stale.argv = {"ip", "netns", "add", stale};
  auto add = ChildProcess::start(add_stale);
  ASSERT_TRUE(add.ok());
  ASSERT_TRUE((*add)->wait(10000).ok());
  auto live = NetnsTopology::create({"a"});
  ASSERT_TRUE(live.ok()) << live.status().to_string();

  NetnsTopology::sweep_stale();
  EXPECT_FALSE(std::filesystem::exists("/var/run/netns/" + stale));
  EXPECT_TRUE(std::filesystem::exists((*live)->ns_path("a")));
}

}  // namespace
}  // namespace ezone::test
