#include "config/node_config.hpp"

#include <cctype>
#include <cstring>
#include <set>

#include "config/schema_config.hpp"
#include "config/toml_reader.hpp"
#include "core/ids.hpp"
#include "core/shared_token.hpp"

namespace ezone {
namespace {

using config_internal::config_error;
using config_internal::optional_section;
using config_internal::resolve_path;
using config_internal::TableReader;

Status read_address(TableReader& r, const std::string& name, bool required, HostPort* out,
                    const std::string& example) {
  std::string text;
  std::string fix = "set " + r.key(name) + " to an address such as \"" + example + "\"";
  EZONE_TRY(r.string(name, required, &text, fix));
  if (text.empty() && !required) return Status::ok();
  auto parsed = parse_host_port(text);
  if (!parsed) return r.error(name, parsed.status().message(), fix);
  *out = *parsed;
  return Status::ok();
}

Status read_ezone(TableReader& r, std::string* out) {
  EZONE_TRY(r.string("ezone", true, out, "set " + r.key("ezone") + " to the zone's name, e.g. \"bj\""));
  if (!valid_ezone_name(*out))
    return r.error("ezone", "'" + *out + "' is not a valid ezone name",
                   "use 1-32 characters from a-z, 0-9, '-' and '_'");
  return Status::ok();
}

Status read_node(const toml::table& root, NodeConfig& c) {
  const toml::node* node = root.get("node");
  if (!node || !node->is_table())
    return config_error(c.source, "node", "missing table [node]",
                        "add a [node] table with ezone, http, admin, cluster and data_dir");
  TableReader r(node->as_table(), "node", c.source);
  EZONE_TRY(read_ezone(r, &c.ezone));
  EZONE_TRY(read_address(r, "http", true, &c.http, "127.0.0.1:7100"));
  EZONE_TRY(read_address(r, "admin", true, &c.admin, "127.0.0.1:7101"));
  EZONE_TRY(read_address(r, "cluster", true, &c.cluster, "127.0.0.1:7102"));
  EZONE_TRY(r.boolean("allow_wildcard_bind", &c.allow_wildcard_bind));
  EZONE_TRY(r.string("data_dir", true, &c.data_dir,
                     "set node.data_dir to a writable directory, e.g. \"./data/bj\""));
  EZONE_TRY(r.string("log_level", false, &c.log_level, "use trace, debug, info, warn or error"));
  static const std::set<std::string> levels{"trace", "debug", "info", "warn", "error", "critical", "off"};
  if (!levels.count(c.log_level))
    return config_error(c.source, "node.log_level", "'" + c.log_level + "' is not a log level",
                        "use trace, debug, info, warn, error, critical or off");
  resolve_path(c.source, &c.data_dir);
  return r.no_unknown_keys("ezone, http, admin, cluster, allow_wildcard_bind, data_dir, log_level");
}

Status read_peer(const toml::node& node, size_t index, NodeConfig& c) {
  std::string path = "peers[" + std::to_string(index) + "]";
  if (!node.is_table())
    return config_error(c.source, path, "must be a table", "write each peer as a [[peers]] table");
  TableReader r(node.as_table(), path, c.source);
  PeerConfig peer;
  EZONE_TRY(read_ezone(r, &peer.ezone));
  EZONE_TRY(read_address(r, "cluster", true, &peer.cluster, "127.0.0.1:7202"));
  EZONE_TRY(read_address(r, "admin", false, &peer.admin, "127.0.0.1:7201"));
  EZONE_TRY(read_address(r, "http", false, &peer.http, "127.0.0.1:7200"));
  EZONE_TRY(r.no_unknown_keys("ezone, cluster, admin, http"));
  c.peers.push_back(std::move(peer));
  return Status::ok();
}

Status read_peers(const toml::table& root, NodeConfig& c) {
  const toml::node* node = root.get("peers");
  if (!node) return Status::ok();  // a single-zone cluster is legal
  const toml::array* peers = node->as_array();
  if (!peers)
    return config_error(c.source, "peers", "must be an array of tables",
                        "write each peer as a [[peers]] table");
  for (size_t i = 0; i < peers->size(); ++i) EZONE_TRY(read_peer(*peers->get(i), i, c));
  return Status::ok();
}

Status read_etcd(const toml::table& root, NodeConfig& c) {
  const toml::node* node = root.get("etcd");
  std::string fix = "add [etcd] with endpoints = [\"127.0.0.1:2379\"]";
  if (!node || !node->is_table()) return config_error(c.source, "etcd", "missing table [etcd]", fix);
  TableReader r(node->as_table(), "etcd", c.source);
  const toml::node* endpoints = r.get("endpoints");
  if (!endpoints) return config_error(c.source, "etcd.endpoints", "missing", fix);
  const toml::array* list = endpoints->as_array();
  if (!list || list->empty())
    return config_error(c.source, "etcd.endpoints", "must be a non-empty array of \"host:port\"", fix);
  // An endpoint may be written as etcd's own URLs are: http://H:P or
  // https://H:P. Every endpoint has the same scheme.
  std::string scheme;
  for (size_t i = 0; i < list->size(); ++i) {
    std::string key = "etcd.endpoints[" + std::to_string(i) + "]";
    auto text = list->get(i)->value<std::string>();
    if (!text) return config_error(c.source, key, "must be a string", fix);
    std::string address = *text;
    std::string this_scheme;
    for (const char* prefix : {"http://", "https://"}) {
      if (address.rfind(prefix, 0) == 0) {
        this_scheme = std::string(prefix, std::strlen(prefix) - 3);
        address.erase(0, std::strlen(prefix));
      }
    }
    if (!address.empty() && address.back() == '/') address.pop_back();
    if (i > 0 && this_scheme != scheme)
      return config_error(c.source, key, "'" + *text + "' has another scheme than etcd.endpoints[0]",
                          "write every endpoint the same way: all https:// (TLS) or all plain");
    scheme = this_scheme;
    auto parsed = parse_host_port(address);
    if (!parsed) return config_error(c.source, key, parsed.status().message(), fix);
    c.etcd.endpoints.push_back(*parsed);
  }
  EZONE_TRY(r.integer("request_timeout_ms", &c.etcd.request_timeout_ms, 10, 60000));
  if (scheme == "http" && r.get("ca_file") != nullptr)
    return config_error(c.source, "etcd.endpoints", "are http:// but etcd.ca_file is set",
                        "write the endpoints https:// (or without a scheme), or drop etcd.ca_file");
  EZONE_TRY(config_internal::read_client_tls(r, c.source, "etcd's",
                                             scheme == "https" ? "the endpoints are https://" : "", &c.etcd.tls));
  return r.no_unknown_keys("endpoints, request_timeout_ms, ca_file, cert_file, key_file");
}

Status read_timeouts(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "timeouts", c.source, &table));
  TableReader r(table, "timeouts", c.source);
  TimeoutsConfig& t = c.timeouts;
  EZONE_TRY(r.integer("heartbeat_interval_ms", &t.heartbeat_interval_ms, 10, 60000));
  EZONE_TRY(r.integer("connection_timeout_ms", &t.connection_timeout_ms, 20, 600000));
  EZONE_TRY(r.integer("peer_ping_interval_ms", &t.peer_ping_interval_ms, 10, 60000));
  EZONE_TRY(r.integer("peer_down_after_ms", &t.peer_down_after_ms, 20, 600000));
  EZONE_TRY(r.integer("reconnect_interval_ms", &t.reconnect_interval_ms, 10, 60000));
  EZONE_TRY(r.integer("connect_timeout_ms", &t.connect_timeout_ms, 10, 60000));
  EZONE_TRY(r.integer("lease_ttl_s", &t.lease_ttl_s, 1, 3600));
  EZONE_TRY(r.integer("etcd_check_interval_ms", &t.etcd_check_interval_ms, 10, 60000));
  EZONE_TRY(r.no_unknown_keys(
      "heartbeat_interval_ms, connection_timeout_ms, peer_ping_interval_ms, peer_down_after_ms, "
      "reconnect_interval_ms, connect_timeout_ms, lease_ttl_s, etcd_check_interval_ms"));
  if (t.connection_timeout_ms <= t.heartbeat_interval_ms)
    return config_error(c.source, "timeouts.connection_timeout_ms",
                        "must be larger than timeouts.heartbeat_interval_ms",
                        "set it to a few heartbeat intervals, e.g. 5x");
  if (t.peer_down_after_ms <= t.peer_ping_interval_ms)
    return config_error(c.source, "timeouts.peer_down_after_ms",
                        "must be larger than timeouts.peer_ping_interval_ms",
                        "set it to a few ping intervals, e.g. 6x");
  return Status::ok();
}

