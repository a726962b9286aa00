// ShardWriter: a zone-aware client writing orders to one shard of a
// LocalCluster, for the disaster-recovery tests and the failover benchmark.
// Each of its threads sends every write to the shard's owner at the epoch
// it last read; on a refusal or a dead connection it re-reads the route
// (the newest epoch among the zones that answer) and tries the same order
// again. It
// records which zone acknowledged each order and when, so a checker can
// verify that nothing acknowledged was lost and measure the gaps.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/ids.hpp"
#include "tests/integration/local_cluster.hpp"

namespace ezone::test {

struct ShardWriterOptions {
  ShardId shard = 1;
  int64_t first_id = 1;   // order ids first_id, first_id + 1, ...
  int threads = 1;
  double rate_per_s = 0;  // total offered rate; 0 = as fast as the threads go
  int64_t duration_max_ms = 120000;  // a bound: callers stop it far sooner
};

struct Ack {
  std::string zone;
  std::chrono::steady_clock::time_point at;
  int64_t sent_wall_ms = 0;   // when the acknowledged attempt was sent (system clock)
  int64_t epoch = 0;          // the route-table epoch the client sent it under
};

class ShardWriter {
 public:
  ShardWriter(LocalCluster& cluster, ShardWriterOptions options = {});
  ~ShardWriter();  // stops

  void start();
  void stop();  // idempotent; joins
  size_t acked() const;
  std::map<int64_t, Ack> acks() const;  // order id -> who acknowledged it, when
  int refusals() const { return refusals_; }
  std::string last_refusal() const;

 private:
  void run(int thread);
  bool read_route(std::string* owner, int64_t* epoch);

  LocalCluster& cluster_;
  const ShardWriterOptions options_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> next_id_;
  std::atomic<int> refusals_{0};
  mutable std::mutex mutex_;
  std::map<int64_t, Ack> acks_;
  std::string last_refusal_;
};

// GET `target` on a zone's admin API as JSON; null when it does not answer 200.
nlohmann::json admin_json(const LocalCluster& cluster, const std::string& ezone, const std::string& target);
// The shard's route ({"id", "owner", "state", ..., "epoch"}) in the zone's
// route table; null when the zone does not answer or has no such shard.
nlohmann::json shard_route(const LocalCluster& cluster, const std::string& ezone, ShardId shard);
// Every zone has applied every other zone's outbox up to its head
// (GET /admin/v1/coord/site of each).
bool replication_caught_up(const LocalCluster& cluster);

// The ids of every order at a zone, read in pages (a DAL query returns at
// most dal.query_rows_max rows). error() when the zone does not answer.
Result<std::set<int64_t>> orders_at(const LocalCluster& cluster, const std::string& ezone);

}  // namespace ezone::test
