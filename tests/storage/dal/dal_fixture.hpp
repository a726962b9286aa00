// Sites for DAL/DRC tests: a Dal over a temporary SQLite file, a manual
// clock (so tests decide which write is later) and a write gate the test
// controls (route table and lease).
#pragma once

#include <functional>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>

#include "core/clock.hpp"
#include "core/hlc.hpp"
#include "core/metrics.hpp"
#include "storage/dal/dal.hpp"

namespace ezone::test {

// Shards: 11 beijing (bj), 31 shanghai (sh), 32 jiangsu (sh).
inline std::shared_ptr<const RouteTable> routes_at(Epoch epoch, const std::string& owner_11 = "bj",
                                                   ShardState state_31 = ShardState::active,
                                                   const std::string& owner_31 = "sh") {
  auto table = RouteTable::create(epoch,
                                  {{11, "beijing", owner_11, ShardState::active},
                                   {31, "shanghai", owner_31, state_31},
                                   {32, "jiangsu", "sh", ShardState::active}},
                                  {{"bj", {"127.0.0.1", 7100}}, {"sh", {"127.0.0.1", 7200}}, {"gz", {"127.0.0.1", 7300}}});
  EXPECT_TRUE(table.ok()) << table.status().to_string();
  return std::make_shared<const RouteTable>(std::move(table).value());
}

inline data::TableSpec orders_spec(const std::string& ddl = "", std::vector<data::Migration> migrations = {}) {
  data::TableSpec t;
  t.migrations = std::move(migrations);
  t.name = "orders";
  t.kind = data::TableKind::sharding;
  t.shard_column = "shard";
  t.ddl = ddl.empty() ? "CREATE TABLE orders(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, state TEXT NOT NULL, "
                        "amount INTEGER NOT NULL DEFAULT 0)"
                      : ddl;
  return t;
}

inline data::Schema test_schema(const std::string& orders_ddl = "", std::vector<data::Migration> orders_migrations = {},
                                std::vector<data::TableSpec> more_tables = {}) {
  data::TableSpec users;
  users.name = "users";
  users.kind = data::TableKind::global;
  users.master_ezone = "bj";
  users.ddl = "CREATE TABLE users(id INTEGER PRIMARY KEY, phone TEXT NOT NULL UNIQUE, name TEXT NOT NULL)";
  data::TableSpec scratch;
  scratch.name = "scratch";
  scratch.kind = data::TableKind::local;
  scratch.ddl = "CREATE TABLE scratch(k TEXT PRIMARY KEY, v TEXT)";
  std::vector<data::TableSpec> tables{orders_spec(orders_ddl, std::move(orders_migrations)), users, scratch};
  tables.insert(tables.end(), more_tables.begin(), more_tables.end());
  auto schema = data::Schema::create(std::move(tables));
  EXPECT_TRUE(schema.ok()) << schema.status().to_string();
  return std::move(schema).value();
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/ezone-dal-XXXXXX";
    path_ = mkdtemp(pattern);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class Site {
 public:
  explicit Site(std::string ezone, const std::string& orders_ddl = "", const std::string& dir = "")
      : ezone_(std::move(ezone)), clock_(1'000'000), hlc_(clock_), metrics_(ezone_) {
    path_ = (dir.empty() ? tmp_.path() : dir) + "/" + ezone_ + ".db";
    gate_.routes = routes_at(1);
    gate_.lease_valid = true;
    open(orders_ddl);
  }

  void open(const std::string& orders_ddl = "") {
    Status s = try_open(orders_ddl);
    ASSERT_TRUE(s.is_ok()) << s.to_string();
  }
  // open() that gives the error instead of failing the test.
  Status try_open(const std::string& orders_ddl = "") {
    dal_.reset();
    dal::DalConfig config;
    config.ezone = ezone_;
    config.path = path_;
    config.synchronous_full = false;  // tests do not need power-loss durability
    if (configure) configure(config);
    auto dal = dal::Dal::open(config, test_schema(orders_ddl, orders_migrations, more_tables), [this] { return gate(); },
                              hlc_, &metrics_);
    if (!dal.ok()) return dal.status();
    dal_ = std::move(dal).value();
    return Status::ok();
  }
  void close() { dal_.reset(); }
  // Adjusts the DalConfig of every later open().
  std::function<void(dal::DalConfig&)> configure;
  // The orders table's migrations, and tables besides the test schema's,
  // at every later open().
  std::vector<data::Migration> orders_migrations;
  std::vector<data::TableSpec> more_tables;

  dal::WriteGate gate() {
    std::lock_guard<std::mutex> lock(mutex_);
    return gate_;
  }
  void set_routes(std::shared_ptr<const RouteTable> routes) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      gate_.routes = std::move(routes);
    }
    if (dal_) dal_->gate_changed();
  }
  void set_lease(bool valid) {
    std::lock_guard<std::mutex> lock(mutex_);
    gate_.lease_valid = valid;
    gate_.lease_detail = valid ? "" : "keepalive failed";
  }

  dal::Dal& dal() { return *dal_; }
  ManualClock& clock() { return clock_; }
  Metrics& metrics() { return metrics_; }
  const std::string& path() const { return path_; }
  const std::string& ezone() const { return ezone_; }
  Epoch epoch() { return gate().routes->epoch(); }

  // Writes (or overwrites) order `id` in `shard` with `state`.
  dal::TxOutcome put_order(int64_t id, ShardId shard, const std::string& state, int64_t amount = 0) {
    return dal_->run({shard, epoch()}, [&](dal::Tx& tx) -> Status {
      return tx.exec("INSERT INTO orders(id, shard, state, amount) VALUES(?1, ?2, ?3, ?4) "
                     "ON CONFLICT(id) DO UPDATE SET state=excluded.state, amount=excluded.amount",
                     {dal::Value(id), dal::Value(static_cast<int64_t>(shard)), dal::Value(state), dal::Value(amount)})
          .status();
    });
  }

 private:
  TempDir tmp_;
  std::string ezone_;
  std::string path_;
  ManualClock clock_;
  HybridClock hlc_;
  Metrics metrics_;
  std::mutex mutex_;
  dal::WriteGate gate_;
  std::unique_ptr<dal::Dal> dal_;
};

// Pulls everything `from` has that `to` has not applied, in batches.
inline dal::ApplyReport pull(Site& from, Site& to, size_t rows_max = 100) {
  dal::ApplyReport total;
  for (int i = 0; i < 10000; ++i) {
    auto cursor = to.dal().cursor(from.ezone());
    EXPECT_TRUE(cursor.ok());
    auto batch = from.dal().read_outbox(cursor.value(), rows_max, 1 << 20);
    EXPECT_TRUE(batch.ok()) << batch.status().to_string();
    if (batch.value().entries.empty()) return total;
    auto wire = dal::decode_batch(dal::encode_batch(batch.value()));
    EXPECT_TRUE(wire.ok());
    auto report = to.dal().apply(wire.value());
    EXPECT_TRUE(report.ok()) << report.status().to_string();
    if (!report.ok()) return total;
    total.entries += report.value().entries;
    total.rows += report.value().rows;
    total.conflicts += report.value().conflicts;
    total.parked += report.value().parked;
    total.cursor = report.value().cursor;
  }
  ADD_FAILURE() << "pull did not finish";
  return total;
}

}  // namespace ezone::test
