// ezctl: the operator's command line. It talks to a node's admin API.
//
//   ezctl --node ADMIN status [--json]
//   ezctl --node ADMIN routes [--json]
//   ezctl --node ADMIN move --shards S1,S2 --to EZONE [--expected-epoch N]
//   ezctl --node ADMIN locate KEY... [--file F] [--json]
//   ezctl --node ADMIN drc [conflicts [--limit N]] [--json]
//
// ADMIN is HOST:PORT of a node's admin address (node.admin in its config).
// Exit codes: 0 ok, 1 the node cannot be reached or refused, 2 bad usage.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tools/ezctl/drc_command.hpp"
#include "tools/ezctl/locate_command.hpp"
#include "tools/ezctl/routes_command.hpp"
#include "tools/ezctl/status_command.hpp"

namespace {

int usage(const std::string& why) {
  std::fprintf(stderr,
               "ezctl: %s\n"
               "usage: ezctl --node HOST:PORT [--timeout-ms N] [--json] COMMAND\n"
               "  status                              the node, its peers, etcd\n"
               "  routes                              the route table it holds\n"
               "  move --shards S1,S2 --to EZONE [--expected-epoch N]\n"
               "                                      raw route change (not a safe switchover)\n"
               "  locate KEY... [--file F]            who owns geo=LAT,LON, merchant=ID, order=ID\n"
               "  drc                                 replication: watermark and lag per peer\n"
               "  drc conflicts [--limit N]           losers kept by conflict resolution\n"
               "HOST:PORT is the node's admin address (node.admin in its config)\n",
               why.c_str());
  return 2;
}

// Returns false with *error set for a malformed option.
bool parse_args(int argc, char** argv, ezctl::Options* o, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--json") o->json = true;
    else if (arg == "--node" && has_value) o->node = argv[++i];
    else if (arg == "--shards" && has_value) o->shards = argv[++i];
    else if (arg == "--to" && has_value) o->to = argv[++i];
    else if (arg == "--file" && has_value) o->file = argv[++i];
    else if ((arg == "--timeout-ms" || arg == "--expected-epoch" || arg == "--limit") && has_value) {
      char* end = nullptr;
      long long v = std::strtoll(argv[++i], &end, 10);
      if (*end != '\0' || v <= 0) return *error = arg + " must be a positive number", false;
      (arg == "--timeout-ms" ? o->timeout_ms : arg == "--limit" ? o->limit : o->expected_epoch) = v;
    } else if (arg.size() > 1 && arg[0] == '-') return *error = "unknown option " + arg, false;
    else o->args.push_back(arg);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  ezctl::Options options;
  std::string error;
  if (!parse_args(argc, argv, &options, &error)) return usage(error);
  if (options.args.empty()) return usage("no command given");
  if (options.node.empty()) return usage("--node HOST:PORT is required");
  const std::string& cmd = options.args[0];
  bool bare = options.args.size() == 1;
  if (cmd == "status" && bare) return ezctl::run_status(options);
  if (cmd == "routes" && bare) return ezctl::run_routes(options);
  if (cmd == "move" && bare) return ezctl::run_move(options);
  if (cmd == "locate") return ezctl::run_locate(options);
  if (cmd == "drc") return ezctl::run_drc(options);
  return usage("unknown command or extra arguments: " + cmd);
}
