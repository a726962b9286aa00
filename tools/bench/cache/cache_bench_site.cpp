// cache_bench's site: the orders table, its rows, a warm row cache, and
// the timed loops (see cache_bench_site.hpp).
#include "tools/bench/cache/cache_bench_site.hpp"

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>

namespace ezone::cache_bench {
namespace {

constexpr int64_t kLoadRowsPerTx = 1000;
constexpr int kLoadWindow = 16;
constexpr int64_t kWarmPageRows = 5000;  // under the DAL's query_rows_max
// How long a wait for one DAL answer may take before the bench gives up.
constexpr auto kAnswerWaitMax = std::chrono::seconds(60);
constexpr Epoch kEpoch = 1;

const char* const kSelectOrders =  // kSelectOrder's columns
    "SELECT id, shard, user_id, merchant_id, state, lat, lon, amount, created_ms, updated_ms FROM orders "
    "WHERE id BETWEEN ?1 AND ?2";

Result<data::Schema> bench_schema() {
  data::TableSpec t;
  t.name = "orders";
  t.kind = data::TableKind::sharding;
  t.shard_column = "shard";
  t.ddl = "CREATE TABLE orders(id INTEGER PRIMARY KEY, shard INTEGER NOT NULL, user_id INTEGER NOT NULL, "
          "merchant_id INTEGER NOT NULL, state TEXT NOT NULL, lat REAL NOT NULL, lon REAL NOT NULL, "
          "amount INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL)";
  return data::Schema::create({t});
}

ShardId shard_of(int64_t id) { return id % 2 ? 11 : 12; }

dal::Row make_order(int64_t id) {
  static const char* const kStates[] = {"created", "accepted", "picked_up", "delivered"};
  const int64_t created_ms = 1764000000000 + id * 37;
  return {id, int64_t(shard_of(id)), 1000000 + (id * 7919) % 900000, int64_t(shard_of(id)) * 1000000 + id % 500,
          std::string(kStates[id % 4]), 39.9 + double(id % 1000) * 0.000917, 116.4 + double(id % 997) * 0.000853,
          100 + (id * 31) % 9000, created_ms, created_ms + 60000};
}

using dal::int_of;
using dal::real_of;
using dal::text_of;

// At most `max` DAL requests in flight. Answers arrive on the DAL's writer
// thread (or on the submitter's, for a refusal), with their latency. Shared
// with the done callbacks, so one that comes after a timed-out wait still
// finds it.
class Window {
 public:
  explicit Window(int max) : max_(max) {}
  // Waits for a free slot; false when none came within kAnswerWaitMax.
  bool acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, kAnswerWaitMax, [&] { return in_flight_ < max_; })) return false;
    ++in_flight_;
    return true;
  }
  void release(int64_t latency_ns, bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    --in_flight_;
    if (ok) latencies_ns.push_back(latency_ns);
    else ++errors;
    cv_.notify_all();
  }
  // Waits until every request was answered; false after kAnswerWaitMax.
  bool drain() {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, kAnswerWaitMax, [&] { return in_flight_ == 0; });
  }
  // Read after drain().
  std::vector<int64_t> latencies_ns;
  uint64_t errors = 0;

 private:
  const int max_;
  std::mutex mu_;
  std::condition_variable cv_;
  int in_flight_ = 0;
};

// Fills every row the cache lacks, as an app does: get() (its token), then
// read the row, then fill(); a page of rows per query.
Result<WarmReport> warm(RowCache& cache, dal::Dal& dal, int64_t rows) {
  WarmReport report;
  for (int64_t first = 1; first <= rows; first += kWarmPageRows) {
    const int64_t last = std::min(rows, first + kWarmPageRows - 1);
    std::vector<uint64_t> tokens(size_t(last - first + 1));
    std::vector<bool> missing(tokens.size());
    for (int64_t id = first; id <= last; ++id) {
      auto got = cache.get("orders", pk(id));
      tokens[size_t(id - first)] = got.token;
      missing[size_t(id - first)] = !got.value;
      if (got.value) ++report.hits;
    }
    auto page = dal.query(kSelectOrders, {first, last});
    if (!page) return page.status();
    for (const dal::Row& row : *page) {
      const size_t at = size_t(int_of(row[0]) - first);
      if (!missing[at]) continue;
      std::string json = order_json(row);
      report.value_bytes += json.size();
      (cache.fill("orders", pk(int_of(row[0])), tokens[at], std::move(json)) == RowCache::Fill::stored
           ? report.stored
           : report.refused)++;
    }
  }
  return report;
}

