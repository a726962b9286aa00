#include "examples/takeout/orders.hpp"

#include "examples/takeout/json_body.hpp"
#include "examples/takeout/merchants.hpp"

namespace ezone::takeout {
namespace {

struct Order {
  int64_t id = 0;
  int64_t shard = 0;
  int64_t user_id = 0;
  int64_t merchant_id = 0;
  std::string state;
  double lat = 0, lon = 0;
  int64_t amount_cents = 0;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
};

constexpr const char* kSelectOrder =
    "SELECT id, shard, user_id, merchant_id, state, lat, lon, amount_cents, created_ms, updated_ms "
    "FROM orders WHERE id = ?1";

Order order_from_row(const dal::Row& r) {
  return Order{int_of(r[0]), int_of(r[1]), int_of(r[2]), int_of(r[3]), text_of(r[4]),
               real_of(r[5]), real_of(r[6]), int_of(r[7]), int_of(r[8]), int_of(r[9])};
}

nlohmann::json order_json(const Order& o, const std::string& served_by) {
  return {{"id", o.id}, {"shard", o.shard}, {"user_id", o.user_id}, {"merchant_id", o.merchant_id},
          {"state", o.state}, {"lat", o.lat}, {"lon", o.lon}, {"amount_cents", o.amount_cents},
          {"created_ms", o.created_ms}, {"updated_ms", o.updated_ms}, {"served_by", served_by}};
}

// Reads the order into `order`; not_found "unknown order N" when absent.
Status read_order(dal::Tx& tx, int64_t id, Order& order) {
  auto rows = tx.query(kSelectOrder, {id});
  if (!rows) return rows.status();
  if (rows->empty()) return Status(Errc::not_found, "unknown order " + std::to_string(id));
  order = order_from_row(rows->front());
  return Status::ok();
}

Endpoint make_endpoint(const char* method, std::string pattern, Entrance entrance, KeyExtractor key, Access access,
                       AsyncHttpHandler handler) {
  Endpoint e;
  e.method = method;
  e.pattern = std::move(pattern);
  e.entrance = entrance;
  e.key = std::move(key);
  e.access = access;
  e.handler = std::move(handler);
  return e;
}

// ---- POST /v1/orders ----

Result<Order> parse_new_order(const std::string& body) {
  auto json = parse_object(body);
  if (!json) return json.status();
  Order o;
  o.state = "created";
  auto user_id = id_field(*json, "user_id");
  if (!user_id) return user_id.status();
  auto merchant_id = id_field(*json, "merchant_id");
  if (!merchant_id) return merchant_id.status();
  auto lat = number_field(*json, "lat", -90, 90);
  if (!lat) return lat.status();
  auto lon = number_field(*json, "lon", -180, 180);
  if (!lon) return lon.status();
  auto amount = int_field(*json, "amount_cents", 1, kAmountCentsMax);
  if (!amount) return amount.status();
  o.user_id = *user_id;
  o.merchant_id = *merchant_id;
  o.lat = *lat;
  o.lon = *lon;
  o.amount_cents = *amount;
  return o;
}

Status insert_order(dal::Tx& tx, Order& o) {
  auto merchant = tx.query("SELECT 1 FROM merchants WHERE id = ?1 AND shard = ?2", {o.merchant_id, o.shard});
  if (!merchant) return merchant.status();
  if (merchant->empty())
    return Status(Errc::conflict, "unknown merchant " + std::to_string(o.merchant_id) + " in shard " +
                                      std::to_string(o.shard));
  o.created_ms = o.updated_ms = tx_time_ms(tx);
  auto n = tx.exec(
      "INSERT INTO orders(id, shard, user_id, merchant_id, state, lat, lon, amount_cents, created_ms, updated_ms) "
      "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
      {o.id, o.shard, o.user_id, o.merchant_id, o.state, o.lat, o.lon, o.amount_cents, o.created_ms, o.updated_ms});
  return n ? Status::ok() : n.status();
}

void create_order(const Call& call, const HttpRequest& request) {
  auto parsed = parse_new_order(request.body);
  if (!parsed) return call.bad_request(parsed.status());
  auto target = shard_target(request, call.service().gzs);
  if (!target) return call.answer(HttpResponse::error(500, target.status().message()));
  const ShardId shard = *target->shard;
  // A merchant serves the shard it stands in; its id carries that shard, so
  // a cross-shard order is answered here without a transaction.
  auto merchant_shard = id_shard(parsed->merchant_id);
  if (!merchant_shard) return call.bad_request(merchant_shard.status());
  if (*merchant_shard != shard) {
    return call.answer(HttpResponse::error(
        409, "merchant " + std::to_string(parsed->merchant_id) + " is in shard " + std::to_string(*merchant_shard) +
                 ", but the delivery point is in shard " + std::to_string(shard) +
                 "; a merchant delivers only within its own shard"));
  }
  auto id = mint_id(call, shard);
  if (!id) return;
  auto order = std::make_shared<Order>(std::move(*parsed));
  order->id = *id;
  order->shard = shard;
  call.service().dal.submit(
      *target, [order](dal::Tx& tx) { return insert_order(tx, *order); },
      [call, order](dal::TxOutcome out) {
        if (!out.ok()) return call.failed(out);
        call.json(201, order_json(*order, call.service().ezone));
      });
}

// ---- POST /v1/orders/{id}/<verb> and GET /v1/orders/{id} ----

// The order id of /v1/orders/{id}[/...]; the router has parsed it as the key
// already, so a failure here is a 400 for a path the router let through.
Result<int64_t> path_order_id(const HttpRequest& request) {
  return parse_path_id(path_segment(request.path_view(), 2), "order id");
}

struct Transition {
  const char* verb;  // the last path segment
  Entrance entrance;
  const char* from;
  const char* to;
};

constexpr Transition kTransitions[] = {
    {"accept", Entrance::merchant, "created", "accepted"},
    {"pickup", Entrance::rider, "accepted", "picked_up"},
    {"deliver", Entrance::rider, "picked_up", "delivered"},
};

// One compare-and-set on the state: the UPDATE changes the row only in the
// expected state, so two racing accepts cannot both succeed.
Status apply_transition(dal::Tx& tx, const Transition& t, int64_t id, Order& order) {
  auto changed = tx.exec("UPDATE orders SET state = ?1, updated_ms = ?2 WHERE id = ?3 AND state = ?4",
                         {std::string(t.to), tx_time_ms(tx), id, std::string(t.from)});
  if (!changed) return changed.status();
  Status read = read_order(tx, id, order);
  if (read.code() == Errc::not_found) return Status(Errc::conflict, read.message());
  if (!read) return read;
  if (*changed == 0) {
    return Status(Errc::conflict, "order " + std::to_string(id) + " is " + order.state + "; " + t.verb + " needs " +
                                      t.from);
  }
  return Status::ok();
}

void transition(const Call& call, const HttpRequest& request, const Transition& t) {
  auto id = path_order_id(request);
  if (!id) return call.bad_request(id.status());
  auto target = shard_target(request, call.service().gzs);
  if (!target) return call.answer(HttpResponse::error(500, target.status().message()));
  auto order = std::make_shared<Order>();
  const int64_t order_id = *id;
  call.service().dal.submit(
      *target, [&t, order_id, order](dal::Tx& tx) { return apply_transition(tx, t, order_id, *order); },
      [call, order](dal::TxOutcome out) {
        if (!out.ok()) return call.failed(out);
        call.json(200, order_json(*order, call.service().ezone));
      });
}

// A cached order is served from the I/O thread: the row cache never waits
// on the database. A miss reads through the DAL's writer queue with no
// shard (a read-only transaction: the DAL judges no route and captures
// nothing), because Dal::query may wait for a free reader connection and an
// I/O thread must not wait; it also serves reads while the shard is
// write-forbidden. The order then fills the cache, unless it changed since
// the lookup (RowCache's token). The cached bytes are the order's JSON
// without served_by.
void get_order(const Call& call, const HttpRequest& request) {
  auto id = path_order_id(request);
  if (!id) return call.bad_request(id.status());
  const int64_t order_id = *id;
  RowCache* cache = call.service().cache;
  const std::string pk = dal::row_text({dal::Value(order_id)});
  RowCache::Lookup cached;
  if (cache) cached = cache->get("orders", pk);
  if (cached.value) {
    auto body = nlohmann::json::parse(*cached.value, nullptr, /*allow_exceptions=*/false);
    if (body.is_object()) {
      body["served_by"] = call.service().ezone;
      return call.json(200, body);
    }
  }
  auto order = std::make_shared<Order>();
  call.service().dal.submit(
      unsharded_target(request, call.service().gzs),
      [order_id, order](dal::Tx& tx) { return read_order(tx, order_id, *order); },
      [call, order, cache, pk, token = cached.token](dal::TxOutcome out) {
        if (!out.ok()) return call.failed(out);
        nlohmann::json body = order_json(*order, call.service().ezone);
        if (cache) {
          nlohmann::json stored = body;
          stored.erase("served_by");
          cache->fill("orders", pk, token, stored.dump());
        }
        call.json(200, body);
      });
}

// Binds a step's handler to its metrics.
template <class F>
AsyncHttpHandler handler_of(std::shared_ptr<const Service> service, const std::string& name, F serve) {
  auto step = std::make_shared<const Step>(std::move(service), name);
  return [step, serve](HttpRequest&& request, HttpResponder respond) {
    serve(Call(step, std::move(respond)), request);
  };
}

}  // namespace

std::vector<Endpoint> order_endpoints(std::shared_ptr<const Service> service) {
  std::vector<Endpoint> out;
  out.push_back(make_endpoint("POST", "/v1/orders", Entrance::user, key_from_body_geo("lat", "lon"), Access::write,
                              handler_of(service, "create_order", create_order)));
  for (const Transition& t : kTransitions) {
    auto serve = [&t](const Call& call, const HttpRequest& request) { transition(call, request, t); };
    out.push_back(make_endpoint("POST", std::string("/v1/orders/{id}/") + t.verb, t.entrance,
                                key_from_path("id", ShardingKey::Kind::order), Access::write,
                                handler_of(service, t.verb, serve)));
  }
  out.push_back(make_endpoint("GET", "/v1/orders/{id}", Entrance::user, key_from_path("id", ShardingKey::Kind::order),
                              Access::read, handler_of(service, "get_order", get_order)));
  return out;
}

}  // namespace ezone::takeout
