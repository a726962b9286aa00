// ezctl: the operator's command line. It talks to a node's admin API.
//
//   ezctl --node ADMIN status [--json]
//   ezctl --node ADMIN routes [--json]
//   ezctl --node ADMIN move --shards S1,S2 --to EZONE [--expected-epoch N]
//   ezctl --node ADMIN locate KEY... [--file F] [--json]
//   ezctl --node ADMIN drc [conflicts [--limit N]] [--json]
//   ezctl --node ADMIN drc discard --origin EZONE --table T [--force]
//   ezctl --node ADMIN soa [--json]
//   ezctl --node ADMIN soa register --service S --address HOST:PORT [--ttl S]
//   ezctl --node ADMIN soa deregister LEASE
//   ezctl --node ADMIN switchover --shards S1,S2 --to EZONE [--id ID] [--dry-run] [--no-wait]
//   ezctl --node ADMIN failover --zone EZONE [--force] [--id ID] [--dry-run] [--no-wait]
//   ezctl --node ADMIN rebalance --target bj=52,sh=48 [--weights S=W,...] [--window S] [--dry-run] [--no-wait]
//   ezctl --node ADMIN workflows [ID] [--json]
//   ezctl --node ADMIN cancel ID [--no-wait]
//   ezctl --node ADMIN quarantine list [--released] [--limit N] [--json]
//   ezctl --node ADMIN quarantine resolve --table T --pk KEY [--keep ORIGIN[@HLC]]
//   ezctl --node ADMIN tokens reload [--all] [--json]
//   ezctl --node ADMIN check [--tables T1,T2] [--shards 1,2] [--chunk-rows N] [--pause-ms N] [--id ID] [--no-wait]
//   ezctl --node ADMIN check results ID
//   ezctl --node ADMIN check repair ID
//   ezctl --node ADMIN schema [--json]
//   ezctl --node ADMIN drill idc-down --zone EZONE [--rate N] [--duration S] [--warmup S]
//         [--report-dir DIR] [--fences-dir D] [--shards-file F] [--json]
//
// ADMIN is HOST:PORT of a node's admin address (node.admin in its config);
// without --node, the environment's EZCTL_NODE gives it.
// ezctl --help prints the usage. Exit codes: 0 ok, 1 the node cannot be
// reached or refused, 2 bad usage.
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "core/shared_token.hpp"
#include "tools/ezctl/admin_client.hpp"
#include "tools/ezctl/check_command.hpp"
#include "tools/ezctl/schema_command.hpp"
#include "tools/ezctl/drc_command.hpp"
#include "tools/ezctl/drill_command.hpp"
#include "tools/ezctl/locate_command.hpp"
#include "tools/ezctl/quarantine_command.hpp"
#include "tools/ezctl/routes_command.hpp"
#include "tools/ezctl/soa_command.hpp"
#include "tools/ezctl/status_command.hpp"
#include "tools/ezctl/tokens_command.hpp"
#include "tools/ezctl/workflow_command.hpp"

