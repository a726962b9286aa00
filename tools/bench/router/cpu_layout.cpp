#include "tools/bench/router/cpu_layout.hpp"

#include <sched.h>

#include <cstdio>
#include <cstdlib>

namespace ezone {

std::string cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (int c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

CpuLayout pin_cpus() {
  CpuLayout layout;
  cpu_set_t allowed;
  CPU_ZERO(&allowed);
  if (::sched_getaffinity(0, sizeof allowed, &allowed) != 0) return layout;
  std::vector<int> cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &allowed)) cpus.push_back(c);
  if (cpus.size() < 2) {
    std::fprintf(stderr, "only %zu CPU: not pinning\n", cpus.size());
    return layout;
  }
  if (std::system("command -v taskset > /dev/null 2>&1") != 0) {
    std::fprintf(stderr, "taskset not found (util-linux): not pinning\n");
    return layout;
  }
  size_t half = cpus.size() / 2;
  CpuLayout pinned{{cpus.begin(), cpus.begin() + static_cast<std::ptrdiff_t>(half)},
                   {cpus.begin() + static_cast<std::ptrdiff_t>(half), cpus.end()}};
  cpu_set_t servers;
  CPU_ZERO(&servers);
  for (int c : pinned.servers) CPU_SET(c, &servers);
  if (::sched_setaffinity(0, sizeof servers, &servers) != 0) {
    std::perror("sched_setaffinity: not pinning");
    return layout;
  }
  return pinned;
}

}  // namespace ezone
