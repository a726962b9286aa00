// The optional [tls] section of a node config: node.admin (and with
// http = true node.http) over TLS, for the node's own listeners and for its
// calls to its peers' (storage/net/tls.hpp).
//
//   [tls]
//   cert_file = "tls/bj.crt"  # this node's certificate (PEM, leaf first); it
//                             # must name the host of node.admin (and of
//                             # node.http, with http) as peers and
//                             # operators dial it (IP or DNS name)
//   key_file = "tls/bj.key"   # its private key
//   ca_file = "tls/ca.crt"    # the cluster's CA: peers' node.admin must
//                             # present a certificate it signed
//   client_certs = false      # true: node.admin also asks every client
//                             # (ezctl, peers, SOA registrants) for a
//                             # certificate signed by ca_file (mutual TLS)
//   http = false              # true: node.http speaks TLS too, and the
//                             # router forwards to its peers' node.http
//                             # over TLS. Its clients (apps, services,
//                             # loadgen --ca-file) need no certificate:
//                             # the service and peer tokens authenticate
//                             # them there
//
// tools/tls/make-certs makes a CA and the certificates. The files are read
// and checked with the config (so `ezoned --check` catches a bad one), and
// again at each token reload (SIGHUP; actors/node/admin_tokens.hpp): a
// renewed certificate needs no restart. Changing the keys of [tls] does.
// Every node of a cluster has the same [tls] keys (with its own
// certificate). The cluster port (DRC, membership) stays plain.
#include "config/node_config.hpp"
#include "config/toml_reader.hpp"

namespace ezone::config_internal {

Status read_tls(const toml::table& root, NodeConfig& c) {
  const toml::table* table = nullptr;
  EZONE_TRY(optional_section(root, "tls", c.source, &table));
  if (!table) return Status::ok();
  TableReader r(table, "tls", c.source);
  TlsSettings& t = c.tls;
  const std::pair<const char*, std::string*> files[] = {
      {"cert_file", &t.cert_file}, {"key_file", &t.key_file}, {"ca_file", &t.ca_file}};
  for (const auto& [key, path] : files) {
    EZONE_TRY(r.string(key, true, path, "set tls." + std::string(key) + " to a PEM file's path"));
    if (path->empty()) return r.error(key, "is empty", "set it to a PEM file's path");
    resolve_path(c.source, path);
  }
  EZONE_TRY(r.boolean("client_certs", &t.client_certs));
  EZONE_TRY(r.boolean("http", &t.http));
  EZONE_TRY(r.no_unknown_keys("cert_file, key_file, ca_file, client_certs, http"));
  const std::string fix = "make the files with tools/tls/make-certs, or point the key at readable PEM files";
  auto server = net::TlsContext::server({t.cert_file, t.key_file, t.client_certs ? t.ca_file : ""});
  if (!server) return r.error("cert_file", server.status().message(), fix);
  auto client = net::TlsContext::client({t.cert_file, t.key_file, t.ca_file});
  if (!client) return r.error("ca_file", client.status().message(), fix);
  t.server = *server;
  t.client = *client;
  if (t.http) {
    auto http = net::TlsContext::server({t.cert_file, t.key_file, ""});
    if (!http) return r.error("cert_file", http.status().message(), fix);
    t.http_server = *http;
  }
  return Status::ok();
}

}  // namespace ezone::config_internal
