#include "core/process_identity.hpp"

#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace ezone {
namespace {

std::string first_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string link_target(const std::string& path) {
  char buf[256];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

}  // namespace

std::optional<int64_t> process_start_ticks(int64_t pid) {
  if (pid <= 0) return std::nullopt;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  if (!in) return std::nullopt;
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so
  // the fields are counted from the last ')'. starttime is field 22; the
  // state after ')' is field 3.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string field;
  for (int i = 3; i <= 22; ++i) {
    if (!(fields >> field)) return std::nullopt;
    // A process that exited but was not reaped yet (a zombie: right after a
    // kill -9, or for good under a container's init that never reaps) can
    // never act again: it counts as gone.
    if (i == 3 && (field == "Z" || field == "X")) return std::nullopt;
  }
  try {
    size_t used = 0;
    long long ticks = std::stoll(field, &used);
    if (used != field.size() || ticks < 0) return std::nullopt;
    return static_cast<int64_t>(ticks);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

ProcessIdentity ProcessIdentity::self(std::string instance) {
  ProcessIdentity p;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) == 0) p.host = host;
  p.boot_id = first_line("/proc/sys/kernel/random/boot_id");
  p.pid_ns = link_target("/proc/self/ns/pid");
  p.pid = static_cast<int64_t>(::getpid());
  p.start_ticks = process_start_ticks(p.pid).value_or(0);
  p.instance = std::move(instance);
  return p;
}

nlohmann::json ProcessIdentity::to_json() const {
  return nlohmann::json{{"host", host},   {"boot_id", boot_id},         {"pid_ns", pid_ns},
                        {"pid", pid},     {"start_ticks", start_ticks}, {"instance", instance}};
}

std::optional<ProcessIdentity> ProcessIdentity::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return std::nullopt;
  ProcessIdentity p;
  auto text = [&j](const char* key, std::string* out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_string()) return false;
    *out = it->get<std::string>();
    return true;
  };
  auto number = [&j](const char* key, int64_t* out) {
    auto it = j.find(key);
    if (it == j.end() || !it->is_number_integer()) return false;
    *out = it->get<int64_t>();
    return true;
  };
  if (!text("host", &p.host) || !text("boot_id", &p.boot_id) || !text("pid_ns", &p.pid_ns) ||
      !number("pid", &p.pid) || !number("start_ticks", &p.start_ticks) || !text("instance", &p.instance))
    return std::nullopt;
  return p;
}

std::string ProcessIdentity::describe() const { return "pid " + std::to_string(pid) + " on host " + host; }

Liveness local_liveness(const ProcessIdentity& other, const std::function<bool(const std::string&)>& instance_live) {
  // This process's identity does not change while it runs: read it once.
  static const ProcessIdentity me = ProcessIdentity::self("");
  if (me.host.empty() || me.boot_id.empty() || other.host != me.host) return Liveness::unknown;
  if (other.boot_id != me.boot_id) return Liveness::dead;  // written before this machine's last boot
  if (me.pid_ns.empty() || other.pid_ns != me.pid_ns || other.pid <= 0 || other.start_ticks <= 0)
    return Liveness::unknown;
  if (other.pid == me.pid && other.start_ticks == me.start_ticks)
    return instance_live && instance_live(other.instance) ? Liveness::alive : Liveness::dead;
  auto ticks = process_start_ticks(other.pid);
  return ticks && *ticks == other.start_ticks ? Liveness::alive : Liveness::dead;
}

}  // namespace ezone
