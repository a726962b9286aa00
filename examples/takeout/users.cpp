#include "examples/takeout/users.hpp"

#include "examples/takeout/json_body.hpp"

namespace ezone::takeout {
namespace {

struct User {
  int64_t id = 0;
  std::string phone;
  std::string name;
  int64_t created_ms = 0;
};

// Digits with the separators people type: "+86 138-0000-0000".
bool plausible_phone(const std::string& phone) {
  int digits = 0;
  for (char c : phone) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (c != '+' && c != '-' && c != ' ') {
      return false;
    }
  }
  return digits > 0;
}

Result<User> parse_user(const std::string& body) {
  auto json = parse_object(body);
  if (!json) return json.status();
  User user;
  auto phone = string_field(*json, "phone", kPhoneBytesMax);
  if (!phone) return phone.status();
  if (!plausible_phone(*phone))
    return Status(Errc::invalid_argument, "'phone' must be digits, optionally with '+', '-' and spaces");
  auto name = string_field(*json, "name", kNameBytesMax);
  if (!name) return name.status();
  user.phone = std::move(*phone);
  user.name = std::move(*name);
  return user;
}

// One writer thread runs every transaction of this table's master, so the
// check and the insert cannot interleave with another registration.
Status insert_user(dal::Tx& tx, User& user) {
  auto taken = tx.query("SELECT id FROM users WHERE phone = ?1", {user.phone});
  if (!taken) return taken.status();
  if (!taken->empty()) return Status(Errc::conflict, "phone " + user.phone + " is already registered");
  user.created_ms = tx_time_ms(tx);
  auto inserted = tx.exec("INSERT INTO users(phone, name, created_ms) VALUES(?1, ?2, ?3)",
                          {user.phone, user.name, user.created_ms});
  if (!inserted) return inserted.status();
  auto id = tx.query("SELECT id FROM users WHERE phone = ?1", {user.phone});
  if (!id) return id.status();
  if (id->size() != 1 || !std::holds_alternative<int64_t>((*id)[0][0]))
    return Status(Errc::internal, "the new user of phone " + user.phone + " has no integer id");
  user.id = std::get<int64_t>((*id)[0][0]);
  return Status::ok();
}

}  // namespace

Endpoint create_user_endpoint(std::shared_ptr<const Service> service, const std::string& master) {
  auto step = std::make_shared<const Step>(std::move(service), "create_user");
  Endpoint e;
  e.method = "POST";
  e.pattern = "/v1/users";
  e.entrance = Entrance::user;
  e.key = key_to_ezone(master);
  e.access = Access::write;
  e.handler = [step](HttpRequest&& request, HttpResponder respond) {
    Call call(step, std::move(respond));
    auto parsed = parse_user(request.body);
    if (!parsed) return call.bad_request(parsed.status());
    auto user = std::make_shared<User>(std::move(*parsed));
    // A global-zone write has no shard: the DAL checks that this ezone is
    // the table's master (not_master otherwise) and holds its lease.
    call.service().dal.submit(
        unsharded_target(request, call.service().gzs), [user](dal::Tx& tx) { return insert_user(tx, *user); },
        [call, user](dal::TxOutcome out) {
          if (!out.ok()) return call.failed(out);
          call.json(201, {{"id", user->id}, {"phone", user->phone}, {"name", user->name},
                          {"created_ms", user->created_ms}, {"served_by", call.service().ezone}});
        });
  };
  return e;
}

}  // namespace ezone::takeout
