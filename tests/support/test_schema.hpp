// The schema the DAL/DRC integration tests share: a sharding-zone table and
// a global-zone table mastered at bj.
#pragma once

namespace ezone::test {

constexpr const char* kOrdersUsersSchema = R"toml(
[[table]]
name = "orders"
kind = "sharding-zone"
shard_column = "shard"
ddl = "CREATE TABLE orders(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, state TEXT NOT NULL)"

[[table]]
name = "users"
kind = "global-zone"
master = "bj"
ddl = "CREATE TABLE users(id INTEGER PRIMARY KEY, phone TEXT NOT NULL UNIQUE)"
)toml";

}  // namespace ezone::test
