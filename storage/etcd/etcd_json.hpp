// The wire format of etcd 3.4's JSON gateway (grpc-gateway over the v3 API),
// kept apart from the transport so it can be tested without a server.
//
// Facts of the format this code relies on (checked against etcd 3.4.23):
//   - keys and values are base64 strings;
//   - int64 fields are JSON strings ("revision":"7"); fields equal to their
//     zero value (0, false, "") are left out entirely;
//   - an error is {"error":"...","message":"...","code":<gRPC code>} with a
//     non-200 HTTP status; a stream error is {"error":{"grpc_code":..,...}};
//   - streaming calls (/v3/watch, /v3/lease/keepalive) answer with one
//     {"result":{...}} object per line.
// Every parser returns parse_error for malformed input and never throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.hpp"
#include "storage/meta/meta_store.hpp"

namespace ezone::meta::etcd {

std::string base64_encode(const std::string& bytes);
// Accepts padded standard base64; anything else is parse_error.
Result<std::string> base64_decode(const std::string& text);

// The range_end that selects every key starting with prefix: the prefix with
// its last byte below 0xff incremented and the rest cut off; "\0" (= to the
// end of the keyspace) when there is no such byte.
std::string prefix_range_end(const std::string& prefix);

// Request bodies. A prefix request with an empty key covers every key.
std::string range_request(const std::string& key, bool prefix);
std::string put_request(const std::string& key, const std::string& value, int64_t lease);
std::string delete_request(const std::string& key, bool prefix);
// Appends a range of each distinct compared key to both branches, so the
// answer carries the keys as they are after the transaction.
std::string txn_request(const TxnRequest& request);
std::string lease_grant_request(int64_t ttl_s);
std::string lease_id_request(int64_t lease_id);  // keepalive, revoke, timetolive
std::string watch_create_request(const std::string& key, bool prefix, int64_t start_revision);
std::string compaction_request(int64_t revision);

// Parsers of successful (HTTP 200) answers.
Result<RangeResult> parse_range_response(const std::string& body);
Result<int64_t> parse_revision(const std::string& body);        // header.revision
Result<int64_t> parse_delete_response(const std::string& body); // number deleted
Result<TxnResult> parse_txn_response(const std::string& body);
Result<LeaseGrant> parse_lease_grant_response(const std::string& body);
// The renewed TTL; not_found when etcd reports no TTL (the lease is gone).
Result<int64_t> parse_keepalive_response(const std::string& body, int64_t lease_id);
// The remaining TTL (0: under a second); not_found when etcd answers -1
// (the lease is gone).
Result<int64_t> parse_time_to_live_response(const std::string& body, int64_t lease_id);
// ok when /health says {"health":"true"}; unavailable with etcd's reason
// otherwise.
Status parse_health_response(const std::string& body);

// The Status for a non-200 answer, mapped from the gRPC code in the body
// (not_found for a missing lease, invalid_argument for a bad request,
// unavailable for no leader, ...). Never ok.
Status error_from_response(int http_status, const std::string& body);

// One line of a /v3/watch stream.
struct WatchMessage {
  bool created = false;
  bool canceled = false;
  int64_t compact_revision = 0;  // > 0: the start revision was compacted
  int64_t header_revision = 0;
  std::string cancel_reason;
  std::vector<WatchEvent> events;
  std::optional<Status> error;   // the gateway reported a stream error
};
Result<WatchMessage> parse_watch_message(const std::string& line);

}  // namespace ezone::meta::etcd
