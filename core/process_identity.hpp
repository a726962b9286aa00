// ProcessIdentity: which process, on which machine and boot, wrote a node's
// registration. EtcdSession records it beside the node's addresses, so a
// newly started ezoned can tell whether the process that holds its ezone's
// registration is still running (a twin: the same ezone started twice, by
// mistake) or is a crashed predecessor whose lease has not expired yet.
//
// On the same machine, in the same boot and PID namespace, the process
// table answers at once. Anywhere else this machine cannot tell, and the
// session watches the holder's lease instead (see EtcdSession).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

namespace ezone {

struct ProcessIdentity {
  std::string host;         // gethostname()
  std::string boot_id;      // /proc/sys/kernel/random/boot_id; "" when unreadable
  std::string pid_ns;       // /proc/self/ns/pid's link, e.g. "pid:[4026531836]"; "" when unreadable
  int64_t pid = 0;
  int64_t start_ticks = 0;  // field 22 of /proc/<pid>/stat (clock ticks after boot); 0 when unreadable
  // Tells apart several nodes of one process (test rigs): the node's
  // incarnation.
  std::string instance;

  // This process, with `instance`.
  static ProcessIdentity self(std::string instance);
  nlohmann::json to_json() const;
  // nullopt when `j` is not an object of this shape (a registration written
  // by an older ezoned, or garbage).
  static std::optional<ProcessIdentity> from_json(const nlohmann::json& j);
  // "pid 4242 on host db-7", for messages.
  std::string describe() const;
};

enum class Liveness { alive, dead, unknown };

// What this machine can tell about `other`:
//   - unknown: it ran on another machine or in another PID namespace, or
//     the identities are incomplete;
//   - dead: it ran on this machine in an earlier boot, or its PID is gone or
//     now names a process started at another time; in this very process,
//     when `instance_live(other.instance)` is false (an earlier node);
//   - alive: its process runs (in this process: the instance is live).
Liveness local_liveness(const ProcessIdentity& other, const std::function<bool(const std::string&)>& instance_live);

// Field 22 (starttime) of /proc/<pid>/stat; nullopt when the process does
// not exist, has exited (a zombie not reaped yet), or the file cannot be
// parsed.
std::optional<int64_t> process_start_ticks(int64_t pid);

}  // namespace ezone
