// Reloading a node's token files while it runs (core/shared_token.hpp,
// LiveToken), so that each step of a rotation is a file change and a reload
// rather than a restart. ezoned reloads on SIGHUP; an embedder calls
// Node::reload_tokens; an operator may also ask over the admin API:
//
//   POST /admin/v1/tokens/reload   200 with the report below when every
//                                  token file was read (changed or not);
//                                  500 with the same report when one could
//                                  not be: that token stays as it was, the
//                                  others are reloaded all the same.
//     {"ezone": "bj", "ok": true,
//      "tokens": [{"token": "admin", "file": "/etc/ezone/admin_token",
//                  "outcome": "changed"}, ...]}
//     outcome: changed | unchanged | not_a_file (the token is in the config
//     itself, or there is none) | failed (with "error": what is wrong).
//   With [tls], one more entry, "tls" (file: the certificate): its
//   certificate, key and CA files are read again, and new connections of
//   node.admin, node.http and this node's calls to its peers use them; open
//   connections keep theirs. A file that cannot be loaded keeps the ones in
//   use. With TLS to etcd ([etcd] ca_file), one more, "etcd_tls" (file: the
//   certificate, or the CA without one): the etcd client's files, for its
//   next connections; with [soa] ca_file, "soa_tls": the SOA proxy's, for
//   its next connections to instances.
//
// The request itself needs the admin token as it stands before the reload.
// Every outcome counts in ezone_token_reloads_total{token, outcome}; a
// reload is logged (event=tokens_reloaded; event=token_reload_failed at
// error level, naming the file). Token values are never logged or shown.
// A token file that others than its owner may read is logged at warn level
// when the node starts and at each reload (event=token_file_exposed).
#pragma once

#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "actors/http/http_types.hpp"
#include "config/node_config.hpp"
#include "core/metrics.hpp"

namespace spdlog {
class logger;
}

namespace ezone {

struct TokenReloadEntry {
  std::string token;    // "admin", "service", "peer", "tls", "etcd_tls" or "soa_tls"
  std::string file;     // "" when the token is not from a file
  std::string outcome;  // to_string(TokenReload), or "failed"
  std::string error;    // when failed
};

struct TokenReloadReport {
  std::string ezone;
  std::vector<TokenReloadEntry> tokens;
  bool ok() const;  // no token failed
  std::string to_json() const;
};

// Reloads the tokens of one node's config. The config's LiveTokens are
// shared with the router and the coordinator, which see a change from their
// next request. Thread-safe; config must outlive it.
class TokenReloader {
 public:
  TokenReloader(const NodeConfig& config, Metrics& metrics, std::shared_ptr<spdlog::logger> logger);
  TokenReloadReport reload(const std::string& cause);

 private:
  void warn_if_exposed(const LiveToken& token, const char* name) const;
  TokenReloadEntry reload_tls(const char* name, const std::string& file,
                              std::initializer_list<net::TlsContextPtr> contexts, const std::string& cause);
  void warn_if_tls_key_exposed() const;
  void count(const std::string& token, const std::string& outcome);
  struct Token {
    const char* name;
    const LiveToken* live;
    const char* what;  // for error messages: "admin token"
  };
  const NodeConfig& config_;
  Metrics& metrics_;
  std::shared_ptr<spdlog::logger> logger_;
  std::vector<Token> tokens_;
  std::mutex mutex_;  // one reload at a time, so reports and logs do not interleave
};

// An answer for POST /admin/v1/tokens/reload (405 for another method),
// nullopt for any other path.
std::optional<HttpResponse> handle_token_admin(TokenReloader& reloader, const HttpRequest& req);

}  // namespace ezone
