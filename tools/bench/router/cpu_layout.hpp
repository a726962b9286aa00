// How router_bench splits the machine's CPUs between the load generator
// (wrk) and the servers (bj, sh, nginx): see main.cpp.
#pragma once

#include <string>
#include <vector>

namespace ezone {

// Where wrk and the servers run: empty lists when not pinned.
struct CpuLayout {
  std::vector<int> load;     // wrk
  std::vector<int> servers;  // bj, sh, nginx
};

// "0,1,3": the list as taskset takes it.
std::string cpu_list(const std::vector<int>& cpus);

// Splits the CPUs this process may use between wrk (the first half) and the
// servers (the rest), and moves the calling thread, and so every thread and
// process it starts from then on, to the servers' half. Not pinned (empty
// lists, with the reason on stderr) with fewer than 2 CPUs or without
// taskset.
CpuLayout pin_cpus();

}  // namespace ezone
