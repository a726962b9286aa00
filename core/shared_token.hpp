// The cluster's shared secrets, each configured as a string or a file:
//   the peer token   ([router] peer_token or peer_token_file): a router adds
//                    it to every request it forwards, so that the receiving
//                    router can tell a peer's route trail from a client's
//                    (actors/router/route_trail.hpp, "Trust");
//   the service token ([router] service_token or service_token_file): every
//                    request to an internal endpoint of node.http (the
//                    DAL's /dal/v1/tx, the change feed, the SOA proxy, the
//                    GZS probe) must carry it as "X-Ezone-Service-Token:
//                    TOKEN" (actors/router/router.hpp); the router removes
//                    it before a handler runs;
//   the admin token  ([admin] token or token_file): every request to a
//                    node's admin API but GET /healthz and GET /metrics must
//                    carry it as "Authorization: Bearer TOKEN"
//                    (actors/node/admin_api.hpp). Peers send it too (the
//                    coordinator's site probe, a re-seed), so every node of
//                    a cluster has the same one.
//
// Rotation, one node at a time: a token file may hold two tokens, one per
// line. A node sends the first and accepts either (SharedToken). To move
// from OLD to NEW: (1) every node's file becomes "OLD\nNEW", restarted one
// by one; (2) "NEW\nOLD", one by one; (3) the clients move to NEW; (4) "NEW".
// At every moment each node accepts what every other sends.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace ezone {

// A token travels as a header value: kTokenBytesMin..kTokenBytesMax visible
// ASCII characters, no spaces.
constexpr size_t kTokenBytesMin = 16;
constexpr size_t kTokenBytesMax = 256;

// invalid_argument naming what ("peer token") and the rule the token breaks.
Status check_token(const std::string& token, const std::string& what);

// Compares every byte whatever the first difference, so the time taken
// does not tell a client how much of a guess was right.
bool token_equals(const std::string& sent, const std::string& token);

// A node's copy of one shared secret: the token it sends, and the tokens
// it accepts (that one, and during a rotation the other).
class SharedToken {
 public:
  static constexpr size_t kTokensMax = 2;

  SharedToken() = default;
  // One token ("" = none). Not checked: parse and the config check theirs.
  SharedToken(std::string token);  // NOLINT(google-explicit-constructor): a token is a string

  // A token file's text: one token per line, at most kTokensMax, each
  // checked (check_token); trailing whitespace and blank lines are not part
  // of any. invalid_argument naming what is wrong.
  static Result<SharedToken> parse(const std::string& text, const std::string& what);

  bool empty() const { return tokens_.empty(); }
  const std::string& sent() const;  // the first; "" when empty
  // Whether `sent` is one of the tokens, comparing each in constant time.
  bool accepts(const std::string& sent) const;
  const std::vector<std::string>& tokens() const { return tokens_; }
  Status check(const std::string& what) const;  // check_token on each

 private:
  std::vector<std::string> tokens_;
};

// Reads and parses a token file (SharedToken::parse). not_found/io_error
// naming the path, or parse's error prefixed with it.
Result<SharedToken> read_token_file(const std::string& path, const std::string& what);

// Clients read the admin token from this environment variable (ezctl,
// loadgen) when no --admin-token-file is given, and the service token from
// EZONE_SERVICE_TOKEN when no --service-token-file is.
constexpr char kAdminTokenEnv[] = "EZONE_ADMIN_TOKEN";
constexpr char kServiceTokenEnv[] = "EZONE_SERVICE_TOKEN";
constexpr char kServiceTokenHeader[] = "x-ezone-service-token";

// A client's token: the first of file's when file is not empty, else the
// environment variable env's, else "" (send none). An unreadable file or a
// malformed token is an error naming where it came from (option names the
// file's command-line option).
Result<std::string> client_token(const std::string& file, const std::string& option, const char* env,
                                 const std::string& what);
inline Result<std::string> client_admin_token(const std::string& file, const std::string& option) {
  return client_token(file, option, kAdminTokenEnv, "admin token");
}
inline Result<std::string> client_service_token(const std::string& file, const std::string& option) {
  return client_token(file, option, kServiceTokenEnv, "service token");
}

// The Authorization header's value for a token: "Bearer TOKEN".
std::string bearer_authorization(const std::string& token);

// Whether an Authorization header value (nullptr: none) carries one of the
// tokens as "Bearer TOKEN" (the scheme case-insensitive), compared in
// constant time.
bool bearer_matches(const std::string* authorization, const SharedToken& token);

}  // namespace ezone
