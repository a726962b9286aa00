#include "examples/takeout/service.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>

#include "core/hlc.hpp"
#include "core/json.hpp"

namespace ezone::takeout {

StepMetrics::StepMetrics(Metrics& metrics, const std::string& endpoint) {
  bad_requests_ = &metrics.counter("ezone_takeout_bad_requests_total",
                                   "Takeout requests refused with 400 for malformed input", {{"endpoint", endpoint}});
  const std::string help = "Takeout requests answered, by endpoint and HTTP status";
  for (size_t i = 0; i < kCodes.size(); ++i) {
    by_code_[i] = &metrics.counter("ezone_takeout_requests_total", help,
                                   {{"endpoint", endpoint}, {"code", std::to_string(kCodes[i])}});
  }
  other_code_ = &metrics.counter("ezone_takeout_requests_total", help, {{"endpoint", endpoint}, {"code", "other"}});
  latency_ = &metrics.histogram("ezone_takeout_request_seconds",
                                "Takeout request time in the owning zone, handler entry to answer",
                                {{"endpoint", endpoint}}, latency_buckets_seconds());
}

void StepMetrics::answered(int status, double seconds) const {
  Counter* counter = other_code_;
  for (size_t i = 0; i < kCodes.size(); ++i) {
    if (kCodes[i] == status) counter = by_code_[i];
  }
  counter->inc();
  latency_->observe(seconds);
}

void Call::answer(HttpResponse response) const {
  if (response.status >= 500 && response.status != 503) {
    step_->service->logger->error("event=takeout_error endpoint={} status={} body={}", step_->name, response.status,
                                  response.body);
  }
  const int status = response.status;
  if (!respond_(std::move(response))) return;  // answered before: counted then
  step_->metrics.answered(status, std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
}

void Call::json(int status, const nlohmann::json& body) const {
  answer(HttpResponse::json(status, dump_json(body) + "\n"));
}

void Call::bad_request(const Status& why) const {
  step_->metrics.bad_request();
  answer(HttpResponse::error(400, why.message()));
}

void Call::failed(const dal::TxOutcome& out) const { answer(failure_response(out, service().retry_after_s)); }

namespace {

int refusal_status(dal::Refusal refusal) {
  using dal::Refusal;
  switch (refusal) {
    case Refusal::write_forbidden:
    case Refusal::lease_invalid:
    case Refusal::epoch_ahead:
    case Refusal::stale_epoch:
    case Refusal::no_route_table:
    case Refusal::queue_full:
    case Refusal::stopping: return 503;
    case Refusal::wrong_zone:
    case Refusal::not_master:
    case Refusal::unknown_shard:
    case Refusal::quarantined: return 409;
    case Refusal::none:
    case Refusal::shard_mismatch:
    case Refusal::no_shard:
    case Refusal::statement_refused: return 500;
  }
  return 500;
}

int error_status(Errc code) {
  switch (code) {
    case Errc::conflict: return 409;
    case Errc::not_found: return 404;
    case Errc::invalid_argument: return 400;
    case Errc::unavailable: return 503;
    default: return 500;
  }
}

}  // namespace

HttpResponse failure_response(const dal::TxOutcome& out, int retry_after_s) {
  nlohmann::json body{{"error", out.status.message()}};
  int status = error_status(out.status.code());
  if (out.refusal != dal::Refusal::none) {
    status = refusal_status(out.refusal);
    body["refusal"] = dal::refusal_name(out.refusal);
  }
  HttpResponse r = HttpResponse::json(status, dump_json(body) + "\n");
  if (status == 503) r.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return r;
}

Result<dal::TxTarget> shard_target(const HttpRequest& request, const Gzs& gzs) {
  const std::string* header = request.find_header("x-ezone-shard");
  if (!header) return Status(Errc::internal, "the router gave this request no shard (X-Ezone-Shard)");
  char* end = nullptr;
  const unsigned long shard = std::strtoul(header->c_str(), &end, 10);
  if (header->empty() || *end != '\0' || shard > kShardIdMax)
    return Status(Errc::internal, "the router gave this request a malformed shard '" + *header + "'");
  return dal::TxTarget{static_cast<ShardId>(shard), gzs.epoch(), trace_of(request)};
}

dal::TxTarget unsharded_target(const HttpRequest& request, const Gzs& gzs) {
  return dal::TxTarget{std::nullopt, gzs.epoch(), trace_of(request)};
}

int64_t tx_time_ms(const dal::Tx& tx) { return hlc_physical_ms(tx.hlc()); }

std::string_view path_segment(std::string_view path, size_t index) {
  size_t start = path.empty() || path[0] != '/' ? 0 : 1;
  for (size_t i = 0; i < index; ++i) {
    const size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) return {};
    start = slash + 1;
  }
  const size_t end = path.find('/', start);
  return path.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

}  // namespace ezone::takeout