namespace {

// Prints the usage, after `why` when there is one (bad usage: stderr, exit
// 2), or alone (--help: stdout, exit 0).
int usage(const std::string& why) {
  std::fprintf(why.empty() ? stdout : stderr,
               "%s%s%s"
               "usage: ezctl --node HOST:PORT [--admin-token-file F] [--ca-file F [--cert-file F --key-file F]]\n"
               "             [--timeout-ms N] [--json] COMMAND\n"
               "  status                              the node, its peers, etcd\n"
               "  routes                              the route table it holds\n"
               "  move --shards S1,S2 --to EZONE [--expected-epoch N]\n"
               "                                      raw route change (not a safe switchover)\n"
               "  locate KEY... [--file F]            who owns geo=LAT,LON, merchant=ID, order=ID\n"
               "  drc                                 replication: watermark and lag per peer\n"
               "  drc conflicts [--limit N]           losers kept by conflict resolution\n"
               "  drc discard --origin EZONE --table T [--force]\n"
               "                                      delete the rows parked here for a table this site\n"
               "                                      no longer has (--force: one it has; they are lost)\n"
               "  soa                                 SOA proxy: services and their instances' health\n"
               "  soa register --service S --address HOST:PORT [--ttl S]\n"
               "                                      keep an instance registered until stopped (a sidecar)\n"
               "  soa deregister LEASE                end a registration\n"
               "  switchover --shards S1,S2 --to EZONE [--dry-run] [--no-wait] [--id ID]\n"
               "                                      safe move: write-forbid, wait for replication, move\n"
               "  failover --zone EZONE [--force] [--dry-run]\n"
               "                                      give a dead ezone's shards to the survivors\n"
               "  rebalance --target bj=52,sh=48 [--weights S=W,...] [--window S] [--dry-run]\n"
               "                                      plan, then switch shards toward a traffic split\n"
               "                                      (weights: requests per shard in the last S s, 300)\n"
               "  workflows [ID]                      journaled workflows, or one with its history\n"
               "  cancel ID                           cancel a workflow: its shards return to their owner\n"
               "  quarantine list [--released]        rows written on two sites at once; writes refused\n"
               "  quarantine resolve --table T --pk KEY [--keep ORIGIN[@HLC]]\n"
               "                                      release a row (replicates to every site); --keep\n"
               "                                      writes that site's version of it again, at its owner\n"
               "  tokens reload [--all]               re-read the token files (a rotation step); --all: and\n"
               "                                      on every peer the node lists\n"
               "  check [--tables T1,T2] [--shards 1,2] [--chunk-rows N] [--pause-ms N] [--id ID] [--no-wait]\n"
               "                                      compare every site's rows with their owner's, chunk by\n"
               "                                      chunk, while writes go on; lists the chunks that differ\n"
               "  check results ID                    the results of a check, once complete\n"
               "  check repair ID                     the owners send the chunks that differ; every site\n"
               "                                      makes its rows equal, then they are checked again\n"
               "  schema                              each table's columns at every site, and where a\n"
               "                                      migration has not run yet (exit 1 until all agree)\n"
               "  drill idc-down --zone EZONE [--rate N] [--duration S] [--warmup S] [--report-dir DIR]\n"
               "         [--fences-dir D] [--shards-file F] [--service-token-file F]\n"
               "                                      isolate a zone under loadgen traffic, fail it over,\n"
               "                                      restore it; report RTO, RPO, errors, convergence\n"
               "HOST:PORT is the node's admin address (node.admin in its config); without --node,\n"
               "EZCTL_NODE in the environment gives it. A node with an admin token ([admin] token_file)\n"
               "answers only requests that carry it: --admin-token-file F, or EZONE_ADMIN_TOKEN.\n"
               "A node with [tls] serves node.admin over TLS: --ca-file names the cluster's CA (and\n"
               "--cert-file/--key-file this client's certificate, when [tls] client_certs is on), or\n"
               "EZONE_TLS_CA_FILE, EZONE_TLS_CERT_FILE and EZONE_TLS_KEY_FILE\n",
               why.empty() ? "" : "ezctl: ", why.c_str(), why.empty() ? "" : "\n");
  return why.empty() ? 0 : 2;
}

// Returns false with *error set for a malformed option.
bool parse_args(int argc, char** argv, ezctl::Options* o, std::string* error) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    bool has_value = i + 1 < argc;
    if (arg == "--json") o->json = true;
    else if (arg == "--help" || arg == "-h") o->help = true;
    else if (arg == "--node" && has_value) o->node = argv[++i];
    else if (arg == "--admin-token-file" && has_value) o->admin_token_file = argv[++i];
    else if (arg == "--service-token-file" && has_value) o->service_token_file = argv[++i];
    else if (arg == "--ca-file" && has_value) o->tls_files.ca_file = argv[++i];
    else if (arg == "--cert-file" && has_value) o->tls_files.cert_file = argv[++i];
    else if (arg == "--key-file" && has_value) o->tls_files.key_file = argv[++i];
    else if (arg == "--shards" && has_value) o->shards = argv[++i];
    else if (arg == "--to" && has_value) o->to = argv[++i];
    else if (arg == "--file" && has_value) o->file = argv[++i];
    else if (arg == "--id" && has_value) o->id = argv[++i];
    else if (arg == "--zone" && has_value) o->zone = argv[++i];
    else if (arg == "--target" && has_value) o->target = argv[++i];
    else if (arg == "--weights" && has_value) o->weights = argv[++i];
    else if (arg == "--table" && has_value) o->table = argv[++i];
    else if (arg == "--tables" && has_value) o->tables = argv[++i];
    else if (arg == "--pk" && has_value) o->pk = argv[++i];
    else if (arg == "--keep" && has_value) o->keep = argv[++i];
    else if (arg == "--origin" && has_value) o->origin = argv[++i];
    else if (arg == "--released") o->released = true;
    else if (arg == "--all") o->all = true;
    else if (arg == "--report-dir" && has_value) o->report_dir = argv[++i];
    else if (arg == "--fences-dir" && has_value) o->fences_dir = argv[++i];
    else if (arg == "--shards-file" && has_value) o->shards_file = argv[++i];
    else if (arg == "--service" && has_value) o->service = argv[++i];
    else if (arg == "--address" && has_value) o->address = argv[++i];
    else if ((arg == "--rate" || arg == "--duration" || arg == "--warmup") && has_value) {
      char* end = nullptr;
      const double v = std::strtod(argv[++i], &end);
      if (*end != '\0' || !(v > 0) || v > 1e6) return *error = arg + " must be a positive number", false;
      (arg == "--rate" ? o->rate : arg == "--duration" ? o->duration_s : o->warmup_s) = v;
    }
    else if (arg == "--dry-run") o->dry_run = true;
    else if (arg == "--no-wait") o->no_wait = true;
    else if (arg == "--force") o->force = true;
    else if ((arg == "--timeout-ms" || arg == "--expected-epoch" || arg == "--limit" || arg == "--wait-ms" ||
              arg == "--window" || arg == "--ttl" || arg == "--chunk-rows" || arg == "--pause-ms") &&
             has_value) {
      char* end = nullptr;
      long long v = std::strtoll(argv[++i], &end, 10);
      if (*end != '\0' || v <= 0) return *error = arg + " must be a positive number", false;
      (arg == "--timeout-ms" ? o->timeout_ms
       : arg == "--limit"    ? o->limit
       : arg == "--wait-ms"  ? o->wait_ms
       : arg == "--window"   ? o->window_s
       : arg == "--ttl"      ? o->ttl_s
       : arg == "--chunk-rows" ? o->chunk_rows
       : arg == "--pause-ms" ? o->pause_ms
                             : o->expected_epoch) = v;
    } else if (arg.size() > 1 && arg[0] == '-') return *error = "unknown option " + arg, false;
    else o->args.push_back(arg);
  }
  return true;
}

