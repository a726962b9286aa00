#include "tests/integration/shard_writer.hpp"

#include <future>
#include <limits>

#include <nlohmann/json.hpp>

#include "storage/net/http_client.hpp"

namespace ezone::test {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

ShardWriter::ShardWriter(LocalCluster& cluster, ShardWriterOptions options)
    : cluster_(cluster), options_(options), next_id_(options.first_id) {}

ShardWriter::~ShardWriter() { stop(); }

void ShardWriter::start() {
  for (int t = 0; t < options_.threads; ++t) threads_.emplace_back([this, t] { run(t); });
}

void ShardWriter::stop() {
  stopping_ = true;
  for (std::thread& t : threads_)
    if (t.joinable()) t.join();
}

size_t ShardWriter::acked() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return acks_.size();
}

std::map<int64_t, Ack> ShardWriter::acks() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return acks_;
}

std::string ShardWriter::last_refusal() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_refusal_;
}

// The newest route any zone answers with: a zone that is cut off from etcd
// but still answers (isolated, or its watch behind) holds an older table,
// and its owner there may be the zone that just lost the shard. The zones
// are asked at once, so a frozen one costs one timeout, not one per zone.
bool ShardWriter::read_route(std::string* owner, int64_t* epoch) {
  std::vector<std::future<json>> answers;
  for (const auto& zone : cluster_.ezones())
    answers.push_back(std::async(std::launch::async, [this, zone] { return shard_route(cluster_, zone, options_.shard); }));
  bool found = false;
  for (auto& answer : answers) {
    json route = answer.get();
    if (!route.is_object()) continue;
    const int64_t e = route.value("epoch", int64_t{0});
    if (found && e <= *epoch) continue;
    *owner = route.value("owner", "");
    *epoch = e;
    found = true;
  }
  return found;
}

void ShardWriter::run(int thread) {
  std::string owner;
  int64_t epoch = 0;
  std::unique_ptr<net::HttpConnection> conn;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::milliseconds(options_.duration_max_ms);
  // Each thread offers rate / threads, on a fixed schedule (no coordinated omission).
  const double per_thread_s = options_.rate_per_s > 0 ? options_.threads / options_.rate_per_s : 0;
  int64_t sent = 0;
  int64_t id = next_id_++;
  while (!stopping_ && Clock::now() < deadline) {
    if (per_thread_s > 0) {
      auto due = start + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(per_thread_s * (sent + thread / double(options_.threads))));
      if (due > Clock::now()) std::this_thread::sleep_until(due);
    }
    if (owner.empty()) {
      conn.reset();
      if (!read_route(&owner, &epoch)) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        continue;
      }
      conn = std::make_unique<net::HttpConnection>(cluster_.addresses(owner).http, cluster_.http_tls());
    }
    json body{{"shard", options_.shard},
              {"epoch", epoch},
              {"statements", {{{"sql", "INSERT INTO orders(id, shard, state) VALUES(?1, ?2, 'created')"},
                               {"params", {id, options_.shard}}}}}};
    net::HttpRequest req;
    req.method = "POST";
    req.target = "/dal/v1/tx";
    req.body = body.dump();
    req.content_type = "application/json";
    net::add_service_token(req, cluster_.service_token());
    const int64_t sent_wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count();
    auto r = conn->request(req, 3000);
    if (r.ok() && r->status == 200) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        acks_[id] = Ack{owner, Clock::now(), sent_wall_ms, epoch};
      }
      id = next_id_++;
      ++sent;
      continue;
    }
    if (r.ok() && r->body.find("UNIQUE constraint failed") != std::string::npos) {
      // An earlier attempt of this id committed although its answer was
      // lost: it is in the table but was never acknowledged. Move on.
      id = next_id_++;
      continue;
    }
    // Refused (write-forbidden, stale epoch, wrong zone) or unreachable: re-read the route.
    ++refusals_;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      last_refusal_ = owner + ": " + (r.ok() ? std::to_string(r->status) + " " + r->body : r.status().to_string());
    }
    owner.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

json admin_json(const LocalCluster& cluster, const std::string& ezone, const std::string& target) {
  auto r = cluster.admin_request(ezone, "GET", target);
  if (!r.ok() || r->status != 200) return json();
  return json::parse(r->body, nullptr, false);
}

json shard_route(const LocalCluster& cluster, const std::string& ezone, ShardId shard) {
  json t = admin_json(cluster, ezone, "/admin/v1/routes");
  if (!t.is_object()) return json();
  for (json s : t["shards"]) {
    if (s.value("id", int64_t{-1}) != static_cast<int64_t>(shard)) continue;
    s["epoch"] = t["epoch"];
    return s;
  }
  return json();
}

bool replication_caught_up(const LocalCluster& cluster) {
  std::map<std::string, json> sites;
  for (const std::string& z : cluster.ezones()) {
    sites[z] = admin_json(cluster, z, "/admin/v1/coord/site");
    if (!sites[z].is_object()) return false;
  }
  for (const auto& [z, site] : sites)
    for (const auto& [origin, other] : sites) {
      if (z == origin) continue;
      if (site["applied"].value(origin, uint64_t{0}) != other.value("outbox_head", uint64_t{0})) return false;
      // Of origin's current outbox: a re-seeded origin's seqs start again.
      const uint64_t lineage = other.value("lineage", uint64_t{0});
      if (other.value("outbox_head", uint64_t{0}) > 0 && lineage != 0 &&
          site["applied_lineage"].value(origin, uint64_t{0}) != lineage)
        return false;
    }
  return true;
}

Result<std::set<int64_t>> orders_at(const LocalCluster& cluster, const std::string& ezone) {
  constexpr int kPageRows = 5000;
  std::set<int64_t> out;
  net::HttpConnection conn(cluster.addresses(ezone).http, cluster.http_tls());
  int64_t after = std::numeric_limits<int64_t>::min();
  for (;;) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = "/dal/v1/tx";
    req.body = json{{"statements",
                     {{{"sql", "SELECT id FROM orders WHERE id > ?1 ORDER BY id LIMIT " + std::to_string(kPageRows)},
                       {"params", {after}}}}}}
                   .dump();
    req.content_type = "application/json";
    net::add_service_token(req, cluster.service_token());
    auto r = conn.request(req, 10000);
    if (!r) return r.status();
    if (r->status != 200) return Status(Errc::unavailable, ezone + " answered " + std::to_string(r->status) + ": " + r->body);
    const json doc = json::parse(r->body, nullptr, false);
    if (!doc.is_object()) return Status(Errc::parse_error, ezone + " sent something that is not JSON");
    const json& rows = doc["results"][0]["rows"];
    for (const json& row : rows) out.insert(after = row[0].get<int64_t>());
    if (rows.size() < static_cast<size_t>(kPageRows)) return out;
  }
}

}  // namespace ezone::test