Status read_limits(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "limits", c.source, &table));
  TableReader r(table, "limits", c.source);
  LimitsConfig& l = c.limits;
  EZONE_TRY(r.integer("http_threads", &l.http_threads, 1, 256));
  EZONE_TRY(r.integer("admin_threads", &l.admin_threads, 1, 16));
  EZONE_TRY(r.integer("http_body_bytes_max", &l.http_body_bytes_max, 1024, int64_t{1} << 30));
  EZONE_TRY(r.integer("http_header_bytes_max", &l.http_header_bytes_max, 1024, int64_t{1} << 20));
  EZONE_TRY(r.integer("http_connections_max", &l.http_connections_max, 1, 1000000));
  EZONE_TRY(r.integer("http_idle_timeout_ms", &l.http_idle_timeout_ms, 100, 3600000));
  EZONE_TRY(r.integer("caf_worker_threads", &l.caf_worker_threads, 1, 256));
  return r.no_unknown_keys(
      "http_threads, admin_threads, http_body_bytes_max, http_header_bytes_max, "
      "http_connections_max, http_idle_timeout_ms, caf_worker_threads");
}

Status read_gzs(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "gzs", c.source, &table));
  TableReader r(table, "gzs", c.source);
  GzsConfig& g = c.gzs;
  EZONE_TRY(r.string("fences_dir", false, &g.fences_dir, "set gzs.fences_dir to a folder of GeoJSON files"));
  EZONE_TRY(r.string("shards_file", false, &g.shards_file, "set gzs.shards_file to a shard config file"));
  EZONE_TRY(r.string("merchants_file", false, &g.merchants_file, "set gzs.merchants_file to a CSV file"));
  EZONE_TRY(r.integer("minter_id", &g.minter_id, 0, 15));
  EZONE_TRY(r.no_unknown_keys("fences_dir, shards_file, merchants_file, minter_id"));
  if (!g.fences_dir.empty() && g.shards_file.empty())
    return config_error(c.source, "gzs.shards_file", "missing while gzs.fences_dir is set",
                        "name the file that groups the fences into shards");
  for (std::string* path : {&g.fences_dir, &g.shards_file, &g.merchants_file}) resolve_path(c.source, path);
  return Status::ok();
}

