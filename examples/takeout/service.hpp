// The plumbing every takeout endpoint shares: what the node gave the app,
// per-endpoint metrics, the answer of one request, and how DAL outcomes
// become HTTP answers.
//
// Threads: handlers run on the router's I/O threads and never block; they
// queue their transaction with Dal::submit and answer from its `done`
// callback (on the DAL's writer thread). A Call may therefore be answered
// from either thread; HttpResponder makes that safe.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "actors/gzs/gzs.hpp"
#include "actors/http/http_types.hpp"
#include "core/metrics.hpp"
#include "core/status.hpp"
#include "storage/cache/row_cache.hpp"
#include "storage/dal/dal.hpp"

namespace spdlog {
class logger;
}

namespace ezone::takeout {

// What the node gave the app. dal, gzs and metrics outlive every endpoint
// (AppContext's contract); handlers hold the Service by shared_ptr.
struct Service {
  dal::Dal& dal;
  Gzs& gzs;
  Metrics& metrics;
  std::shared_ptr<spdlog::logger> logger;
  std::string ezone;     // this node's: "served_by" in answers
  int retry_after_s = 1; // Retry-After on 503 ([router] retry_after_s)
  // The site's row cache, or null ([cache] names no tables). GET
  // /v1/orders/{id} serves a cached order from the I/O thread.
  RowCache* cache = nullptr;
};

// The counters and latency of one endpoint, labelled endpoint="<name>":
//   ezone_takeout_bad_requests_total   400s for malformed input
//   ezone_takeout_requests_total{code} every answer, by HTTP status
//   ezone_takeout_request_seconds      handler entry to answer
class StepMetrics {
 public:
  StepMetrics(Metrics& metrics, const std::string& endpoint);
  void bad_request() const { bad_requests_->inc(); }
  void answered(int status, double seconds) const;

 private:
  static constexpr std::array<int, 7> kCodes{200, 201, 400, 404, 409, 500, 503};
  Counter* bad_requests_;
  std::array<Counter*, kCodes.size()> by_code_{};
  Counter* other_code_;
  Histogram* latency_;
};

// One endpoint of the app: the service it runs in, its name (the metric
// label and log field) and its metrics. Shared by every call of it.
struct Step {
  Step(std::shared_ptr<const Service> service, std::string name)
      : service(std::move(service)), name(std::move(name)), metrics(this->service->metrics, this->name) {}
  std::shared_ptr<const Service> service;
  std::string name;
  StepMetrics metrics;
};

// One request's answer: counted and timed once, from any thread. Copies
// share the responder (the first answer wins, as with HttpResponder). A 500
// is also logged: it means a bug or a broken database, not a bad request.
class Call {
 public:
  Call(std::shared_ptr<const Step> step, HttpResponder respond)
      : step_(std::move(step)), respond_(std::move(respond)), start_(std::chrono::steady_clock::now()) {}

  const Service& service() const { return *step_->service; }
  void answer(HttpResponse response) const;
  void json(int status, const nlohmann::json& body) const;
  // 400 {"error": message}, counted in ezone_takeout_bad_requests_total.
  void bad_request(const Status& why) const;
  // The answer for a transaction that did not commit (see failure_response).
  void failed(const dal::TxOutcome& out) const;

 private:
  std::shared_ptr<const Step> step_;
  HttpResponder respond_;
  std::chrono::steady_clock::time_point start_;
};

// How a transaction that did not commit is answered:
//   DAL refusals   503 + Retry-After for the transient ones (write_forbidden,
//                  lease_invalid, epoch_ahead, stale_epoch, no_route_table,
//                  queue_full, stopping); 409 for wrong_zone, not_master and
//                  unknown_shard (not expected behind the router); 500 for a
//                  statement the DAL refused (a bug in this app).
//   the handler's own errors   conflict 409, not_found 404,
//                  invalid_argument 400, anything else 500.
// The body is {"error": message} plus "refusal": name for refusals.
HttpResponse failure_response(const dal::TxOutcome& out, int retry_after_s);

// The transaction target of a request the router dispatched here: the shard
// from X-Ezone-Shard (set only by the router) and the epoch this node holds
// now. The router resolved at that epoch or an older one; if the route
// changed meanwhile the DAL refuses (stale_epoch / wrong_zone), so a
// request never writes a shard this zone no longer owns. internal error when
// the header is missing or malformed (the endpoint has no shard key: a bug).
// Both targets carry the request's trace, so a sampled request's
// transaction is a span under the router's (dal::TxTarget::trace).
Result<dal::TxTarget> shard_target(const HttpRequest& request, const Gzs& gzs);
// The target of a transaction without a shard (a global-zone write, a read):
// the epoch this node holds now.
dal::TxTarget unsharded_target(const HttpRequest& request, const Gzs& gzs);

// The transaction's time as Unix milliseconds: the physical part of its
// hybrid-logical-clock timestamp, so created_ms/updated_ms come from the
// DAL's injected clock and never go backwards on a site.
int64_t tx_time_ms(const dal::Tx& tx);

// Column values read back from SQLite (storage/dal/sql_value.hpp).
using dal::int_of;
using dal::real_of;
using dal::text_of;

// The index-th segment of a path ("/v1/orders/42/accept": 2 is "42"), or ""
// when it has fewer segments. A view into path.
std::string_view path_segment(std::string_view path, size_t index);

}  // namespace ezone::takeout
