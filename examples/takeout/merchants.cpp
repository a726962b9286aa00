#include "examples/takeout/merchants.hpp"

#include "examples/takeout/json_body.hpp"
#include "zones/routing/order_id.hpp"

namespace ezone::takeout {
namespace {

struct Merchant {
  int64_t id = 0;
  int64_t shard = 0;
  std::string name;
  double lat = 0, lon = 0;
};

constexpr size_t kMerchantNameBytesMax = 100;

Result<Merchant> parse_merchant(const std::string& body) {
  auto json = parse_object(body);
  if (!json) return json.status();
  Merchant m;
  auto name = string_field(*json, "name", kMerchantNameBytesMax);
  if (!name) return name.status();
  auto lat = number_field(*json, "lat", -90, 90);
  if (!lat) return lat.status();
  auto lon = number_field(*json, "lon", -180, 180);
  if (!lon) return lon.status();
  m.name = std::move(*name);
  m.lat = *lat;
  m.lon = *lon;
  return m;
}

}  // namespace

Result<ShardId> id_shard(int64_t id) {
  auto parts = decode_order_id(static_cast<uint64_t>(id));
  if (!parts) return parts.status();
  return parts->shard;
}

std::optional<int64_t> mint_id(const Call& call, ShardId shard) {
  auto id = call.service().gzs.mint_order_id(shard);
  if (id) return static_cast<int64_t>(*id);  // bit 63 is always zero
  dal::TxOutcome out;
  out.status = id.status();
  call.failed(out);  // unavailable -> 503 + Retry-After: the minter catches up
  return std::nullopt;
}

Endpoint create_merchant_endpoint(std::shared_ptr<const Service> service) {
  auto step = std::make_shared<const Step>(std::move(service), "create_merchant");
  Endpoint e;
  e.method = "POST";
  e.pattern = "/v1/merchants";
  e.entrance = Entrance::merchant;
  e.key = key_from_body_geo("lat", "lon");
  e.access = Access::write;
  e.handler = [step](HttpRequest&& request, HttpResponder respond) {
    Call call(step, std::move(respond));
    auto parsed = parse_merchant(request.body);
    if (!parsed) return call.bad_request(parsed.status());
    auto target = shard_target(request, call.service().gzs);
    if (!target) return call.answer(HttpResponse::error(500, target.status().message()));
    auto id = mint_id(call, *target->shard);
    if (!id) return;
    auto m = std::make_shared<Merchant>(std::move(*parsed));
    m->id = *id;
    m->shard = *target->shard;
    call.service().dal.submit(
        *target,
        [m](dal::Tx& tx) {
          auto n = tx.exec("INSERT INTO merchants(id, shard, name, lat, lon) VALUES(?1, ?2, ?3, ?4, ?5)",
                           {m->id, m->shard, m->name, m->lat, m->lon});
          return n ? Status::ok() : n.status();
        },
        [call, m](dal::TxOutcome out) {
          if (!out.ok()) return call.failed(out);
          call.json(201, {{"id", m->id}, {"shard", m->shard}, {"name", m->name}, {"lat", m->lat}, {"lon", m->lon},
                          {"served_by", call.service().ezone}});
        });
  };
  return e;
}

}  // namespace ezone::takeout
