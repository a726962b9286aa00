// Plain request/response values for HTTP handlers. Handlers see these, never
// Beast types, so most files compile without Beast's heavy headers.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace ezone {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // path plus optional "?query"
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  // The target without its query string.
  std::string path() const;
  // The value of a query parameter (not percent-decoded), or "" if absent.
  std::string query_param(const std::string& name) const;
  // The value of a header by lower-case name, or "" if absent.
  std::string header(const std::string& lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse text(int status, std::string body);
  static HttpResponse json(int status, std::string body);
  // {"error": message} with the given status.
  static HttpResponse error(int status, const std::string& message);
};

// Runs on an I/O thread: it must not block (no waiting on actors or disk).
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

}  // namespace ezone
