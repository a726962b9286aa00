// ezctl: the operator's command line.
//
//   ezctl --node HOST:PORT status [--json] [--timeout-ms N]
//
// HOST:PORT is a node's admin address. Exit codes: 0 ok, 1 the node cannot
// be reached or answered with an error, 2 bad command line.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tools/ezctl/status_command.hpp"

namespace {

int usage(const std::string& why) {
  std::fprintf(stderr,
               "ezctl: %s\n"
               "usage: ezctl --node HOST:PORT [--timeout-ms N] status [--json]\n"
               "  HOST:PORT is the node's admin address (node.admin in its config)\n",
               why.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  ezctl::Options options;
  std::vector<std::string> args;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--node" && i + 1 < argc) {
      options.node = argv[++i];
    } else if (arg == "--json") {
      options.json = true;
    } else if (arg == "--timeout-ms" && i + 1 < argc) {
      options.timeout_ms = std::atoll(argv[++i]);
      if (options.timeout_ms <= 0) return usage("--timeout-ms must be a positive number");
    } else if (arg == "-h" || arg == "--help") {
      return usage("help");
    } else {
      args.push_back(arg);
    }
  }
  if (args.empty()) return usage("no command given");
  if (options.node.empty()) return usage("--node HOST:PORT is required");
  if (args[0] == "status" && args.size() == 1) return ezctl::run_status(options);
  return usage("unknown command '" + args[0] + "'");
}