int run_command(const ezctl::Options& options) {
  const std::string& cmd = options.args[0];
  bool bare = options.args.size() == 1;
  if (cmd == "status" && bare) return ezctl::run_status(options);
  if (cmd == "routes" && bare) return ezctl::run_routes(options);
  if (cmd == "move" && bare) return ezctl::run_move(options);
  if (cmd == "locate") return ezctl::run_locate(options);
  if (cmd == "drc") return ezctl::run_drc(options);
  if (cmd == "soa") return ezctl::run_soa(options);
  if (cmd == "switchover" && bare) return ezctl::run_switchover(options);
  if (cmd == "failover" && bare) return ezctl::run_failover(options);
  if (cmd == "rebalance" && bare) return ezctl::run_rebalance(options);
  if (cmd == "workflows" && options.args.size() <= 2) return ezctl::run_workflows(options);
  if (cmd == "cancel") return ezctl::run_cancel(options);
  if (cmd == "quarantine") return ezctl::run_quarantine(options);
  if (cmd == "drill") return ezctl::run_drill(options);
  if (cmd == "tokens") return ezctl::run_tokens(options);
  if (cmd == "check") return ezctl::run_check(options);
  if (cmd == "schema") return ezctl::run_schema(options);
  return usage("unknown command or extra arguments: " + cmd);
}

}  // namespace

int main(int argc, char** argv) {
  ezctl::Options options;
  std::string error;
  if (!parse_args(argc, argv, &options, &error)) return usage(error);
  if (options.help || (!options.args.empty() && options.args[0] == "help")) return usage("");
  if (options.args.empty()) return usage("no command given");
  if (const char* env = std::getenv("EZCTL_NODE"); options.node.empty() && env) options.node = env;
  if (options.node.empty()) return usage("--node HOST:PORT (or EZCTL_NODE in the environment) is required");
  auto token = ezone::client_admin_token(options.admin_token_file, "--admin-token-file");
  if (!token) return ezctl::fail("admin token", token.status().message());
  options.admin_token = std::move(*token);
  auto service = ezone::client_service_token(options.service_token_file, "--service-token-file");
  if (!service) return ezctl::fail("service token", service.status().message());
  options.service_token = std::move(*service);
  auto tls = ezone::net::client_tls_from_options(options.tls_files);
  if (!tls) return ezctl::fail("TLS", tls.status().message());
  options.tls = std::move(*tls);
  // The commands read the node's JSON answers by their documented shape. An
  // answer of another shape (a bug, an older node, something else listening
  // there) ends the command with an error, not an abort.
  try {
    return run_command(options);
  } catch (const nlohmann::json::exception& e) {
    return ezctl::fail(options.args[0], "the node's answer is not what ezctl expects (" + std::string(e.what()) + ")");
  }
}