// A shared secret (core/shared_token.hpp) given as SECTION.KEY or
// SECTION.KEY_file: at most one of them. A file holds one token per line,
// two during a rotation.
Status read_token(TableReader& r, const NodeConfig& c, const std::string& section, const std::string& key,
                  const std::string& what, LiveToken* token) {
  const std::string file_key = key + "_file";
  std::string file, inline_token;
  EZONE_TRY(r.string(key, false, &inline_token, "set " + section + "." + key + " to a string"));
  *token = SharedToken(inline_token);
  EZONE_TRY(r.string(file_key, false, &file, "set " + section + "." + file_key + " to a file's path"));
  const std::string fix = "use 16 to 256 visible ASCII characters, the same at every site, e.g. from `openssl rand "
                          "-hex 32`";
  if (file.empty()) {
    if (token->empty()) return Status::ok();
    if (Status s = token->check(what); !s) return config_error(c.source, section + "." + key, s.message(), fix);
    return Status::ok();
  }
  if (!token->empty())
    return config_error(c.source, section + "." + file_key, "set together with " + section + "." + key,
                        "keep one of them (the file keeps the secret out of the config)");
  resolve_path(c.source, &file);
  auto text = read_token_file(file, what);
  if (!text) return config_error(c.source, section + "." + file_key, text.status().message(), fix);
  *token = LiveToken::from_file(std::move(*text), file);
  return Status::ok();
}

