#include "core/shared_token.hpp"

#include <sys/stat.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sstream>

#include "core/text_file.hpp"

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

SharedToken::SharedToken(std::string token) {
  if (!token.empty()) tokens_.push_back(std::move(token));
}

Result<SharedToken> SharedToken::parse(const std::string& text, const std::string& what) {
  SharedToken out;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (line.empty()) continue;
    if (out.tokens_.size() == kTokensMax)
      return Status(Errc::invalid_argument, "holds more than " + std::to_string(kTokensMax) + " " + what +
                                                "s (one to send and accept, one more to accept during a rotation)");
    if (Status s = check_token(line, what); !s) return s;
    out.tokens_.push_back(std::move(line));
  }
  if (out.empty()) return Status(Errc::invalid_argument, "holds no " + what);
  return out;
}

const std::string& SharedToken::sent() const {
  static const std::string kNone;
  return tokens_.empty() ? kNone : tokens_.front();
}

bool SharedToken::accepts(const std::string& sent) const {
  bool any = false;
  for (const std::string& token : tokens_) any = token_equals(sent, token) || any;  // every one compared
  return any;
}

Status SharedToken::check(const std::string& what) const {
  for (const std::string& token : tokens_)
    if (Status s = check_token(token, what); !s) return s;
  return Status::ok();
}

const char* to_string(TokenReload r) {
  switch (r) {
    case TokenReload::changed: return "changed";
    case TokenReload::unchanged: return "unchanged";
    case TokenReload::not_a_file: return "not_a_file";
  }
  return "?";
}

struct LiveToken::Cell {
  Cell(SharedToken token, std::string path)
      : file(std::move(path)), empty(token.empty()), current(std::make_shared<const SharedToken>(std::move(token))) {}
  const std::string file;  // "" : current is never replaced
  const bool empty;        // fixed: a reload never reads an empty file (SharedToken::parse refuses it)
  std::mutex reloading;  // one reload at a time; readers never wait for it
  std::shared_ptr<const SharedToken> current;  // read and replaced with std::atomic_load/store
};

LiveToken::LiveToken() : LiveToken(SharedToken()) {}
LiveToken::LiveToken(SharedToken token) : cell_(std::make_shared<Cell>(std::move(token), "")) {}
LiveToken::LiveToken(std::string token) : LiveToken(SharedToken(std::move(token))) {}
LiveToken::LiveToken(const char* token) : LiveToken(std::string(token)) {}
LiveToken::LiveToken(std::shared_ptr<Cell> cell) : cell_(std::move(cell)) {}

LiveToken LiveToken::from_file(SharedToken token, std::string path) {
  return LiveToken(std::make_shared<Cell>(std::move(token), std::move(path)));
}

std::shared_ptr<const SharedToken> LiveToken::snapshot() const {
  if (cell_->file.empty()) return cell_->current;  // never replaced
  return std::atomic_load(&cell_->current);
}
bool LiveToken::empty() const { return cell_->empty; }  // no snapshot: asked per request by the router
std::string LiveToken::sent() const { return snapshot()->sent(); }
bool LiveToken::accepts(const std::string& sent) const { return snapshot()->accepts(sent); }
Status LiveToken::check(const std::string& what) const { return snapshot()->check(what); }
const std::string& LiveToken::file() const { return cell_->file; }

Result<TokenReload> LiveToken::reload(const std::string& what) const {
  if (cell_->file.empty()) return TokenReload::not_a_file;
  std::lock_guard<std::mutex> lock(cell_->reloading);
  auto fresh = read_token_file(cell_->file, what);
  if (!fresh) return fresh.status();
  if (fresh->tokens() == snapshot()->tokens()) return TokenReload::unchanged;
  std::atomic_store(&cell_->current, std::make_shared<const SharedToken>(std::move(*fresh)));
  return TokenReload::changed;
}

Result<SharedToken> read_token_file(const std::string& path, const std::string& what) {
  auto text = read_text_file(path, what, "point it at a readable file holding the token");
  if (!text) return text.status();
  auto token = SharedToken::parse(*text, what);
  if (!token) return Status(token.status().code(), path + ": " + token.status().message());
  return token;
}

std::string token_file_exposure(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 077) == 0) return "";
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return std::string("mode ") + mode + ": others than its owner may read it; chmod 600 it";
}

Result<std::string> client_token(const std::string& file, const std::string& option, const char* env,
                                 const std::string& what) {
  if (!file.empty()) {
    auto token = read_token_file(file, what);
    if (!token) return Status(token.status().code(), option + ": " + token.status().message());
    return token->sent();
  }
  const char* value = std::getenv(env);
  if (value == nullptr || *value == '\0') return std::string();
  if (Status s = check_token(value, what); !s) return Status(s.code(), std::string(env) + ": " + s.message());
  return std::string(value);
}

std::string bearer_authorization(const std::string& token) { return "Bearer " + token; }

bool bearer_matches(const std::string* authorization, const SharedToken& token) {
  static constexpr char kScheme[] = "bearer ";
  constexpr size_t kSchemeBytes = sizeof kScheme - 1;
  if (authorization == nullptr || authorization->size() < kSchemeBytes) return false;
  for (size_t i = 0; i < kSchemeBytes; ++i)
    if (std::tolower(static_cast<unsigned char>((*authorization)[i])) != kScheme[i]) return false;
  return token.accepts(authorization->substr(kSchemeBytes));
}

}  // namespace ezone
