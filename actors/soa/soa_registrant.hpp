// SoaRegistrant: keeps one service instance registered with its zone's
// node, the client side of soa_registry.hpp. A service written in C++
// links it; `ezctl soa register` runs it beside a service that cannot
// (a sidecar); examples/soa_echo uses it for --register.
//
// On its own thread it registers (POST /admin/v1/soa/instances), renews
// the lease every keepalive_ms the node gave (a third of the TTL), and
// registers again when a renewal says the lease is gone (it expired while
// the node or etcd was out of reach, or the node lost it). A failed call
// is retried after retry_ms, except a registration the node refuses as
// malformed (400: a bad address, a TTL above its maximum) or as lacking
// its admin token (401: none or the wrong one given): that cannot succeed,
// so the registrant gives up and says so in state().refused. With an
// admin_token_file a 401 is retried instead: the file is read again before
// every call, so a token rotation (core/shared_token.hpp) reaches a
// running registrant when its file changes, with no restart.
// (An unknown service, 404, is retried: a rolling config change may
// declare it.) stop() deregisters (DELETE, best effort: an
// unreachable node leaves the lease to expire) and joins. Every change of
// state is reported once through on_change, as one line for a log.
//
// The header is free of CAF and Beast.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "core/address.hpp"
#include "core/status.hpp"
#include "storage/net/http_client.hpp"

namespace ezone {

struct SoaRegistrantOptions {
  HostPort node;            // the node's admin address (node.admin of its config)
  std::string service;      // declared in the node's [soa]
  std::string address;      // "host:port" the instance serves on
  int64_t ttl_s = 10;       // the lease; the node caps it at registration_ttl_max_s
  int64_t retry_ms = 1000;  // after a call that failed
  int64_t request_timeout_ms = 3000;
  std::string admin_token;  // the node's [admin] token, when it has one
  // A file holding it (the first line is sent), read before every call;
  // when set, admin_token is not used. An unreadable file keeps the token
  // last read, and says so through on_change.
  std::string admin_token_file;
  std::function<void(const std::string&)> on_change;  // may be empty
  net::TlsContextPtr tls;  // a client context when node.admin speaks TLS ([tls]); null: plain
};

struct SoaRegistrantState {
  bool registered = false;
  int64_t lease = 0;           // 0 while not registered
  uint64_t registrations = 0;  // successful registrations, the first and every one after a lost lease
  std::string last_error;      // of the last failed call; empty after a success
  bool refused = false;        // the node refused the registration as malformed; no more tries
};

class SoaRegistrant {
 public:
  explicit SoaRegistrant(SoaRegistrantOptions options);  // starts registering
  ~SoaRegistrant();
  SoaRegistrant(const SoaRegistrant&) = delete;
  SoaRegistrant& operator=(const SoaRegistrant&) = delete;

  // Deregisters and joins. Idempotent.
  void stop();
  SoaRegistrantState state() const;

 private:
  void run();
  bool register_once();   // true when registered
  bool renew_once();      // false when the lease is gone (then state_.lease is 0) or the call failed
  void deregister();
  void note(const std::string& line);
  Result<net::HttpResponse> call(const std::string& method, const std::string& target, const std::string& body);
  bool sleep_ms(int64_t ms);  // false when stopping

  std::string admin_token();  // options_.admin_token, or admin_token_file's

  const SoaRegistrantOptions options_;
  std::string file_token_;  // the last token read from admin_token_file
  int64_t keepalive_ms_ = 1000;
  std::string last_line_;

  mutable std::mutex mutex_;  // guards the fields below
  std::condition_variable wake_;
  bool stopping_ = false;
  SoaRegistrantState state_;
  std::thread thread_;
};

}  // namespace ezone