Status read_router(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "router", c.source, &table));
  TableReader r(table, "router", c.source);
  RouterSettings& t = c.router;
  EZONE_TRY(r.integer("hops_max", &t.hops_max, 1, 16));
  EZONE_TRY(r.integer("write_forbidden_hold_ms", &t.write_forbidden_hold_ms, 0, 60000));
  EZONE_TRY(r.integer("forwarded_key_hold_ms", &t.forwarded_key_hold_ms, 0, 60000));
  EZONE_TRY(r.integer("retry_after_s", &t.retry_after_s, 1, 3600));
  EZONE_TRY(r.integer("forward_timeout_ms", &t.forward_timeout_ms, 10, 600000));
  EZONE_TRY(r.integer("forward_connections_max", &t.forward_connections_max, 1, 100000));
  EZONE_TRY(r.integer("request_deadline_ms", &t.request_deadline_ms, 10, 3600000));
  EZONE_TRY(read_token(r, c, "router", "peer_token", "peer token", &t.peer_token));
  EZONE_TRY(read_token(r, c, "router", "service_token", "service token", &t.service_token));
  EZONE_TRY(r.no_unknown_keys(
      "hops_max, write_forbidden_hold_ms, forwarded_key_hold_ms, retry_after_s, forward_timeout_ms, "
      "forward_connections_max, request_deadline_ms, peer_token, peer_token_file, service_token, "
      "service_token_file"));
  // The owner holds a forwarded request while the forwarding router waits
  // for its answer: a hold as long as that wait ends as the forwarder's 504.
  if (t.forwarded_key_hold_ms >= t.forward_timeout_ms)
    return config_error(c.source, "router.forwarded_key_hold_ms", "must be less than router.forward_timeout_ms",
                        "a forwarded request held this long times out at the router that forwarded it; "
                        "keep it well below, e.g. half");
  return Status::ok();
}

Status read_dal(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "dal", c.source, &table));
  if (!table) return Status::ok();
  TableReader r(table, "dal", c.source);
  DalSettings& d = c.dal;
  d.enabled = true;
  EZONE_TRY(r.string("schema_file", true, &d.schema_file,
                     "set dal.schema_file to the tables' schema, e.g. \"../../schemas/takeout.toml\""));
  EZONE_TRY(r.string("db_file", false, &d.db_file,
                     "set dal.db_file to the SQLite file, or leave it out for <data_dir>/<ezone>.db"));
  std::string sync = "full";
  const std::string sync_fix =
      "use \"full\" (a commit survives power loss) or \"normal\" (faster; the last commits "
      "may be lost on power loss)";
  EZONE_TRY(r.string("synchronous", false, &sync, sync_fix));
  if (sync != "full" && sync != "normal")
    return r.error("synchronous", "'" + sync + "' is not a synchronous mode", sync_fix);
  d.synchronous_full = sync == "full";
  EZONE_TRY(r.integer("group_tx_max", &d.group_tx_max, 1, 100000));
  EZONE_TRY(r.integer("queue_tx_max", &d.queue_tx_max, 1, 10000000));
  EZONE_TRY(r.integer("feed_rows_max", &d.feed_rows_max, 1000, 100000000));
  EZONE_TRY(r.integer("statement_ms_max", &d.statement_ms_max, 0, 3600000));
  EZONE_TRY(r.integer("check_every_s", &d.check_every_s, 0, 604800));
  if (d.check_every_s > 0 && d.check_every_s < 60) {
    return r.error("check_every_s", "is " + std::to_string(d.check_every_s) + " s",
                   "use 0 (no scheduled check) or 60..604800 seconds");
  }
  EZONE_TRY(r.integer("check_chunk_rows", &d.check_chunk_rows, 1, 100000));
  EZONE_TRY(r.integer("check_pause_ms", &d.check_pause_ms, 0, 60000));
  EZONE_TRY(r.no_unknown_keys("schema_file, db_file, synchronous, group_tx_max, queue_tx_max, feed_rows_max, "
                              "statement_ms_max, check_every_s, check_chunk_rows, check_pause_ms"));
  if (d.schema_file.empty())
    return r.error("schema_file", "is empty", "name the schema file, e.g. \"../../schemas/takeout.toml\"");
  resolve_path(c.source, &d.schema_file);
  if (d.db_file.empty())
    d.db_file = c.data_dir + "/" + c.ezone + ".db";
  else
    resolve_path(c.source, &d.db_file);
  return Status::ok();
}

