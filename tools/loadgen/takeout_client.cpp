#include "tools/loadgen/takeout_client.hpp"

#include <chrono>

#include "core/json.hpp"
#include "zones/routing/order_id.hpp"

namespace ezone::loadgen {

std::string error_kind(int status, Errc transport_error) {
  if (status != 0) return "http_" + std::to_string(status);
  switch (transport_error) {
    case Errc::timeout: return "timeout";
    case Errc::unavailable: return "connection";
    case Errc::parse_error: return "bad_response";
    default: return "io";
  }
}

bool maybe_applied(int status, Errc transport_error, bool maybe_sent) {
  if (status != 0) return status >= 500 && status != 503;
  return transport_error == Errc::ok || maybe_sent;
}

NodeClients::NodeClients(const std::vector<HostPort>& nodes, int64_t timeout_ms, const net::TlsContextPtr& tls)
    : timeout_ms_(timeout_ms) {
  for (const HostPort& n : nodes) connections_.push_back(std::make_unique<HttpLink>(n, tls));
}

Call NodeClients::call(size_t node, const std::string& method, const std::string& target, const std::string& body,
                       int expected_status, const std::string& traceparent) {
  Call out;
  bool maybe_sent = true;
  const auto start = std::chrono::steady_clock::now();
  auto resp = connections_[node]->request(method, target, body, timeout_ms_, &maybe_sent, traceparent);
  out.service_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
  if (!resp) {
    out.error = error_kind(0, resp.status().code());
    out.message = resp.status().message();
    out.maybe_applied = maybe_applied(0, resp.status().code(), maybe_sent);
    return out;
  }
  out.status = resp->status;
  out.served_by = std::move(resp->served_by);
  out.body = ezone::parse_json_or_discarded(resp->body);
  if (out.body.is_discarded()) out.body = nullptr;
  if (resp->status != expected_status) {
    out.error = error_kind(resp->status, Errc::ok);
    out.message = target + " answered " + std::to_string(resp->status) + ": " + resp->body.substr(0, 200);
    out.maybe_applied = maybe_applied(resp->status, Errc::ok, true);
  } else if (!out.body.is_object()) {
    out.error = "bad_response";
    out.message = target + " answered " + std::to_string(resp->status) + " without a JSON object";
    out.maybe_applied = true;  // it claimed success
  }
  return out;
}

Result<int64_t> json_id(const nlohmann::json& value) {
  if (value.is_number_unsigned() || value.is_number_integer()) {
    const int64_t id = value.get<int64_t>();
    if (id > 0) return id;
  } else if (value.is_string()) {
    auto id = parse_order_id(value.get<std::string>());
    if (id) return static_cast<int64_t>(*id);
  }
  return Status(Errc::parse_error, "not an id: " + value.dump());
}

}  // namespace ezone::loadgen
