#include "storage/etcd/etcd_json.hpp"

#include <charconv>
#include <set>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "core/json.hpp"

namespace ezone::meta::etcd {
namespace {

using nlohmann::json;

// Thrown only inside this file and turned into parse_error by parse_guarded:
// a malformed answer aborts the whole parse, wherever it is noticed.
class Malformed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

constexpr size_t kQuotedBodyBytesMax = 200;

std::string quote(const std::string& body) {
  if (body.size() <= kQuotedBodyBytesMax) return body;
  return body.substr(0, kQuotedBodyBytesMax) + "...";
}

template <class T, class F>
Result<T> parse_guarded(const std::string& body, const char* what, F&& parse) {
  try {
    auto parsed = parse_json(body);
    if (!parsed) throw Malformed(parsed.status().message());
    json& doc = *parsed;
    if (!doc.is_object()) throw Malformed("not a JSON object");
    return parse(doc);
  } catch (const std::exception& e) {
    return Status(Errc::parse_error,
                  std::string("malformed etcd ") + what + ": " + e.what() + " in '" + quote(body) + "'");
  }
}

const json& member(const json& object, const char* name) {
  static const json null_value;
  auto it = object.find(name);
  return it == object.end() ? null_value : *it;
}

int64_t get_int(const json& object, const char* name) {
  const json& field = member(object, name);
  if (field.is_null()) return 0;  // the gateway omits zero values
  if (field.is_number_integer()) return field.get<int64_t>();
  if (field.is_string()) {
    const auto& text = field.get_ref<const std::string&>();
    int64_t value = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error == std::errc() && end == text.data() + text.size() && !text.empty()) return value;
  }
  throw Malformed(std::string("field '") + name + "' is not an int64");
}

bool get_bool(const json& object, const char* name) {
  const json& field = member(object, name);
  if (field.is_null()) return false;
  if (field.is_boolean()) return field.get<bool>();
  throw Malformed(std::string("field '") + name + "' is not a boolean");
}

std::string get_string(const json& object, const char* name) {
  const json& field = member(object, name);
  if (field.is_null()) return {};
  if (field.is_string()) return field.get<std::string>();
  throw Malformed(std::string("field '") + name + "' is not a string");
}

std::string get_bytes(const json& object, const char* name) {
  auto decoded = base64_decode(get_string(object, name));
  if (!decoded.ok()) throw Malformed(std::string("field '") + name + "': " + decoded.status().message());
  return decoded.value();
}

const json& get_object(const json& object, const char* name) {
  static const json empty = json::object();
  const json& field = member(object, name);
  if (field.is_null()) return empty;
  if (field.is_object()) return field;
  throw Malformed(std::string("field '") + name + "' is not an object");
}

const json& get_array(const json& object, const char* name) {
  static const json empty = json::array();
  const json& field = member(object, name);
  if (field.is_null()) return empty;
  if (field.is_array()) return field;
  throw Malformed(std::string("field '") + name + "' is not an array");
}

KeyValue parse_kv(const json& object) {
  if (!object.is_object()) throw Malformed("a key-value is not an object");
  KeyValue kv;
  kv.key = get_bytes(object, "key");
  kv.value = get_bytes(object, "value");
  kv.create_revision = get_int(object, "create_revision");
  kv.mod_revision = get_int(object, "mod_revision");
  kv.version = get_int(object, "version");
  kv.lease = get_int(object, "lease");
  return kv;
}

std::vector<KeyValue> parse_kvs(const json& object) {
  std::vector<KeyValue> out;
  for (const auto& item : get_array(object, "kvs")) out.push_back(parse_kv(item));
  return out;
}

int64_t header_revision(const json& object) { return get_int(get_object(object, "header"), "revision"); }

std::string int_text(int64_t value) { return std::to_string(value); }

// Sets "key" and, for a prefix, "range_end". etcd refuses an empty key, so
// "every key" is written the way clientv3 does: from "\0" to the end.
void set_key_range(json& request, const std::string& key, bool prefix) {
  if (prefix && key.empty()) {
    request["key"] = base64_encode(std::string(1, '\0'));
    request["range_end"] = base64_encode(std::string(1, '\0'));
    return;
  }
  request["key"] = base64_encode(key);
  if (prefix) request["range_end"] = base64_encode(prefix_range_end(key));
}

Errc errc_from_grpc(int64_t code) {
  switch (code) {
    case 3: case 7: case 12: case 16: return Errc::invalid_argument;
    case 4: return Errc::timeout;
    case 5: case 11: return Errc::not_found;  // 11: revision compacted or in the future
    case 6: case 9: case 10: return Errc::conflict;
    case 15: return Errc::io_error;
    default: return Errc::unavailable;  // no leader, timeouts inside etcd, overload
  }
}

Status stream_error(const json& error) {
  int64_t code = get_int(error, "grpc_code");
  return Status(errc_from_grpc(code), "etcd stream error (gRPC code " + int_text(code) +
                                          "): " + get_string(error, "message"));
}

}  // namespace

