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
// Rotation: a token file may hold two tokens, one per line. A node sends
// the first and accepts either (SharedToken). To move from OLD to NEW:
// (1) every node's file becomes "OLD\nNEW", and every node reloads it;
// (2) "NEW\nOLD", reloaded everywhere; (3) the clients move to NEW;
// (4) "NEW", reloaded everywhere. At every moment each node accepts what
// every other sends. A node re-reads its token files on SIGHUP (or POST
// /admin/v1/tokens/reload; actors/node/admin_tokens.hpp), so each step is a
// file change and a reload rather than a restart (LiveToken).
#pragma once

#include <cstddef>
#include <memory>
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

// What a reload did to one token (LiveToken::reload).
enum class TokenReload {
  changed,     // the file holds other tokens than before: they apply from now
  unchanged,   // the file holds the same tokens
  not_a_file,  // the token came from the config itself (or there is none): nothing to re-read
};
const char* to_string(TokenReload r);

// A node's shared secret while it runs: a handle on one SharedToken, which
// reload() replaces from the token's file. Copies of a handle share the
// token, so the NodeConfig the node keeps and the RouterConfig it gives its
// router see one reload together. Readers take a snapshot per use, and may
// do so from any thread while another reloads.
//
// Whether there is a token at all is fixed when the handle is made: a token
// file never holds none (SharedToken::parse), and a node without a token has
// no file to re-read, so turning a token on or off still takes a restart.
class LiveToken {
 public:
  LiveToken();  // none
  LiveToken(SharedToken token);  // NOLINT(google-explicit-constructor): fixed, from the config itself
  LiveToken(std::string token);  // NOLINT(google-explicit-constructor): one fixed token ("" = none)
  LiveToken(const char* token);  // NOLINT(google-explicit-constructor)
  // token as read from path (read_token_file), which reload() reads again.
  static LiveToken from_file(SharedToken token, std::string path);

  std::shared_ptr<const SharedToken> snapshot() const;
  bool empty() const;
  std::string sent() const;  // the first; "" when empty
  bool accepts(const std::string& sent) const;
  Status check(const std::string& what) const;
  const std::string& file() const;  // "" when not from a file

  // Re-reads file() (read_token_file). On an error (the file is gone or
  // malformed) the current tokens stay, and the error names the file.
  Result<TokenReload> reload(const std::string& what) const;

 private:
  struct Cell;
  explicit LiveToken(std::shared_ptr<Cell> cell);
  std::shared_ptr<Cell> cell_;
};

// Reads and parses a token file (SharedToken::parse). not_found/io_error
// naming the path, or parse's error prefixed with it.
Result<SharedToken> read_token_file(const std::string& path, const std::string& what);

// "" when the token file at path is readable by its owner only; otherwise
// what is wrong ("mode 0644: others than its owner may read it; chmod 600
// it"), for a warning. "" too when it cannot be looked at (reading it fails
// with its own error).
std::string token_file_exposure(const std::string& path);

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
inline bool bearer_matches(const std::string* authorization, const LiveToken& token) {
  return bearer_matches(authorization, *token.snapshot());
}

}  // namespace ezone
