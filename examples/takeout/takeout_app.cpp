#include "examples/takeout/takeout_app.hpp"

#include "examples/takeout/merchants.hpp"
#include "examples/takeout/orders.hpp"
#include "examples/takeout/service.hpp"
#include "examples/takeout/users.hpp"

namespace ezone {
namespace {

// The tables the app writes, in the classes it relies on: users written at
// one master, merchants and orders owned by the shard in their `shard`.
Result<std::string> users_master(const data::Schema& schema) {
  auto wrong = [](const std::string& why) {
    return Status(Errc::invalid_argument, "the takeout app needs " + why +
                                              "; use config/schemas/takeout.toml as [dal] schema_file");
  };
  const data::TableSpec* users = schema.find("users");
  if (!users || users->kind != data::TableKind::global) return wrong("a global-zone table 'users'");
  for (const char* name : {"merchants", "orders"}) {
    const data::TableSpec* t = schema.find(name);
    if (!t || t->kind != data::TableKind::sharding || t->shard_column != "shard")
      return wrong(std::string("a sharding-zone table '") + name + "' with shard_column = \"shard\"");
  }
  return users->master_ezone;
}

}  // namespace

AppFactory takeout_app() {
  return [](const AppContext& context) -> Result<std::vector<Endpoint>> {
    auto master = users_master(context.dal.schema());
    if (!master) return master.status();
    auto service = std::make_shared<const takeout::Service>(takeout::Service{
        context.dal, context.gzs, context.metrics, context.logger, context.config.ezone,
        context.config.router.retry_after_s, context.cache});
    std::vector<Endpoint> endpoints;
    endpoints.push_back(takeout::create_user_endpoint(service, *master));
    endpoints.push_back(takeout::create_merchant_endpoint(service));
    for (Endpoint& e : takeout::order_endpoints(service)) endpoints.push_back(std::move(e));
    return endpoints;
  };
}

}  // namespace ezone