std::string base64_encode(const std::string& bytes) {
  static const char* const kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t chunk = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) chunk |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) chunk |= static_cast<uint8_t>(bytes[i + 2]);
    out.push_back(kAlphabet[(chunk >> 18) & 63]);
    out.push_back(kAlphabet[(chunk >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(chunk >> 6) & 63] : '=');
    out.push_back(i + 2 < bytes.size() ? kAlphabet[chunk & 63] : '=');
  }
  return out;
}

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

Result<std::string> base64_decode(const std::string& text) {
  if (text.size() % 4 != 0)
    return Status(Errc::parse_error, "base64 text length " + std::to_string(text.size()) + " is not a multiple of 4");
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last = i + 4 == text.size();
    int pad = last ? (text[i + 3] == '=') + (text[i + 2] == '=' && text[i + 3] == '=') : 0;
    uint32_t chunk = 0;
    for (size_t j = 0; j < 4 - static_cast<size_t>(pad); ++j) {
      int value = base64_value(text[i + j]);
      if (value < 0) return Status(Errc::parse_error, "invalid base64 character at offset " + std::to_string(i + j));
      chunk |= static_cast<uint32_t>(value) << (18 - 6 * j);
    }
    out.push_back(static_cast<char>((chunk >> 16) & 0xff));
    if (pad < 2) out.push_back(static_cast<char>((chunk >> 8) & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(chunk & 0xff));
  }
  return out;
}