double percentile_us(std::vector<int64_t>& ns, double q) {
  if (ns.empty()) return 0;
  const size_t at = std::min(ns.size() - 1, size_t(q * double(ns.size())));
  std::nth_element(ns.begin(), ns.begin() + long(at), ns.end());
  return double(ns[at]) / 1e3;
}

// Calls submit(id) for random ids until the deadline, each after taking a
// slot of the window (submit's done callback releases it); then drains.
template <class Submit>
bool submit_until(Window& window, SteadyClock::time_point deadline, uint64_t seed, int64_t rows, Submit submit) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> ids(1, rows);
  while (SteadyClock::now() < deadline) {
    if (!window.acquire()) return false;
    submit(ids(rng));
  }
  return window.drain();
}

}  // namespace

std::string pk(int64_t id) { return dal::row_text({dal::Value(id)}); }

std::string order_json(const dal::Row& r) {
  nlohmann::json j = {{"id", int_of(r[0])},         {"shard", int_of(r[1])},     {"user_id", int_of(r[2])},
                      {"merchant_id", int_of(r[3])}, {"state", text_of(r[4])},    {"lat", real_of(r[5])},
                      {"lon", real_of(r[6])},        {"amount", int_of(r[7])},    {"created_ms", int_of(r[8])},
                      {"updated_ms", int_of(r[9])}};
  return j.dump();
}

Status open_site(Site& site, const std::string& dir, bool sync_full, const std::string& ezone) {
  auto routes = RouteTable::create(
      kEpoch, {{11, "beijing", "bj", ShardState::active}, {12, "tianjin", "bj", ShardState::active}},
      {{"bj", {"127.0.0.1", 7100}}, {"sh", {"127.0.0.1", 7200}}});
  if (!routes) return routes.status();
  site.routes = std::make_shared<const RouteTable>(std::move(routes).value());
  auto schema = bench_schema();
  if (!schema) return schema.status();
  dal::DalConfig c;
  c.ezone = ezone;
  c.path = dir + "/" + ezone + ".db";
  c.synchronous_full = sync_full;
  auto table = site.routes;
  auto opened = dal::Dal::open(c, std::move(schema).value(), [table] { return dal::WriteGate{table, true, ""}; },
                               site.hlc, &site.metrics);
  if (!opened) return opened.status();
  site.dal = std::move(opened).value();
  return Status::ok();
}

Status load_rows(dal::Dal& dal, int64_t rows) {
  auto window = std::make_shared<Window>(kLoadWindow);
  for (int64_t first = 1; first <= rows; first += kLoadRowsPerTx) {
    const int64_t last = std::min(rows, first + kLoadRowsPerTx - 1);
    for (ShardId shard : {ShardId(11), ShardId(12)}) {
      if (!window->acquire()) return Status(Errc::timeout, "load: the DAL did not answer");
      dal.submit({shard, kEpoch},
                 [=](dal::Tx& tx) -> Status {
                   for (int64_t id = first; id <= last; ++id) {
                     if (shard_of(id) != shard) continue;
                     auto n = tx.exec("INSERT INTO orders VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                                      make_order(id));
                     if (!n) return n.status();
                   }
                   return Status::ok();
                 },
                 [window](dal::TxOutcome out) { window->release(0, out.ok()); });
    }
  }
  if (!window->drain()) return Status(Errc::timeout, "load: the DAL did not answer");
  return window->errors ? Status(Errc::internal, "load: a transaction failed") : Status::ok();
}

Result<std::unique_ptr<RowCache>> open_warm_cache(Site& site, const std::string& dir, int64_t rows,
                                                  WarmReport* report) {
  RowCacheOptions options;
  options.dir = dir;
  options.tables = {"orders"};
  options.entries_max = size_t(rows);
  auto cache = RowCache::open(*site.dal, site.metrics, options);
  if (!cache) return cache.status();
  auto warmed = warm(**cache, *site.dal, rows);
  if (!warmed) return warmed.status();
  if (Status s = (*cache)->flush(); !s) return s;
  if (warmed->refused) return Status(Errc::internal, "warm: " + std::to_string(warmed->refused) + " fills refused");
  if (report) *report = *warmed;
  return cache;
}

uint64_t dir_bytes(const std::string& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec)) total += entry.file_size(ec);
  return total;
}