Status read_drc(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "drc", c.source, &table));
  if (!table) return Status::ok();
  if (!c.dal.enabled)
    return config_error(c.source, "drc", "[drc] is set but [dal] is missing; the DRC replicates the DAL's tables",
                        "add a [dal] section with schema_file, or remove [drc]");
  TableReader r(table, "drc", c.source);
  DrcSettings& d = c.drc;
  EZONE_TRY(r.integer("batch_rows_max", &d.batch_rows_max, 1, 1000000));
  EZONE_TRY(r.integer("batch_bytes_max", &d.batch_bytes_max, 4096, int64_t{64} << 20));
  EZONE_TRY(r.integer("pull_wait_ms", &d.pull_wait_ms, 0, 10000));
  EZONE_TRY(r.integer("pull_timeout_ms", &d.pull_timeout_ms, 1, 60000));
  EZONE_TRY(r.integer("retry_ms", &d.retry_ms, 1, 60000));
  EZONE_TRY(r.no_unknown_keys("batch_rows_max, batch_bytes_max, pull_wait_ms, pull_timeout_ms, retry_ms"));
  if (d.pull_timeout_ms <= d.pull_wait_ms)
    return r.error("pull_timeout_ms", "must be larger than drc.pull_wait_ms (the origin holds a pull that long)",
                   "set it to pull_wait_ms plus a few round trips, e.g. pull_wait_ms + 2500");
  return Status::ok();
}

Status read_app(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "app", c.source, &table));
  if (!table) return Status::ok();
  TableReader r(table, "app", c.source);
  EZONE_TRY(r.string("name", true, &c.app.name, "name the app, e.g. name = \"takeout\", or remove [app]"));
  EZONE_TRY(r.no_unknown_keys("name"));
  if (c.app.name.empty()) return r.error("name", "is empty", "name the app, e.g. name = \"takeout\", or remove [app]");
  if (!c.dal.enabled)
    return r.error("name", "an app keeps its data in the DAL, but [dal] is missing", "add a [dal] section with schema_file");
  return Status::ok();
}

Status read_coordinator(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "coordinator", c.source, &table));
  if (!table) return Status::ok();
  TableReader r(table, "coordinator", c.source);
  CoordinatorSettings& s = c.coordinator;
  EZONE_TRY(r.boolean("auto_failover", &s.auto_failover));
  EZONE_TRY(r.integer("ack_timeout_ms", &s.ack_timeout_ms, 100, 600000));
  EZONE_TRY(r.integer("apply_timeout_ms", &s.apply_timeout_ms, 100, 3600000));
  EZONE_TRY(r.integer("skew_margin_ms", &s.skew_margin_ms, 0, 60000));
  EZONE_TRY(r.integer("failover_wait_ms", &s.failover_wait_ms, 1000, 3600000));
  EZONE_TRY(r.integer("poll_ms", &s.poll_ms, 1, 1000));
  return r.no_unknown_keys("auto_failover, ack_timeout_ms, apply_timeout_ms, skew_margin_ms, failover_wait_ms, poll_ms");
}

Status read_admin(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "admin", c.source, &table));
  if (!table) return Status::ok();
  TableReader r(table, "admin", c.source);
  EZONE_TRY(r.boolean("allow_fault_injection", &c.admin_api.allow_fault_injection));
  EZONE_TRY(read_token(r, c, "admin", "token", "admin token", &c.admin_api.token));
  return r.no_unknown_keys("allow_fault_injection, token, token_file");
}

Status check_top_level(const toml::table& root, const std::string& source) {
  static const std::set<std::string> sections{"node", "peers", "etcd",        "timeouts", "limits", "gzs",     "router",
                                              "dal",  "drc",   "app",         "coordinator", "admin", "soa", "incident",
                                              "tracing", "cache", "tls"};
  for (const auto& [k, v] : root) {
    std::string name(k.str());
    if (!sections.count(name))
      return config_error(source, name, "unknown key",
                          "remove it or correct its spelling; top-level sections are "
                          "[node], [[peers]], [etcd], [timeouts], [limits], [gzs], [router], [dal], [drc], [app], [coordinator], "
                          "[admin], [soa], [incident], [tracing], [cache] and [tls]");
  }
  return Status::ok();
}

