#include "core/peer_token.hpp"

namespace ezone {

Status check_peer_token(const std::string& token) {
  if (token.size() < kPeerTokenBytesMin || token.size() > kPeerTokenBytesMax)
    return Status(Errc::invalid_argument, "the peer token must be " + std::to_string(kPeerTokenBytesMin) + " to " +
                                              std::to_string(kPeerTokenBytesMax) + " characters, not " +
                                              std::to_string(token.size()));
  for (char c : token)
    if (c < 0x21 || c > 0x7e)
      return Status(Errc::invalid_argument, "the peer token must be visible ASCII characters without spaces");
  return Status::ok();
}

bool peer_token_equals(const std::string& sent, const std::string& token) {
  unsigned diff = sent.size() == token.size() ? 0u : 1u;
  for (size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned char>(i < sent.size() ? sent[i] : 0) ^ static_cast<unsigned char>(token[i]);
  return diff == 0;
}

}  // namespace ezone