Figures figures_of(std::vector<int64_t>& ns, uint64_t errors, int64_t elapsed_ns) {
  Figures f;
  f.ops = ns.size();
  f.errors = errors;
  f.per_s = double(ns.size()) * 1e9 / double(std::max<int64_t>(1, elapsed_ns));
  f.p50_us = percentile_us(ns, 0.50);
  f.p99_us = percentile_us(ns, 0.99);
  return f;
}

Result<Figures> measure_submit_reads(const Options& o, dal::Dal& dal) {
  std::vector<std::shared_ptr<Window>> windows;
  for (int t = 0; t < o.threads; ++t) windows.push_back(std::make_shared<Window>(o.window));
  const auto start = SteadyClock::now();
  const auto deadline = start + std::chrono::seconds(o.seconds);
  std::vector<std::thread> threads;
  std::vector<char> drained(size_t(o.threads));
  for (int t = 0; t < o.threads; ++t) {
    threads.emplace_back([&, t] {
      std::shared_ptr<Window> w = windows[size_t(t)];
      drained[size_t(t)] = submit_until(*w, deadline, o.seed + 100 + uint64_t(t), o.rows, [&](int64_t id) {
        auto row = std::make_shared<dal::Row>();
        const auto t0 = SteadyClock::now();
        dal.submit(
            dal::TxTarget{std::nullopt, kEpoch},
            [id, row](dal::Tx& tx) -> Status {
              auto rows = tx.query(kSelectOrder, {id});
              if (!rows) return rows.status();
              if (rows->empty()) return Status(Errc::not_found, "unknown order " + std::to_string(id));
              *row = std::move(rows->front());
              return Status::ok();
            },
            [w, row, t0](dal::TxOutcome out) {
              const bool ok = out.ok() && !order_json(*row).empty();
              w->release(ns_since(t0), ok);
            });
      });
    });
  }
  for (std::thread& t : threads) t.join();
  const int64_t elapsed = ns_since(start);
  if (std::count(drained.begin(), drained.end(), 0))
    return Status(Errc::timeout, "submit reads: the DAL did not answer");
  std::vector<int64_t> all;
  uint64_t errors = 0;
  for (auto& w : windows) {
    all.insert(all.end(), w->latencies_ns.begin(), w->latencies_ns.end());
    errors += w->errors;
  }
  return figures_of(all, errors, elapsed);
}

Result<Figures> measure_writes(const Options& o, dal::Dal& dal, uint64_t seed) {
  auto window = std::make_shared<Window>(o.write_window);
  const auto start = SteadyClock::now();
  const auto deadline = start + std::chrono::seconds(o.seconds);
  const bool drained = submit_until(*window, deadline, seed, o.rows, [&](int64_t id) {
    const auto t0 = SteadyClock::now();
    dal.submit(
        {shard_of(id), kEpoch},
        [id](dal::Tx& tx) -> Status {
          // Always a new value: an UPDATE that changes nothing has no feed event.
          auto changed = tx.exec("UPDATE orders SET amount = amount + 1 WHERE id = ?1", {id});
          if (!changed) return changed.status();
          return *changed == 1 ? Status::ok() : Status(Errc::not_found, "unknown order " + std::to_string(id));
        },
        [window, t0](dal::TxOutcome out) { window->release(ns_since(t0), out.ok()); });
  });
  const int64_t elapsed = ns_since(start);
  if (!drained) return Status(Errc::timeout, "writes: the DAL did not answer");
  return figures_of(window->latencies_ns, window->errors, elapsed);
}

}  // namespace ezone::cache_bench
