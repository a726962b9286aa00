// NetnsTopology: a private network of Linux network namespaces for tests
// that partition real processes (issue 6: "partitioned in network
// namespaces where available").
//
//            member "bj"        member "sh"        member "client" ...
//           10.213.1.2/24      10.213.2.2/24      10.213.3.2/24
//                |  eth0            |  eth0            |  eth0
//              veth               veth               veth
//                |                  |                  |
//           v-bj 10.213.1.1    v-sh 10.213.2.1    v-client 10.213.3.1
//           +------------------ hub (a router) -------------------+
//
// Every member is a namespace of its own with one veth into the hub
// namespace, which routes between them (ip_forward on). Nothing is ever
// configured in the caller's namespace: the addresses exist only inside
// the test's namespaces. A member's processes are started in it with
// ChildOptions::netns = ns_path(member); a test thread reaches the members
// after join(member).
//
// Partitions are policy-routing rules in the hub ("from A to B blackhole"),
// so a cut drops A's packets to B silently, in one direction, like a lost
// link: A's sockets see no error, only silence. (tc filters with a drop
// action would do the same on A's veth, but the kernel of the test machine
// has no act_gact module; rules need nothing beyond the core.)
//
// Names are "ezt<pid>.<n>-<member>", so parallel runs never collide, and
// the destructor deletes every namespace (their veths go with them). A
// SIGKILLed test cannot run it: sweep_stale() deletes the namespaces that
// such a run, whose pid is gone, left behind. Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace ezone::test {

class NetnsTopology {
 public:
  // Creates the hub and one namespace per member (names of at most 12
  // characters, unique), each ready to use. Returns unavailable, with the
  // reason, when the machine does not allow it (not root, no `ip`, no
  // namespaces); whatever was created by then is removed again.
  static Result<std::unique_ptr<NetnsTopology>> create(const std::vector<std::string>& members);
  // Whether create() can work here: creates and removes a one-member topology.
  static Status probe();
  // Deletes the namespaces of topologies whose test process is dead (a test
  // killed with SIGKILL cannot clean up). Never touches a live run's.
  static void sweep_stale();

  // Returns the thread that join()ed to its own namespace, then deletes
  // every namespace. Processes started in a member keep running in a
  // namespace that then has no route anywhere: stop them first.
  ~NetnsTopology();
  NetnsTopology(const NetnsTopology&) = delete;
  NetnsTopology& operator=(const NetnsTopology&) = delete;

  // The member's address ("10.213.K.2"); requires a member's name.
  const std::string& address(const std::string& member) const;
  // Its namespace file, for ChildOptions::netns.
  std::string ns_path(const std::string& member) const;
  // Moves the calling thread into the member's namespace, where threads and
  // children it starts later are too. The destructor moves it back, so
  // create, join and destroy on one thread (a test body's). io_error on failure.
  Status join(const std::string& member);

  // Drops every packet from `from` to `to` (one direction). Idempotent.
  Status cut(const std::string& from, const std::string& to);
  // Which of a member's packets isolate() drops.
  enum class Cut { both, outgoing, incoming };
  // Cuts `member` off from every other member except those in `keep`: its
  // packets to them (outgoing), theirs to it (incoming), or both.
  Status isolate(const std::string& member, const std::set<std::string>& keep = {}, Cut cut = Cut::both);
  // Removes every cut.
  Status heal();

 private:
  explicit NetnsTopology(std::string prefix) : prefix_(std::move(prefix)) {}
  Status add_member(const std::string& member, int index);
  Status rule(const char* verb, const std::pair<std::string, std::string>& cut);

  std::string prefix_;                           // "ezt<pid>.<n>"
  std::vector<std::string> namespaces_;          // created, the hub first
  std::map<std::string, std::string> address_;   // member -> address
  std::set<std::pair<std::string, std::string>> cuts_;
  int joined_from_fd_ = -1;                      // the joining thread's own namespace
};

}  // namespace ezone::test
