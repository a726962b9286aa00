// The takeout app's HTTP API as the load generator calls it: one keep-alive
// connection per node for the calling thread (HttpLink), every call bounded
// by a timeout, every outcome classified for the report.
//
// Not thread-safe: each worker thread owns one NodeClients.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/address.hpp"
#include "core/status.hpp"
#include "tools/loadgen/http_link.hpp"

namespace ezone::loadgen {

// The outcome of one request.
struct Call {
  int status = 0;            // HTTP status; 0 when no answer arrived
  std::string error;         // "" on success, else the error kind (error_kind below)
  std::string message;       // a person's text for the error
  bool maybe_applied = false;  // a failure after which the server may still have applied it
  std::string served_by;     // X-Ezone of the answer
  int64_t service_us = 0;    // send to last byte
  nlohmann::json body;       // the parsed answer (null if not JSON)

  bool ok() const { return error.empty(); }
};

// The error kind for a report: "http_<status>" for an unexpected status,
// "timeout", "connection" (refused, reset, unreachable), "io", or
// "bad_response" (not HTTP, or not the JSON the contract promises).
std::string error_kind(int status, Errc transport_error);
// Whether a request that failed so may have been applied: a transport
// failure after bytes left, or a 5xx other than 503 (503 means write-forbidden
// or overloaded: refused before any change).
bool maybe_applied(int status, Errc transport_error, bool maybe_sent);

class NodeClients {
 public:
  // With tls (a client context) the nodes' node.http speak TLS.
  NodeClients(const std::vector<HostPort>& nodes, int64_t timeout_ms, const net::TlsContextPtr& tls = nullptr);

  // One JSON request to node `node` (< size()). Success means the status is
  // expected_status and the body parses as JSON. traceparent: sent when
  // not empty.
  Call call(size_t node, const std::string& method, const std::string& target, const std::string& body,
            int expected_status, const std::string& traceparent = "");
  size_t size() const { return connections_.size(); }
  const HostPort& node(size_t i) const { return connections_[i]->peer(); }

 private:
  std::vector<std::unique_ptr<HttpLink>> connections_;
  int64_t timeout_ms_;
};

// A positive id (order, user, merchant) from a JSON value: a number, or a
// decimal string as order ids are sent (they exceed 2^53). parse_error
// otherwise.
Result<int64_t> json_id(const nlohmann::json& value);

}  // namespace ezone::loadgen
