#include "tests/support/netns.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/assert.hpp"
#include "tests/support/child_process.hpp"

namespace ezone::test {
namespace {

constexpr const char* kNetnsDir = "/var/run/netns";
constexpr const char* kPrefix = "ezt";
// ip and sysctl answer in milliseconds; a bound, not an expectation.
constexpr int64_t kCommandWaitMs = 10000;
constexpr size_t kMemberNameMax = 12;  // "v-" + name fits IFNAMSIZ
constexpr int kMembersMax = 250;        // one 10.213.K.0/24 each

// Runs a command (ip, sysctl) to the end, bounded; its output in the error.
Status run(std::vector<std::string> argv) {
  char path[] = "/tmp/ezt-cmd-XXXXXX";
  int fd = ::mkstemp(path);
  if (fd < 0) return Status(Errc::io_error, std::string("mkstemp: ") + std::strerror(errno));
  ::close(fd);
  ChildOptions options;
  options.argv = std::move(argv);
  options.log_path = path;
  std::string command;
  for (const auto& word : options.argv) command += (command.empty() ? "" : " ") + word;
  Status result;
  auto child = ChildProcess::start(options);
  if (!child.ok()) {
    result = Status(Errc::unavailable, command + ": " + child.status().message());
  } else if (auto code = (*child)->wait(kCommandWaitMs); !code.ok() || *code != 0) {
    std::ifstream in(path);
    std::ostringstream output;
    output << in.rdbuf();
    result = Status(Errc::unavailable, command + " failed (" +
                                           (code.ok() ? "exit " + std::to_string(*code) : code.status().message()) +
                                           "): " + output.str());
  }
  ::unlink(path);
  return result;
}

Status ip(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"ip"};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(std::move(argv));
}

std::string hub_address(int index) { return "10.213." + std::to_string(index) + ".1"; }
std::string member_address(int index) { return "10.213." + std::to_string(index) + ".2"; }

}  // namespace

Result<std::unique_ptr<NetnsTopology>> NetnsTopology::create(const std::vector<std::string>& members) {
  if (::geteuid() != 0) return Status(Errc::unavailable, "network namespaces need root");
  if (auto found = find_program("ip"); !found.ok()) return Status(Errc::unavailable, found.status().message());
  if (members.empty() || members.size() > kMembersMax)
    return Status(Errc::invalid_argument, "a topology has 1 to 250 members");
  static int counter = 0;
  std::unique_ptr<NetnsTopology> topology(
      new NetnsTopology(kPrefix + std::to_string(::getpid()) + "." + std::to_string(++counter)));
  const std::string hub = topology->prefix_ + "-hub";
  if (Status s = ip({"netns", "add", hub}); !s) return s;
  topology->namespaces_.push_back(hub);
  if (Status s = ip({"-n", hub, "link", "set", "lo", "up"}); !s) return s;
  if (Status s = run({"ip", "netns", "exec", hub, "sysctl", "-qw", "net.ipv4.ip_forward=1"}); !s) return s;
  int index = 0;
  for (const auto& member : members)
    if (Status s = topology->add_member(member, ++index); !s) return s;  // the destructor removes the rest
  return topology;
}

// One namespace, its veth into the hub, addresses, and a default route via the hub.
Status NetnsTopology::add_member(const std::string& member, int index) {
  if (member.empty() || member.size() > kMemberNameMax || address_.count(member))
    return Status(Errc::invalid_argument, "bad or repeated member name '" + member + "'");
  const std::string hub = namespaces_.front(), ns = prefix_ + "-" + member, hub_if = "v-" + member;
  if (Status s = ip({"netns", "add", ns}); !s) return s;
  namespaces_.push_back(ns);
  const std::vector<std::vector<std::string>> commands = {
      {"-n", hub, "link", "add", hub_if, "type", "veth", "peer", "name", "eth0", "netns", ns},
      {"-n", hub, "addr", "add", hub_address(index) + "/24", "dev", hub_if},
      {"-n", hub, "link", "set", hub_if, "up"},
      {"-n", ns, "link", "set", "lo", "up"},
      {"-n", ns, "addr", "add", member_address(index) + "/24", "dev", "eth0"},
      {"-n", ns, "link", "set", "eth0", "up"},
      {"-n", ns, "route", "add", "default", "via", hub_address(index)},
  };
  for (const auto& command : commands)
    if (Status s = ip(command); !s) return s;
  address_[member] = member_address(index);
  return Status::ok();
}

