#include "actors/node/admin_tokens.hpp"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace ezone {

namespace {
constexpr const char* kReloadPath = "/admin/v1/tokens/reload";
}  // namespace

bool TokenReloadReport::ok() const {
  for (const TokenReloadEntry& e : tokens)
    if (!e.error.empty()) return false;
  return true;
}

std::string TokenReloadReport::to_json() const {
  nlohmann::json list = nlohmann::json::array();
  for (const TokenReloadEntry& e : tokens) {
    nlohmann::json entry{{"token", e.token}, {"file", e.file}, {"outcome", e.outcome}};
    if (!e.error.empty()) entry["error"] = e.error;
    list.push_back(std::move(entry));
  }
  return nlohmann::json{{"ezone", ezone}, {"ok", ok()}, {"tokens", std::move(list)}}.dump(2) + "\n";
}

TokenReloader::TokenReloader(const NodeConfig& config, Metrics& metrics, std::shared_ptr<spdlog::logger> logger)
    : config_(config),
      metrics_(metrics),
      logger_(std::move(logger)),
      tokens_{{"admin", &config.admin_api.token, "admin token"},
              {"service", &config.router.service_token, "service token"},
              {"peer", &config.router.peer_token, "peer token"}} {
  for (const Token& t : tokens_) warn_if_exposed(*t.live, t.name);
  warn_if_tls_key_exposed();
}

// A key is worth as much as the admin token: the same check as token files.
void TokenReloader::warn_if_tls_key_exposed() const {
  const std::string* keys[] = {&config_.tls.key_file, &config_.etcd.tls.files.key_file, &config_.soa.tls.files.key_file};
  for (const std::string* key : keys) {
    if (key->empty()) continue;
    if (const std::string exposure = token_file_exposure(*key); !exposure.empty())
      logger_->warn("event=tls_key_exposed ezone={} file={} detail=\"{}\"", config_.ezone, *key, exposure);
  }
}

void TokenReloader::warn_if_exposed(const LiveToken& token, const char* name) const {
  if (token.file().empty()) return;
  const std::string exposure = token_file_exposure(token.file());
  if (!exposure.empty())
    logger_->warn("event=token_file_exposed ezone={} token={} file={} detail=\"{}\"", config_.ezone, name, token.file(),
                  exposure);
}

void TokenReloader::count(const std::string& token, const std::string& outcome) {
  metrics_
      .counter("ezone_token_reloads_total", "Reloads of a token file (SIGHUP, POST /admin/v1/tokens/reload), by "
                                            "token and outcome",
               {{"token", token}, {"outcome", outcome}})
      .inc();
}

TokenReloadReport TokenReloader::reload(const std::string& cause) {
  std::lock_guard<std::mutex> lock(mutex_);
  TokenReloadReport report;
  report.ezone = config_.ezone;
  std::string summary;
  for (const Token& t : tokens_) {
    TokenReloadEntry entry{t.name, t.live->file(), "", ""};
    auto outcome = t.live->reload(t.what);
    if (outcome) {
      entry.outcome = to_string(*outcome);
      warn_if_exposed(*t.live, t.name);
    } else {
      entry.outcome = "failed";
      entry.error = outcome.status().message() + "; the " + t.what + " stays as it was";
      logger_->error("event=token_reload_failed ezone={} token={} cause={} error=\"{}\"", config_.ezone, t.name, cause,
                     entry.error);
    }
    count(t.name, entry.outcome);
    summary += std::string(" ") + t.name + "=" + entry.outcome;
    report.tokens.push_back(std::move(entry));
  }
  if (config_.tls.enabled()) {
    const TlsSettings& t = config_.tls;
    TokenReloadEntry entry =
        reload_tls("tls", t.cert_file, {t.server, t.http_server, t.cluster_server, t.client}, cause);
    summary += " tls=" + entry.outcome;
    report.tokens.push_back(std::move(entry));
  }
  // The clients' TLS of [etcd] and [soa].
  for (const auto& [name, tls] : {std::pair<const char*, const net::ClientTls*>{"etcd_tls", &config_.etcd.tls},
                                  {"soa_tls", &config_.soa.tls}}) {
    if (!*tls) continue;
    TokenReloadEntry entry = reload_tls(name, tls->shown_file(), {tls->context}, cause);
    summary += std::string(" ") + name + "=" + entry.outcome;
    report.tokens.push_back(std::move(entry));
  }
  warn_if_tls_key_exposed();
  logger_->info("event=tokens_reloaded ezone={} cause={}{}", config_.ezone, cause, summary);
  return report;
}

// One set of certificate, key and CA files: every context made from them
// ([tls]: node.admin's, node.http's, the cluster port's, this node's as a
// client; [etcd] and [soa]: their clients') reads them again. They share the files, so they succeed or
// fail together.
TokenReloadEntry TokenReloader::reload_tls(const char* name, const std::string& file,
                                           std::initializer_list<net::TlsContextPtr> contexts,
                                           const std::string& cause) {
  TokenReloadEntry entry{name, file, "unchanged", ""};
  for (const net::TlsContextPtr& context : contexts) {
    if (!context) continue;
    auto changed = context->reload();
    if (!changed) {
      entry.outcome = "failed";
      entry.error = changed.status().message() + "; what could not be loaded stays as it was";
      logger_->error("event=token_reload_failed ezone={} token={} cause={} error=\"{}\"", config_.ezone, name, cause,
                     entry.error);
      break;
    }
    if (*changed) entry.outcome = "changed";
  }
  count(name, entry.outcome);
  return entry;
}

std::optional<HttpResponse> handle_token_admin(TokenReloader& reloader, const HttpRequest& req) {
  if (req.path() != kReloadPath) return std::nullopt;
  if (req.method != "POST")
    return HttpResponse::error(405, req.method + " not allowed on " + std::string(kReloadPath) + "; use POST");
  TokenReloadReport report = reloader.reload("admin");
  return HttpResponse::json(report.ok() ? 200 : 500, report.to_json());
}

}  // namespace ezone
