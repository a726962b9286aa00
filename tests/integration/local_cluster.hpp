// LocalCluster: a real etcd plus N real ezoned processes on loopback, on
// ports chosen at run time, for integration tests and the failure-detection
// benchmark. Every process it starts is stopped by its destructor.
//
// With LocalClusterOptions::netns each zone is an IDC of its own instead: a
// network namespace (tests/support/netns.hpp) holding its ezoned and its
// etcd member, both on the namespace's address; each witness etcd member
// has a namespace too, and the thread that calls start() moves into a
// "client" namespace from which it reaches them all (as do the threads and
// children it starts later, e.g. ShardWriter and ezctl). netns() then cuts
// and heals links between them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/address.hpp"
#include "core/status.hpp"
#include "storage/net/http_client.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/etcd_process.hpp"
#include "tests/support/netns.hpp"

namespace ezone::test {

struct LocalClusterOptions {
  std::vector<std::string> ezones{"bj", "sh"};
  std::string bin_dir;  // holds ezoned and ezctl; empty = this build's tools/
  // Extra lines for each node's [timeouts] table, e.g. "peer_down_after_ms = 600".
  std::string timeouts_toml;
  // Lines for each node's [gzs] table (paths absolute), e.g. the real fences;
  // "minter_id" is added per zone. Empty: no [gzs] table (no fences, no shards).
  std::string gzs_toml;
  std::string log_level = "info";
  // Appended to every node's config, e.g. "[dal]\nschema_file = ..." (paths absolute).
  std::string extra_toml;
  // Lines for each node's [admin] table (extra_toml must then have none),
  // e.g. "allow_fault_injection = true".
  std::string admin_toml;
  // The cluster's admin token ([admin] token_file, written beside the
  // configs). admin_request, status and the ezctl helpers send it. Empty:
  // the admin APIs are open.
  std::string admin_token;
  // The cluster's service token ([router] service_token_file; extra_toml
  // must then have no [router] table), for node.http's internal endpoints.
  std::string service_token;
  // How long start() waits for each zone's /healthz (the 392 real fences
  // take ~15 s to index on a loaded 2-core machine).
  int64_t ready_timeout_ms = 20000;
  // etcd members. 1: one member for all. 3 or more: a cluster, one member
  // per zone in ezones order (listed first in that zone's config, the
  // others after it) and the rest as witnesses with no ezoned.
  size_t etcd_members = 1;
  // One network namespace per zone and witness (see above). Requires root,
  // `ip` and etcd_members >= ezones.size() (NetnsTopology::probe() tells
  // whether the machine allows it). Off: everything on loopback here.
  bool netns = false;
  // A directory of tools/tls/make-certs files (ca.crt, node.crt/.key naming
  // 127.0.0.1, client.crt/.key): every node gets [tls] with them, and the
  // helpers and ezctl speak TLS to node.admin (not with netns: the
  // certificate names loopback only). Empty: plain HTTP.
  std::string tls_dir;
  // [tls] client_certs: the helpers and ezctl then present client.crt.
  bool tls_client_certs = false;
  // [tls] http: node.http speaks TLS too (http_tls() is then the client
  // context for it).
  bool tls_http = false;
  // [tls] cluster: the cluster port (DRC, membership) speaks mutual TLS.
  bool tls_cluster = false;
  // With tls_dir: etcd too serves TLS and asks for client certificates
  // (EtcdOptions::tls_client_certs); each node's [etcd] has https://
  // endpoints, ca_file and node.crt as its certificate.
  bool etcd_tls = false;
};

struct ZoneAddresses {
  HostPort http, admin, cluster;
};

class LocalCluster {
 public:
  // Starts etcd and every zone, and waits (bounded) until each zone's admin
  // endpoint answers. Fails with the end of the failing process's log.
  static Result<std::unique_ptr<LocalCluster>> start(LocalClusterOptions options);
  ~LocalCluster();

  const ZoneAddresses& addresses(const std::string& ezone) const { return zones_.at(ezone).addr; }
  const std::vector<std::string>& ezones() const { return options_.ezones; }
  const std::string& service_token() const { return options_.service_token; }
  // The client context for node.admin / node.http when they speak TLS (null: plain).
  const net::TlsContextPtr& admin_tls() const { return admin_tls_; }
  net::TlsContextPtr http_tls() const { return options_.tls_http ? admin_tls_ : nullptr; }
  const std::string& config_path(const std::string& ezone) const { return zones_.at(ezone).config; }
  const std::string& log_path(const std::string& ezone) const { return zones_.at(ezone).log; }
  std::string log_tail(const std::string& ezone, size_t bytes = 3000) const;
  // The single etcd, or member 0 of the cluster.
  EtcdProcess& etcd() { return etcd_ ? *etcd_ : etcd_cluster_->member(0); }
  // Member i (0 with a single etcd); the member of zone k is member k.
  EtcdProcess& etcd_member(size_t i) { return etcd_ ? *etcd_ : etcd_cluster_->member(i); }
  size_t etcd_member_count() const { return etcd_ ? 1 : etcd_cluster_->size(); }
  ChildProcess& process(const std::string& ezone) { return *zones_.at(ezone).process; }
  // The namespaces when options.netns is set (members: each zone, "witness<i>"
  // for etcd member i past the zones, and "client"); null otherwise.
  NetnsTopology* netns() { return netns_.get(); }