// Two nodes of one cluster must never claim the same ezone or address.
Status check_uniqueness(const NodeConfig& c) {
  std::set<std::string> ezones{c.ezone};
  std::set<std::string> clusters{c.cluster.to_string()};
  for (size_t i = 0; i < c.peers.size(); ++i) {
    std::string path = "peers[" + std::to_string(i) + "]";
    const PeerConfig& p = c.peers[i];
    if (!ezones.insert(p.ezone).second)
      return config_error(c.source, path + ".ezone", "duplicate ezone '" + p.ezone + "'",
                          "give every node and peer its own ezone name");
    if (!clusters.insert(p.cluster.to_string()).second)
      return config_error(c.source, path + ".cluster",
                          "duplicate cluster address " + p.cluster.to_string(),
                          "give every node its own cluster address");
  }
  std::set<std::string> own{c.http.to_string()};
  if (!own.insert(c.admin.to_string()).second)
    return config_error(c.source, "node.admin", "same address as node.http",
                        "use a different port for node.admin");
  if (!own.insert(c.cluster.to_string()).second)
    return config_error(c.source, "node.cluster", "same address as node.http or node.admin",
                        "use a different port for node.cluster");
  return Status::ok();
}

Status check_wildcards(const NodeConfig& c) {
  if (c.allow_wildcard_bind) return Status::ok();
  const std::pair<const char*, const HostPort*> addrs[] = {
      {"node.http", &c.http}, {"node.admin", &c.admin}, {"node.cluster", &c.cluster}};
  for (const auto& [key, addr] : addrs)
    if (is_wildcard_host(addr->host))
      return config_error(c.source, key, addr->to_string() + " binds every interface",
                          "bind an explicit address, or set node.allow_wildcard_bind = true");
  return Status::ok();
}

}  // namespace

Result<NodeConfig> parse_node_config(const std::string& text, const std::string& source) {
  NodeConfig c;
  c.source = source;
  auto parsed = config_internal::parse_toml(text, source);
  if (!parsed) return parsed.status();
  const toml::table& root = *parsed;
  EZONE_TRY(check_top_level(root, source));
  EZONE_TRY(read_node(root, c));
  EZONE_TRY(read_peers(root, c));
  EZONE_TRY(read_etcd(root, c));
  EZONE_TRY(read_timeouts(root, c));
  EZONE_TRY(read_limits(root, c));
  EZONE_TRY(read_gzs(root, c));
  EZONE_TRY(read_router(root, c));
  EZONE_TRY(read_dal(root, c));
  EZONE_TRY(read_drc(root, c));
  EZONE_TRY(read_app(root, c));
  EZONE_TRY(read_coordinator(root, c));
  EZONE_TRY(read_admin(root, c));
  EZONE_TRY(check_uniqueness(c));
  EZONE_TRY(config_internal::read_soa(root, c));
  EZONE_TRY(config_internal::read_incident(root, c));
  EZONE_TRY(config_internal::read_tracing(root, c));
  EZONE_TRY(config_internal::read_cache(root, c));
  EZONE_TRY(config_internal::read_tls(root, c));
  EZONE_TRY(check_wildcards(c));
  return c;
}

Result<NodeConfig> load_node_config(const std::string& path) {
  auto text = read_text_file(path, "config file",
                                              "pass an existing, readable file to --config");
  if (!text) return text.status();
  auto config = parse_node_config(*text, path);
  if (!config || !config->dal.enabled) return config;
  // A broken schema is a config error: report it now, not when the DAL opens.
  auto schema = load_node_schema(*config);
  if (!schema) return schema.status();
  for (const std::string& table : config->cache.tables) {
    const data::TableSpec* spec = schema->find(table);
    if (!spec || spec->kind == data::TableKind::local)
      return config_internal::config_error(
          path, "cache.tables",
          "'" + table + (spec ? "' is a local table: its changes are not in the change feed, so its rows could not be "
                                "invalidated"
                              : "' is not in the schema (" + config->dal.schema_file + ")"),
          "list sharding-zone or global-zone tables of the schema");
  }
  return config;
}

}  // namespace ezone