std::string prefix_range_end(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    auto last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string range_request(const std::string& key, bool prefix) {
  json request = json::object();
  set_key_range(request, key, prefix);
  return request.dump();
}

std::string put_request(const std::string& key, const std::string& value, int64_t lease) {
  json request = {{"key", base64_encode(key)}, {"value", base64_encode(value)}};
  if (lease != 0) request["lease"] = int_text(lease);
  return request.dump();
}

std::string delete_request(const std::string& key, bool prefix) {
  json request = json::object();
  set_key_range(request, key, prefix);
  return request.dump();
}

namespace {

json compare_json(const Compare& compare) {
  json out = {{"key", base64_encode(compare.key)}, {"result", "EQUAL"}};
  switch (compare.target) {
    case Compare::Target::mod_revision:
      out["target"] = "MOD";
      out["mod_revision"] = int_text(compare.number);
      break;
    case Compare::Target::version:
      out["target"] = "VERSION";
      out["version"] = int_text(compare.number);
      break;
    case Compare::Target::value:
      out["target"] = "VALUE";
      out["value"] = base64_encode(compare.value);
      break;
  }
  return out;
}

json op_json(const Op& op) {
  if (op.kind == Op::Kind::del) return {{"request_delete_range", {{"key", base64_encode(op.key)}}}};
  json put = {{"key", base64_encode(op.key)}, {"value", base64_encode(op.value)}};
  if (op.lease != 0) put["lease"] = int_text(op.lease);
  return {{"request_put", put}};
}

json branch_json(const std::vector<Op>& ops, const std::vector<Compare>& compares) {
  json out = json::array();
  for (const auto& op : ops) out.push_back(op_json(op));
  std::set<std::string> seen;
  for (const auto& compare : compares)
    if (seen.insert(compare.key).second)
      out.push_back({{"request_range", {{"key", base64_encode(compare.key)}}}});
  return out;
}

}  // namespace

std::string txn_request(const TxnRequest& request) {
  json compares = json::array();
  for (const auto& compare : request.compares) compares.push_back(compare_json(compare));
  json out = {{"compare", compares},
              {"success", branch_json(request.success, request.compares)},
              {"failure", branch_json(request.failure, request.compares)}};
  return out.dump();
}

std::string lease_grant_request(int64_t ttl_s) { return json{{"TTL", int_text(ttl_s)}}.dump(); }

std::string lease_id_request(int64_t lease_id) { return json{{"ID", int_text(lease_id)}}.dump(); }

std::string watch_create_request(const std::string& key, bool prefix, int64_t start_revision) {
  json create = json::object();
  set_key_range(create, key, prefix);
  if (start_revision > 0) create["start_revision"] = int_text(start_revision);
  return json{{"create_request", create}}.dump();
}

std::string compaction_request(int64_t revision) {
  return json{{"revision", int_text(revision)}, {"physical", true}}.dump();
}

Result<RangeResult> parse_range_response(const std::string& body) {
  return parse_guarded<RangeResult>(body, "range answer", [](const json& doc) {
    RangeResult result;
    result.kvs = parse_kvs(doc);
    result.revision = header_revision(doc);
    return result;
  });
}

Result<int64_t> parse_revision(const std::string& body) {
  return parse_guarded<int64_t>(body, "answer", [](const json& doc) { return header_revision(doc); });
}

Result<int64_t> parse_delete_response(const std::string& body) {
  return parse_guarded<int64_t>(body, "delete answer",
                                [](const json& doc) { return get_int(doc, "deleted"); });
}

Result<TxnResult> parse_txn_response(const std::string& body) {
  return parse_guarded<TxnResult>(body, "txn answer", [](const json& doc) {
    TxnResult result;
    result.succeeded = get_bool(doc, "succeeded");
    result.revision = header_revision(doc);
    for (const auto& response : get_array(doc, "responses")) {
      if (!response.is_object()) throw Malformed("a txn response is not an object");
      if (response.contains("response_range")) {
        for (auto& kv : parse_kvs(get_object(response, "response_range")))
          result.current.push_back(std::move(kv));
      }
    }
    return result;
  });
}

Result<LeaseGrant> parse_lease_grant_response(const std::string& body) {
  return parse_guarded<LeaseGrant>(body, "lease grant answer", [](const json& doc) {
    if (!get_string(doc, "error").empty()) throw Malformed("grant failed: " + get_string(doc, "error"));
    LeaseGrant grant{get_int(doc, "ID"), get_int(doc, "TTL")};
    if (grant.id == 0) throw Malformed("no lease ID");
    return grant;
  });
}

Result<int64_t> parse_keepalive_response(const std::string& body, int64_t lease_id) {
  // A streaming call: take the first line.
  std::string line = body.substr(0, body.find('\n'));
  auto ttl = parse_guarded<int64_t>(line, "keepalive answer", [](const json& doc) -> int64_t {
    if (doc.contains("error")) throw Malformed("stream error: " + member(doc, "error").dump());
    return get_int(get_object(doc, "result"), "TTL");
  });
  if (ttl.ok() && *ttl <= 0)
    return Status(Errc::not_found, "lease " + std::to_string(lease_id) + " not found (expired or revoked)");
  return ttl;
}

Result<int64_t> parse_time_to_live_response(const std::string& body, int64_t lease_id) {
  // etcd's JSON gateway leaves out a zero TTL, which get_int reads as 0.
  auto ttl = parse_guarded<int64_t>(body, "lease time-to-live answer", [](const json& doc) -> int64_t {
    if (!get_string(doc, "error").empty()) throw Malformed("time-to-live failed: " + get_string(doc, "error"));
    return get_int(doc, "TTL");
  });
  if (ttl.ok() && *ttl < 0)
    return Status(Errc::not_found, "lease " + std::to_string(lease_id) + " not found (expired or revoked)");
  return ttl;
}

Status parse_health_response(const std::string& body) {
  auto healthy = parse_guarded<bool>(body, "health answer", [](const json& doc) {
    return get_string(doc, "health") == "true";
  });
  if (!healthy.ok()) return healthy.status();
  if (*healthy) return Status::ok();
  return Status(Errc::unavailable, "etcd reports itself unhealthy: " + quote(body));
}

Status error_from_response(int http_status, const std::string& body) {
  std::string where = "etcd answered HTTP " + std::to_string(http_status);
  struct Mapped {  // Result<Status> would be ambiguous
    Status status;
  };
  auto parsed = parse_guarded<Mapped>(body, "error answer", [&](const json& doc) {
    const json& error = member(doc, "error");
    if (error.is_object()) return Mapped{stream_error(error)};
    std::string message = get_string(doc, "message");
    if (message.empty()) message = get_string(doc, "error");
    if (!doc.contains("code")) throw Malformed("no gRPC code");
    int64_t code = get_int(doc, "code");
    return Mapped{Status(errc_from_grpc(code), where + ": " + message)};
  });
  if (parsed.ok()) return parsed->status;
  // Not etcd's error shape (a proxy, a wrong path): classify by HTTP status.
  Errc errc = http_status >= 500 ? Errc::unavailable
              : http_status == 404 ? Errc::not_found
                                   : Errc::invalid_argument;
  return Status(errc, where + ": " + quote(body));
}

Result<WatchMessage> parse_watch_message(const std::string& line) {
  return parse_guarded<WatchMessage>(line, "watch message", [](const json& doc) {
    WatchMessage message;
    const json& error = member(doc, "error");
    if (!error.is_null()) {
      message.error = error.is_object() ? stream_error(error)
                                        : Status(Errc::unavailable, "etcd stream error: " + error.dump());
      return message;
    }
    const json& result = get_object(doc, "result");
    message.created = get_bool(result, "created");
    message.canceled = get_bool(result, "canceled");
    message.compact_revision = get_int(result, "compact_revision");
    message.header_revision = header_revision(result);
    message.cancel_reason = get_string(result, "cancel_reason");
    for (const auto& item : get_array(result, "events")) {
      if (!item.is_object()) throw Malformed("a watch event is not an object");
      WatchEvent event;
      std::string type = get_string(item, "type");
      if (type == "DELETE") event.type = WatchEvent::Type::del;
      else if (!type.empty() && type != "PUT") throw Malformed("unknown event type '" + type + "'");
      event.kv = parse_kv(get_object(item, "kv"));
      message.events.push_back(std::move(event));
    }
    return message;
  });
}

}  // namespace ezone::meta::etcd
