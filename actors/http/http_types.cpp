#include "actors/http/http_types.hpp"

#include <cstdlib>
#include <exception>

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace ezone {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

class FunctionSink final : public ResponseSink {
 public:
  explicit FunctionSink(std::function<void(HttpResponse&&)> fn) : fn_(std::move(fn)) {}
  ~FunctionSink() override {
    if (claim()) fn_(HttpResponse::error(500, "request dropped by its handler"));
  }
  void deliver(HttpResponse&& response) override { fn_(std::move(response)); }

 private:
  std::function<void(HttpResponse&&)> fn_;
};

}  // namespace

bool header_name_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

std::string HttpRequest::path() const { return std::string(path_view()); }

std::string_view HttpRequest::path_view() const {
  std::string_view t(target);
  return t.substr(0, t.find('?'));
}

std::string HttpRequest::query_param(const std::string& name) const {
  auto q = target.find('?');
  if (q == std::string::npos) return "";
  size_t pos = q + 1;
  while (pos <= target.size()) {
    size_t end = target.find('&', pos);
    if (end == std::string::npos) end = target.size();
    std::string pair = target.substr(pos, end - pos);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) return eq == std::string::npos ? "" : pair.substr(eq + 1);
    pos = end + 1;
  }
  return "";
}

std::string HttpRequest::header(const std::string& lower_name) const {
  const std::string* value = find_header(lower_name);
  return value ? *value : std::string();
}

const std::string* HttpRequest::find_header(std::string_view lower_name) const {
  for (const auto& [k, v] : headers)
    if (k == lower_name) return &v;
  return nullptr;
}

void HttpRequest::set_header(std::string_view lower_name, std::string value) {
  bool placed = false;
  for (size_t i = 0; i < headers.size();) {
    if (headers[i].first != lower_name) {
      ++i;
    } else if (!placed) {
      headers[i++].second = std::move(value);
      placed = true;
    } else {
      headers.erase(headers.begin() + static_cast<std::ptrdiff_t>(i));
    }
  }
  if (!placed) headers.emplace_back(std::string(lower_name), std::move(value));
}

HttpResponse HttpResponse::text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::error(int status, const std::string& message) {
  return json(status, dump_json(nlohmann::json{{"error", message}}) + "\n");
}

const std::string* HttpResponse::find_header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (header_name_equal(k, name)) return &v;
  return nullptr;
}

bool HttpResponder::operator()(HttpResponse response) const {
  if (!sink_ || !sink_->claim()) return false;
  sink_->deliver(std::move(response));
  return true;
}

HttpResponder make_responder(std::function<void(HttpResponse&&)> fn) {
  return HttpResponder(std::make_shared<FunctionSink>(std::move(fn)));
}

AsyncHttpHandler make_async_handler(HttpHandler handler) {
  return [handler = std::move(handler)](HttpRequest&& request, HttpResponder respond) {
    HttpResponse response;
    try {
      response = handler(request);
    } catch (const std::exception& e) {
      response = HttpResponse::error(500, std::string("handler failed: ") + e.what());
    }
    respond(std::move(response));
  };
}

Result<int64_t> parse_window_seconds(const std::string& text, int64_t fallback, int64_t min, int64_t max) {
  if (text.empty()) return fallback;
  char* end = nullptr;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (*end != '\0' || v < min || v > max)
    return Status(Errc::invalid_argument, "window_s must be a whole number of seconds in " + std::to_string(min) +
                                              ".." + std::to_string(max) + ", not '" + text.substr(0, 40) + "'");
  return static_cast<int64_t>(v);
}

std::optional<TraceContext> trace_of(const HttpRequest& req) {
  const std::string* value = req.find_header("traceparent");
  if (!value) return std::nullopt;
  auto trace = parse_traceparent(*value);
  if (!trace) return std::nullopt;
  return std::move(trace.value());
}

int http_status_of(const Status& s) {
  switch (s.code()) {
    case Errc::invalid_argument:
    case Errc::parse_error: return 400;
    case Errc::not_found: return 404;
    case Errc::conflict: return 409;
    case Errc::unavailable:
    case Errc::timeout: return 503;
    default: return 500;
  }
}

HttpResponse error_response(const Status& s) { return HttpResponse::error(http_status_of(s), s.message()); }

Result<int64_t> int_query_param(const HttpRequest& req, const std::string& name, int64_t fallback, int64_t max) {
  const std::string text = req.query_param(name);
  if (text.empty()) return fallback;
  const std::string bad = "'" + name + "' must be an integer 0.." + std::to_string(max);
  int64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || v > max) return Status(Errc::invalid_argument, bad);
    v = v * 10 + (c - '0');
  }
  if (v > max) return Status(Errc::invalid_argument, bad);
  return v;
}

}  // namespace ezone
