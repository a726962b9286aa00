// Real etcd members for tests: single ones (EtcdProcess) and small clusters
// (EtcdCluster), each on loopback ports chosen at run time (or at the hosts
// and network namespaces of EtcdOptions::placements) and a temporary
// directory of its own (/tmp/ezone-etcd-XXXXXX holding data/ and etcd.log).
//
// Everything is bounded and cleaned up: starting waits at most
// start_timeout_ms for /health, a port grabbed by someone else between
// choosing and binding is retried with new ports, and destructors kill and
// reap the processes and remove their directories.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/address.hpp"
#include "core/status.hpp"
#include "storage/net/tls.hpp"
#include "tests/support/child_process.hpp"

namespace ezone::test {

// Where a member listens: its host, and the network namespace it runs in.
struct EtcdPlacement {
  std::string host = "127.0.0.1";
  std::string netns;  // a namespace file (ChildOptions::netns); empty = the caller's
};

struct EtcdOptions {
  std::string program = "etcd";  // a name on PATH or a path; falls back to /usr/bin/etcd
  std::string name = "ezone-test";
  int64_t start_timeout_ms = 20000;
  // Fast elections as in DESIGN.md's measurements. They also lower etcd's
  // minimum lease TTL to 1 s (it is 1.5 election timeouts, rounded up).
  int64_t heartbeat_ms = 50;
  int64_t election_ms = 500;
  std::vector<std::string> extra_args;
  // Member i runs at placements[i]; members past its end on loopback.
  std::vector<EtcdPlacement> placements;
  // A directory of tools/tls/make-certs files (tests/data/tls): clients
  // then reach etcd over TLS (https:// client URLs, --cert-file node.crt,
  // which names 127.0.0.1 only). Peer URLs stay plain.
  std::string tls_dir;
  // With tls_dir: etcd asks every client for a certificate signed by
  // ca.crt (--client-cert-auth); the health probe presents client.crt.
  bool tls_client_certs = false;
};

// Where one member lives; fixed for its lifetime so restarts reuse it.
struct EtcdMemberSpec {
  std::string name;
  EtcdPlacement placement;
  uint16_t client_port = 0;
  uint16_t peer_port = 0;
  std::string initial_cluster;  // "a=http://HOST:P1,b=..."
  std::string cluster_token;
};

class EtcdProcess {
 public:
  // Starts a one-member cluster and waits until it is healthy. Returns
  // not_found when no etcd binary exists, unavailable (with the end of the
  // log) when it does not become healthy in time.
  static Result<std::unique_ptr<EtcdProcess>> start(const EtcdOptions& options = {});
  ~EtcdProcess();
  EtcdProcess(const EtcdProcess&) = delete;
  EtcdProcess& operator=(const EtcdProcess&) = delete;

  HostPort endpoint() const { return {spec_.placement.host, spec_.client_port}; }
  HostPort peer_endpoint() const { return {spec_.placement.host, spec_.peer_port}; }
  const std::string& name() const { return spec_.name; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& log_path() const { return log_path_; }
  std::string log_tail(size_t bytes = 2000) const;

  bool running();
  // SIGTERM, then SIGKILL after grace_ms; reaps. Keeps ports and data.
  void stop(int64_t grace_ms = 5000);
  void kill9();
  // Pause / resume; they return once the process has really stopped /
  // resumed (see ChildProcess), false when that did not happen.
  bool sigstop();
  bool sigcont();
  // Starts etcd again on the same ports and data dir. wait_until_healthy
  // false suits cluster members, which need a quorum before /health says ok.
  Status restart(bool wait_until_healthy = true);
  // Polls /health until it reports ok; unavailable when the process exits
  // or timeout_ms passes.
  Status wait_healthy(int64_t timeout_ms);

 private:
  friend class EtcdCluster;
  // Creates the directory and launches, without waiting for health.
  static Result<std::unique_ptr<EtcdProcess>> launch(const EtcdOptions& options,
                                                     EtcdMemberSpec spec);
  EtcdProcess(EtcdOptions options, EtcdMemberSpec spec, std::string root_dir);
  Status spawn();

  EtcdOptions options_;
  EtcdMemberSpec spec_;
  std::string root_dir_;
  std::string data_dir_;
  std::string log_path_;
  std::unique_ptr<ChildProcess> child_;
  // The health probe's client context (tls_dir: ca.crt, and client.crt
  // with tls_client_certs); null for a plain etcd.
  net::TlsContextPtr client_tls_;
};

// N members (3 for quorum tests) of one cluster, on loopback unless
// EtcdOptions::placements says otherwise.
class EtcdCluster {
 public:
  // Starts every member, then waits until each one reports healthy.
  static Result<std::unique_ptr<EtcdCluster>> start(size_t members = 3,
                                                    const EtcdOptions& options = {});
  std::vector<HostPort> endpoints() const;
  EtcdProcess& member(size_t index) { return *members_.at(index); }
  size_t size() const { return members_.size(); }
  Status wait_healthy(int64_t timeout_ms);

 private:
  std::vector<std::unique_ptr<EtcdProcess>> members_;
};

}  // namespace ezone::test
