// The optional [tls] section of a node config: node.admin (and with
// http = true node.http, with cluster = true the cluster port) over TLS,
// for the node's own listeners and for its calls to its peers'
// (storage/net/tls.hpp).
//
//   [tls]
//   cert_file = "tls/bj.crt"  # this node's certificate (PEM, leaf first); it
//                             # must name the host of node.admin (and of
//                             # node.http, with http; of node.cluster, with
//                             # cluster) as peers and operators dial it (IP
//                             # or DNS name)
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
//   cluster = false           # true: the cluster port (DRC pulls,
//                             # membership) speaks mutual TLS: each node
//                             # presents cert_file, and requires from its
//                             # peers a certificate from ca_file that names
//                             # the peer's `cluster` host as dialled
//                             # (actors/cluster/bounded_backend.hpp)
//
// tools/tls/make-certs makes a CA and the certificates. The files are read
// and checked with the config (so `ezoned --check` catches a bad one), and
// again at each token reload (SIGHUP; actors/node/admin_tokens.hpp): a
// renewed certificate needs no restart. Changing the keys of [tls] does.
// Every node of a cluster has the same [tls] keys (with its own
// certificate): a node with cluster = true and one without cannot talk.
//
// TLS to etcd has its own keys in [etcd], since etcd's certificates often
// come from another CA than the nodes' (read_client_tls; [soa] has the same
// three keys for its instances, soa_config.hpp):
//
//   [etcd]
//   endpoints = ["https://10.0.0.5:2379", ...]  # or host:port with ca_file
//   ca_file = "tls/etcd-ca.crt"   # etcd's --trusted-ca-file side: the CA
//                                 # that signed etcd's --cert-file; turns
//                                 # TLS to etcd on
//   cert_file = "tls/bj-etcd.crt" # optional, with key_file: this node's
//   key_file = "tls/bj-etcd.key"  # certificate, for etcd started with
//                                 # --client-cert-auth
//
// The same reload (SIGHUP) reads those files again too.
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
  EZONE_TRY(r.boolean("cluster", &t.cluster));
  EZONE_TRY(r.no_unknown_keys("cert_file, key_file, ca_file, client_certs, http, cluster"));
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
  if (t.cluster) {
    auto cluster = net::TlsContext::server({t.cert_file, t.key_file, t.ca_file});
    if (!cluster) return r.error("cert_file", cluster.status().message(), fix);
    t.cluster_server = *cluster;
  }
  return Status::ok();
}

Status read_client_tls(TableReader& r, const std::string& source, const std::string& whose,
                       const std::string& required_because, net::ClientTls* out) {
  net::TlsFiles& f = out->files;
  const std::pair<const char*, std::string*> files[] = {
      {"ca_file", &f.ca_file}, {"cert_file", &f.cert_file}, {"key_file", &f.key_file}};
  for (const auto& [key, path] : files) {
    EZONE_TRY(r.string(key, false, path, "set it to a PEM file's path"));
    if (r.get(key) != nullptr && path->empty()) return r.error(key, "is empty", "set it to a PEM file's path");
    resolve_path(source, path);
  }
  const std::string set_ca = "set ca_file to the CA that signed " + whose + " certificates";
  if (f.ca_file.empty()) {
    if (!required_because.empty()) return r.error("ca_file", "missing: " + required_because, set_ca);
    if (!f.cert_file.empty() || !f.key_file.empty())
      return r.error(f.cert_file.empty() ? "key_file" : "cert_file", "is set without ca_file",
                     set_ca + " (TLS needs it)");
    return Status::ok();
  }
  if (f.cert_file.empty() != f.key_file.empty())
    return r.error(f.cert_file.empty() ? "cert_file" : "key_file", "missing",
                   "set both cert_file and key_file, or neither");
  auto client = net::TlsContext::client(f);
  if (!client) {
    // The error names the file; the key named is the one that holds it.
    std::string key = "ca_file";
    for (const auto& [name, path] : files) {
      if (!path->empty() && client.status().message().find(*path) != std::string::npos) {
        key = name;
        break;
      }
    }
    return r.error(key, client.status().message(),
                   "point the key at a readable PEM file (" + whose +
                       " CA, or this node's certificate and its key)");
  }
  out->context = *client;
  return Status::ok();
}

}  // namespace ezone::config_internal
