// The optional [tracing] section of a node config: where the node's
// sampled spans go (the router's, the DAL's and the SOA proxy's) (actors/node/span_exporter.hpp).
//
//   [tracing]
//   log_spans = true                  # one event=span log line per span
//   otlp_endpoint = "127.0.0.1:4318"  # OTLP/HTTP collector; absent or "" = no export
//   otlp_path = "/v1/traces"
//   batch_max = 512                   # spans per export request, 1..10000
//   queue_max = 8192                  # spans waiting; more are dropped and counted, 1..1000000
//   flush_interval_ms = 1000          # the longest a span waits for its batch, 10..60000
//   export_timeout_ms = 2000          # one export request, 100..60000
#include "config/node_config.hpp"
#include "config/toml_reader.hpp"

namespace ezone::config_internal {

Status read_tracing(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "tracing", c.source, &table));
  if (!table) return Status::ok();
  TableReader r(table, "tracing", c.source);
  TracingSettings& t = c.tracing;
  EZONE_TRY(r.boolean("log_spans", &t.log_spans));
  std::string endpoint;
  const std::string fix = "set it to a collector's OTLP/HTTP address, e.g. \"127.0.0.1:4318\", or \"\" for none";
  EZONE_TRY(r.string("otlp_endpoint", false, &endpoint, fix));
  if (!endpoint.empty()) {
    auto parsed = parse_host_port(endpoint);
    if (!parsed) return r.error("otlp_endpoint", parsed.status().message(), fix);
    if (is_wildcard_host(parsed->host))
      return r.error("otlp_endpoint", "'" + endpoint + "' is not an address a collector listens on", fix);
    t.otlp_endpoint = *parsed;
  }
  EZONE_TRY(r.string("otlp_path", false, &t.otlp_path, "set a path such as \"/v1/traces\""));
  if (t.otlp_path.empty() || t.otlp_path[0] != '/' || t.otlp_path.find_first_of(" \r\n\t") != std::string::npos)
    return r.error("otlp_path", "'" + t.otlp_path + "' is not a path", "set a path such as \"/v1/traces\"");
  EZONE_TRY(r.integer("batch_max", &t.batch_max, 1, 10000));
  EZONE_TRY(r.integer("queue_max", &t.queue_max, 1, 1000000));
  EZONE_TRY(r.integer("flush_interval_ms", &t.flush_interval_ms, 10, 60000));
  EZONE_TRY(r.integer("export_timeout_ms", &t.export_timeout_ms, 100, 60000));
  if (t.queue_max < t.batch_max)
    return r.error("queue_max", "is below batch_max (" + std::to_string(t.batch_max) + ")",
                   "hold at least one batch: raise queue_max or lower batch_max");
  return r.no_unknown_keys(
      "log_spans, otlp_endpoint, otlp_path, batch_max, queue_max, flush_interval_ms, export_timeout_ms");
}

}  // namespace ezone::config_internal
