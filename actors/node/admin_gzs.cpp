#include "actors/node/admin_gzs.hpp"

#include <nlohmann/json.hpp>

#include "core/json.hpp"
#include "zones/routing/route_table.hpp"

namespace ezone {
namespace {

using nlohmann::json;

json locate_one(const Gzs& gzs, const std::string& text) {
  json out{{"key", text}};
  auto key = parse_sharding_key(text);
  if (!key) return out["error"] = key.status().message(), out;
  auto r = gzs.resolve(*key);
  if (!r) return out["error"] = r.status().message(), out;
  out["fence"] = r->fence_name;
  out["fence_id"] = r->fence_id;
  out["shard"] = r->shard;
  out["shard_name"] = r->shard_name;
  out["owner"] = r->owner;
  out["owner_http"] = r->owner_http.to_string();
  out["state"] = r->write_forbidden ? "write-forbidden" : "active";
  out["epoch"] = r->epoch;
  return out;
}

HttpResponse locate(const Gzs& gzs, const HttpRequest& req) {
  if (req.method == "GET") {
    std::string key = req.query_param("key");
    if (key.empty()) return HttpResponse::error(400, "give ?key=geo=LAT,LON (or merchant=ID, order=ID)");
    json answer = locate_one(gzs, key);
    return HttpResponse::json(answer.contains("error") ? 422 : 200, dump_json(answer) + "\n");
  }
  json body = parse_json_or_discarded(req.body);
  if (!body.is_object() || !body.contains("keys") || !body["keys"].is_array())
    return HttpResponse::error(400, "POST body must be {\"keys\": [\"geo=LAT,LON\", ...]}");
  if (body["keys"].size() > kLocateKeysMax)
    return HttpResponse::error(413, "at most " + std::to_string(kLocateKeysMax) + " keys per request");
  json results = json::array();
  for (const json& k : body["keys"])
    results.push_back(k.is_string() ? locate_one(gzs, k.get<std::string>())
                                    : json{{"key", dump_json(k)}, {"error", "keys must be strings"}});
  return HttpResponse::json(200, dump_json(json{{"results", results}}) + "\n");
}

HttpResponse move(Gzs& gzs, const HttpRequest& req) {
  json body = parse_json_or_discarded(req.body);
  if (!body.is_object() || !body.contains("shards") || !body["shards"].is_array() ||
      !body.contains("to") || !body["to"].is_string())
    return HttpResponse::error(400, "body must be {\"shards\": [\"name or id\", ...], \"to\": \"ezone\"}");
  std::vector<std::string> shards;
  for (const json& s : body["shards"])
    shards.push_back(s.is_string() ? s.get<std::string>() : dump_json(s));
  Epoch expected = body.value("expected_epoch", Epoch{0});
  Epoch before = gzs.epoch();
  auto moved = gzs.move(shards, body["to"].get<std::string>(), expected);
  if (!moved) return error_response(moved.status());
  json out{{"from_epoch", expected > 0 ? expected : before}, {"epoch", moved->epoch()},
           {"table", json::parse(encode_route_table_json(*moved))}};
  return HttpResponse::json(200, dump_json(out) + "\n");
}

HttpResponse put_merchant(Gzs& gzs, const HttpRequest& req, const std::string& id_text) {
  auto id = parse_key_id(id_text, "merchant");
  if (!id) return error_response(id.status());
  json body = parse_json_or_discarded(req.body);
  auto table = gzs.routes();
  if (!body.is_object() || !body.contains("shard") || !table)
    return HttpResponse::error(400, "body must be {\"shard\": \"name or id\"}");
  const json& s = body["shard"];
  const ShardRoute* shard = s.is_string() ? table->find_by_name(s.get<std::string>())
                            : s.is_number_unsigned() && s.get<uint64_t>() <= kShardIdMax
                                ? table->find(s.get<ShardId>()) : nullptr;
  if (!shard) return HttpResponse::error(400, "unknown shard " + dump_json(s));
  MerchantRoute route{*id, kNoFence, shard->shard};
  if (Status st = gzs.set_merchant(route); !st) return error_response(st);
  return HttpResponse::json(200, dump_json(json{{"merchant", *id}, {"shard", shard->shard}, {"shard_name", shard->name}}) + "\n");
}

}  // namespace

std::optional<HttpResponse> handle_gzs_admin(Gzs& gzs, const HttpRequest& req) {
  std::string path = req.path();
  const std::string merchants = "/admin/v1/merchants/";
  if (path == "/admin/v1/routes") {
    if (req.method != "GET") return HttpResponse::error(405, "use GET");
    auto table = gzs.routes();
    if (!table) return HttpResponse::error(503, "this node has no route table yet");
    return HttpResponse::json(200, encode_route_table_json(*table) + "\n");
  }
  if (path == "/admin/v1/routes/move")
    return req.method == "POST" ? move(gzs, req) : HttpResponse::error(405, "use POST");
  if (path == "/admin/v1/locate")
    return req.method == "GET" || req.method == "POST" ? locate(gzs, req)
                                                        : HttpResponse::error(405, "use GET or POST");
  if (path.compare(0, merchants.size(), merchants) == 0)
    return req.method == "PUT" ? put_merchant(gzs, req, path.substr(merchants.size()))
                               : HttpResponse::error(405, "use PUT");
  return std::nullopt;
}

Endpoint probe_endpoint(const std::string& ezone, const Gzs& gzs) {
  Endpoint e;
  e.method = "GET";
  e.pattern = "/ezone/v1/probe";
  e.entrance = Entrance::internal;
  e.key = key_from_header();
  e.access = Access::read;
  e.handler = [ezone, &gzs](HttpRequest&& req, HttpResponder respond) {
    nlohmann::json body{{"served_by", ezone},
                        {"key", req.header("x-ezone-key")},
                        {"shard", req.header("x-ezone-shard")},
                        {"epoch", gzs.epoch()},
                        {"hops", req.header("x-ezone-hops")}};
    respond(HttpResponse::json(200, dump_json(body) + "\n"));
  };
  return e;
}


}  // namespace ezone