Status NetnsTopology::probe() {
  auto topology = create({"probe"});
  return topology.ok() ? Status::ok() : topology.status();
}

void NetnsTopology::sweep_stale() {
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(kNetnsDir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(kPrefix, 0) != 0) continue;
    const pid_t pid = static_cast<pid_t>(std::atol(name.c_str() + std::strlen(kPrefix)));
    if (pid <= 0 || pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (Status s = ip({"netns", "del", name}); !s) std::fprintf(stderr, "netns sweep: %s\n", s.to_string().c_str());
  }
}

NetnsTopology::~NetnsTopology() {
  if (joined_from_fd_ >= 0) {
    // A thread left in a deleted namespace would fail every later test.
    EZONE_ASSERT(::setns(joined_from_fd_, CLONE_NEWNET) == 0, std::strerror(errno));
    ::close(joined_from_fd_);
  }
  for (auto it = namespaces_.rbegin(); it != namespaces_.rend(); ++it)
    if (Status s = ip({"netns", "del", *it}); !s) std::fprintf(stderr, "netns cleanup: %s\n", s.to_string().c_str());
}

const std::string& NetnsTopology::address(const std::string& member) const { return address_.at(member); }

std::string NetnsTopology::ns_path(const std::string& member) const {
  EZONE_ASSERT(address_.count(member), "no member " + member);
  return std::string(kNetnsDir) + "/" + prefix_ + "-" + member;
}

Status NetnsTopology::join(const std::string& member) {
  int target = ::open(ns_path(member).c_str(), O_RDONLY | O_CLOEXEC);
  if (target < 0) return Status(Errc::io_error, "open " + ns_path(member) + ": " + std::strerror(errno));
  if (joined_from_fd_ < 0) joined_from_fd_ = ::open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  Status result;
  if (joined_from_fd_ < 0 || ::setns(target, CLONE_NEWNET) != 0)
    result = Status(Errc::io_error, "cannot enter " + ns_path(member) + ": " + std::strerror(errno));
  ::close(target);
  return result;
}

Status NetnsTopology::rule(const char* verb, const std::pair<std::string, std::string>& cut) {
  return ip({"-n", namespaces_.front(), "rule", verb, "from", address(cut.first), "to", address(cut.second),
             "blackhole"});
}

Status NetnsTopology::cut(const std::string& from, const std::string& to) {
  auto key = std::make_pair(from, to);
  if (cuts_.count(key)) return Status::ok();
  if (Status s = rule("add", key); !s) return s;
  cuts_.insert(key);
  return Status::ok();
}

Status NetnsTopology::isolate(const std::string& member, const std::set<std::string>& keep, Cut direction) {
  for (const auto& [other, unused] : address_) {
    if (other == member || keep.count(other)) continue;
    if (direction != Cut::incoming)
      if (Status s = cut(member, other); !s) return s;
    if (direction != Cut::outgoing)
      if (Status s = cut(other, member); !s) return s;
  }
  return Status::ok();
}

Status NetnsTopology::heal() {
  Status result;
  for (auto it = cuts_.begin(); it != cuts_.end();) {
    if (Status s = rule("del", *it); !s) {
      result = s;  // keeps it, to try again
      ++it;
      continue;
    }
    it = cuts_.erase(it);
  }
  return result;
}

}  // namespace ezone::test
