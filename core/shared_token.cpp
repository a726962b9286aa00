#include "core/shared_token.hpp"

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ezone {

Status check_token(const std::string& token, const std::string& what) {
  if (token.size() < kTokenBytesMin || token.size() > kTokenBytesMax)
    return Status(Errc::invalid_argument, "the " + what + " must be " + std::to_string(kTokenBytesMin) + " to " +
                                              std::to_string(kTokenBytesMax) + " characters, not " +
                                              std::to_string(token.size()));
  for (char c : token)
    if (c < 0x21 || c > 0x7e)
      return Status(Errc::invalid_argument, "the " + what + " must be visible ASCII characters without spaces");
  return Status::ok();
}

bool token_equals(const std::string& sent, const std::string& token) {
  unsigned diff = sent.size() == token.size() ? 0u : 1u;
  for (size_t i = 0; i < token.size(); ++i)
    diff |= static_cast<unsigned char>(i < sent.size() ? sent[i] : 0) ^ static_cast<unsigned char>(token[i]);
  return diff == 0;
}

Result<std::string> read_token_file(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status(Errc::not_found, path + ": cannot read the " + what + " (" + std::strerror(errno) + ")");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status(Errc::io_error, path + ": reading the " + what + " failed");
  std::string token = text.str();
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (Status s = check_token(token, what); !s) return Status(s.code(), path + ": " + s.message());
  return token;
}

Result<std::string> client_token(const std::string& file, const std::string& option, const char* env,
                                 const std::string& what) {
  if (!file.empty()) {
    auto token = read_token_file(file, what);
    if (!token) return Status(token.status().code(), option + ": " + token.status().message());
    return token;
  }
  const char* value = std::getenv(env);
  if (value == nullptr || *value == '\0') return std::string();
  if (Status s = check_token(value, what); !s) return Status(s.code(), std::string(env) + ": " + s.message());
  return std::string(value);
}

std::string bearer_authorization(const std::string& token) { return "Bearer " + token; }

bool bearer_matches(const std::string* authorization, const std::string& token) {
  static constexpr char kScheme[] = "bearer ";
  constexpr size_t kSchemeBytes = sizeof kScheme - 1;
  if (authorization == nullptr || authorization->size() < kSchemeBytes) return false;
  for (size_t i = 0; i < kSchemeBytes; ++i)
    if (std::tolower(static_cast<unsigned char>((*authorization)[i])) != kScheme[i]) return false;
  return token_equals(authorization->substr(kSchemeBytes), token);
}

}  // namespace ezone
