// eventually(): polls a condition until it holds or a bound runs out. Tests
// use generous bounds: they check behaviour; benchmarks measure speed.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace ezone::test {

inline bool eventually(const std::function<bool()>& cond,
                       std::chrono::milliseconds limit = std::chrono::seconds(15),
                       std::chrono::milliseconds period = std::chrono::milliseconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (cond()) return true;
    std::this_thread::sleep_for(period);
  }
  return cond();
}

}  // namespace ezone::test
