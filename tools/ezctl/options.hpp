// Command-line options shared by ezctl's commands.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace ezctl {

struct Options {
  std::string node;  // admin HOST:PORT
  bool json = false;
  int64_t timeout_ms = 3000;
  std::vector<std::string> args;  // the command and its positional arguments
  // move
  std::string shards;   // "S1,S2" (names or ids)
  std::string to;       // target ezone
  int64_t expected_epoch = 0;  // 0 = the epoch the node currently has
  // locate
  std::string file;     // one key per line
  // drc conflicts
  int64_t limit = 100;
};

}  // namespace ezctl