  // Starts (or restarts, after kill9) a zone's ezoned on the same ports and
  // config, with `env` added to its environment (fault hooks). Does not wait
  // for it to be ready.
  Status start_zone(const std::string& ezone, std::vector<std::pair<std::string, std::string>> env = {});
  // Replaces the cluster's admin token file with `text` (one token per line,
  // written whole: a temporary file renamed over it) and, with `signal`,
  // sends SIGHUP to every zone's ezoned, which re-reads it (asynchronously:
  // wait for reloads_logged). From then on the helpers send `client_token`.
  Status rotate_admin_token(const std::string& text, const std::string& client_token, bool signal = true);
  // How many reloads of its token files a zone has logged (event=tokens_reloaded).
  size_t reloads_logged(const std::string& ezone) const;
  // Waits until the zone's /healthz answers, up to timeout_ms.
  Status wait_ready(const std::string& ezone, int64_t timeout_ms);

  // One request to a zone's admin API, with the admin token when there is one.
  Result<net::HttpResponse> admin_request(const std::string& ezone, const std::string& method,
                                          const std::string& target, const std::string& body = "",
                                          int64_t timeout_ms = 2000) const;
  // GET /admin/v1/cluster straight over HTTP.
  Result<nlohmann::json> status(const std::string& ezone, int64_t timeout_ms = 2000) const;
  // The same through the ezctl binary: `ezctl --node ADMIN status --json`.
  // Returns the parsed output, or an error carrying ezctl's output and exit code.
  Result<nlohmann::json> ezctl_status(const std::string& ezone) const;
  // Runs ezctl with args, waiting at most wait_ms (then it is killed, and
  // the code is -1); returns {exit code, stdout+stderr}. EZCTL_NODE is
  // empty in its environment unless `node_env` sets it, and
  // EZONE_ADMIN_TOKEN and EZONE_SERVICE_TOKEN are the cluster's tokens ("" without).
  std::pair<int, std::string> run_ezctl(const std::vector<std::string>& args, int64_t wait_ms = 10000,
                                        const std::string& node_env = "") const;
  // As run_ezctl, with env (added to the test runner's environment) in place
  // of run_ezctl's EZCTL_NODE and EZONE_ADMIN_TOKEN.
  std::pair<int, std::string> run_ezctl_env(const std::vector<std::string>& args,
                                            std::vector<std::pair<std::string, std::string>> env,
                                            int64_t wait_ms = 10000) const;
  // Runs ezoned with args (for its one-shot commands: --check,
  // --reseed-from), like run_ezctl.
  std::pair<int, std::string> run_ezoned(const std::vector<std::string>& args, int64_t wait_ms = 60000) const;
  // A zone's SQLite file (dal.db_file's default).
  std::string db_path(const std::string& ezone) const { return dir_ + "/data-" + ezone + "/" + ezone + ".db"; }
  // ezctl against one zone's admin address: {exit code, output}.
  std::pair<int, std::string> ezctl(const std::string& ezone, std::vector<std::string> args,
                                    int64_t wait_ms = 10000) const;

  // The state ("up", "down", "connecting") that `observer` reports for `peer`,
  // and the peer entry itself; empty when the observer cannot be asked.
  static nlohmann::json peer_entry(const nlohmann::json& status, const std::string& peer);

 private:
  struct Zone {
    ZoneAddresses addr;
    std::string config;
    std::string log;
    std::unique_ptr<ChildProcess> process;
  };
  explicit LocalCluster(LocalClusterOptions options) : options_(std::move(options)) {}
  // ezctl's environment for node.admin over TLS (empty values without).
  std::vector<std::pair<std::string, std::string>> tls_env() const;
  Status write_configs();
  Status start_netns();
  Status start_etcd();
  std::pair<int, std::string> run_binary(const std::string& name, const std::vector<std::string>& args,
                                         int64_t wait_ms, std::vector<std::pair<std::string, std::string>> env) const;
  // Where etcd member i runs: its zone, or witness<i>.
  std::string etcd_site(size_t member) const;

  LocalClusterOptions options_;
  net::TlsContextPtr admin_tls_;  // options.tls_dir: the helpers' client context
  std::string dir_;
  std::string etcd_endpoints_toml(size_t zone_index) const;

  std::unique_ptr<NetnsTopology> netns_;        // options.netns; outlives every process
  std::unique_ptr<EtcdProcess> etcd_;           // etcd_members == 1
  std::unique_ptr<EtcdCluster> etcd_cluster_;   // etcd_members > 1
  std::map<std::string, Zone> zones_;
};

}  // namespace ezone::test
