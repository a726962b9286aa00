// RowCache (storage/cache/row_cache.hpp) over a real DAL: hits, local and
// replicated invalidation, refused fills, restarts that replay or clear,
// the bounds, corrupt entries, and coherence under concurrent writers.
#include "storage/cache/row_cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "storage/cache/cache_dir.hpp"
#include "storage/lmdb/lmdb_env.hpp"
#include "tests/storage/dal/dal_fixture.hpp"

namespace ezone::test {
namespace {

using Fill = RowCache::Fill;

std::string pk(int64_t id) { return dal::row_text({dal::Value(id)}); }

class RowCacheTest : public ::testing::Test {
 protected:
  RowCacheTest() : bj_("bj"), sh_("sh") {}

  std::unique_ptr<RowCache> open_cache(Site& site, RowCacheOptions options = {}) {
    options.dir = dir_.path() + "/" + site.ezone() + "-cache";
    if (options.tables.empty()) options.tables = {"orders"};
    auto cache = RowCache::open(site.dal(), site.metrics(), options);
    EXPECT_TRUE(cache.ok()) << cache.status().to_string();
    return cache.ok() ? std::move(cache).value() : nullptr;
  }

  // The order's state as the database has it now.
  static std::string state_of(Site& site, int64_t id) {
    auto rows = site.dal().query("SELECT state FROM orders WHERE id = ?1", {dal::Value(id)});
    EXPECT_TRUE(rows.ok());
    if (!rows.ok() || rows->empty()) return "";
    return std::get<std::string>(rows->front()[0]);
  }

  // A read-through lookup as an app does it: get, else read and fill.
  static std::string read_through(RowCache& cache, Site& site, int64_t id, Fill* filled = nullptr) {
    auto got = cache.get("orders", pk(id));
    if (got.value) return *got.value;
    std::string state = state_of(site, id);
    Fill f = cache.fill("orders", pk(id), got.token, state);
    if (filled) *filled = f;
    return state;
  }

  static uint64_t counter(Site& site, const std::string& name, const MetricLabels& labels = {}) {
    return site.metrics().counter(name, "", labels).value();
  }

  TempDir dir_;
  Site bj_, sh_;
};

TEST_F(RowCacheTest, AFilledRowHitsUntilALocalWriteInvalidatesIt) {
  auto cache = open_cache(bj_);
  ASSERT_TRUE(cache);
  ASSERT_TRUE(bj_.put_order(1, 11, "created").ok());
  auto miss = cache->get("orders", pk(1));
  EXPECT_FALSE(miss.value);
  EXPECT_EQ(cache->fill("orders", pk(1), miss.token, "created"), Fill::stored);
  EXPECT_EQ(cache->get("orders", pk(1)).value, std::optional<std::string>("created"));
  ASSERT_TRUE(cache->flush().is_ok());
  EXPECT_EQ(cache->stats().entries, 1u);
  EXPECT_EQ(cache->get("orders", pk(1)).value, std::optional<std::string>("created"));  // from LMDB now
  // Read your writes: the very next get after the write was answered misses.
  ASSERT_TRUE(bj_.put_order(1, 11, "accepted").ok());
  EXPECT_FALSE(cache->get("orders", pk(1)).value);
  EXPECT_EQ(read_through(*cache, bj_, 1), "accepted");
  EXPECT_EQ(cache->get("orders", pk(1)).value, std::optional<std::string>("accepted"));
  ASSERT_TRUE(cache->flush().is_ok());
  EXPECT_EQ(cache->stats().entries, 1u);
  EXPECT_EQ(counter(bj_, "ezone_cache_invalidations_total"), 2u);
  EXPECT_EQ(counter(bj_, "ezone_cache_fills_total", {{"result", "stored"}}), 2u);
  EXPECT_EQ(counter(bj_, "ezone_cache_lookups_total", {{"result", "hit"}}), 3u);
}

TEST_F(RowCacheTest, AFillIsRefusedWhenTheRowChangedAfterItsToken) {
  auto cache = open_cache(bj_);
  ASSERT_TRUE(cache);
  ASSERT_TRUE(bj_.put_order(1, 11, "created").ok());
  auto before = cache->get("orders", pk(1));
  const std::string old_state = state_of(bj_, 1);  // the read happened...
  ASSERT_TRUE(bj_.put_order(1, 11, "accepted").ok());  // ...and then the row changed
  EXPECT_EQ(cache->fill("orders", pk(1), before.token, old_state), Fill::changed);
  EXPECT_FALSE(cache->get("orders", pk(1)).value);
  // Another row's change does not refuse this one's fill.
  auto fresh = cache->get("orders", pk(1));
  ASSERT_TRUE(bj_.put_order(2, 11, "created").ok());
  EXPECT_EQ(cache->fill("orders", pk(1), fresh.token, "accepted"), Fill::stored);
  // A token from the future is not one the cache handed out.
  EXPECT_EQ(cache->fill("orders", pk(2), fresh.token + 100, "created"), Fill::stale_token);
  EXPECT_EQ(counter(bj_, "ezone_cache_fills_total", {{"result", "changed"}}), 1u);
}

TEST_F(RowCacheTest, AFillOlderThanTheRememberedInvalidationsIsRefused) {
  RowCacheOptions options;
  options.recent_max = 4;
  auto cache = open_cache(bj_, options);
  ASSERT_TRUE(cache);
  auto old = cache->get("orders", pk(1));
  for (int64_t id = 10; id < 20; ++id) ASSERT_TRUE(bj_.put_order(id, 11, "created").ok());
  // Row 1 did not change, but the cache can no longer tell.
  EXPECT_EQ(cache->fill("orders", pk(1), old.token, ""), Fill::stale_token);
  auto now = cache->get("orders", pk(1));
  EXPECT_EQ(cache->fill("orders", pk(1), now.token, ""), Fill::stored);
}

TEST_F(RowCacheTest, AReplicatedChangeInvalidatesThePeersCache) {
  ASSERT_TRUE(bj_.put_order(1, 11, "created").ok());
  pull(bj_, sh_);
  auto cache = open_cache(sh_);
  ASSERT_TRUE(cache);
  Fill filled = Fill::off;
  EXPECT_EQ(read_through(*cache, sh_, 1, &filled), "created");
  EXPECT_EQ(filled, Fill::stored);
  ASSERT_TRUE(cache->flush().is_ok());
  ASSERT_TRUE(bj_.put_order(1, 11, "delivered").ok());
  EXPECT_EQ(cache->get("orders", pk(1)).value, std::optional<std::string>("created"));  // not applied yet
  pull(bj_, sh_);
  EXPECT_FALSE(cache->get("orders", pk(1)).value);
  EXPECT_EQ(read_through(*cache, sh_, 1), "delivered");
}

TEST_F(RowCacheTest, OnlyReplicatedTablesItNamesCanBeCached) {
  RowCacheOptions local;
  local.dir = dir_.path() + "/c1";
  local.tables = {"scratch"};
  auto refused = RowCache::open(bj_.dal(), bj_.metrics(), local);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("'scratch' is local"), std::string::npos) << refused.status().message();
  local.tables = {"nope"};
  refused = RowCache::open(bj_.dal(), bj_.metrics(), local);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("'nope' is not in the schema"), std::string::npos);
  local.tables = {"orders"};
  local.entries_max = 0;
  EXPECT_EQ(RowCache::open(bj_.dal(), bj_.metrics(), local).status().code(), Errc::invalid_argument);

  RowCacheOptions options;
  options.value_bytes_max = 8;
  auto cache = open_cache(bj_, options);
  ASSERT_TRUE(cache);
  auto got = cache->get("users", "[1]");
  EXPECT_EQ(cache->fill("users", "[1]", got.token, "x"), Fill::not_cacheable);
  EXPECT_EQ(cache->fill("orders", "[1]", got.token, "123456789"), Fill::too_large);
  EXPECT_EQ(cache->fill("orders", std::string(600, '9'), got.token, "x"), Fill::not_cacheable);
  EXPECT_FALSE(cache->get("orders", std::string(600, '9')).value);
  EXPECT_FALSE(cache->get("users", "[1]").value);
}

TEST_F(RowCacheTest, EntriesSurviveARestartAndMissedChangesAreReplayed) {
  for (int64_t id = 1; id <= 3; ++id) ASSERT_TRUE(bj_.put_order(id, 11, "created").ok());
  auto cache = open_cache(bj_);
  ASSERT_TRUE(cache);
  for (int64_t id = 1; id <= 3; ++id) read_through(*cache, bj_, id);
  ASSERT_TRUE(cache->flush().is_ok());
  // stop() writes what is queued and lets go of the directory, so a node
  // restarted in the same process opens it while the old object lives.
  cache->stop();
  EXPECT_FALSE(cache->get("orders", pk(1)).value);
  EXPECT_EQ(cache->fill("orders", pk(1), 0, "x"), Fill::off);
  auto again = open_cache(bj_);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->get("orders", pk(1)).value, std::optional<std::string>("created"));
  again.reset();
  cache.reset();
  // Changed while no cache listened.
  ASSERT_TRUE(bj_.put_order(2, 11, "accepted").ok());
  cache = open_cache(bj_);
  ASSERT_TRUE(cache);
  EXPECT_EQ(cache->get("orders", pk(1)).value, std::optional<std::string>("created"));
  EXPECT_FALSE(cache->get("orders", pk(2)).value);
  EXPECT_EQ(cache->get("orders", pk(3)).value, std::optional<std::string>("created"));
  ASSERT_TRUE(cache->flush().is_ok());
  EXPECT_EQ(cache->stats().entries, 2u);
  // Also across a restart of the DAL itself.
  cache.reset();
  bj_.close();
  bj_.open();
  cache = open_cache(bj_);
  ASSERT_TRUE(cache);
  EXPECT_EQ(cache->get("orders", pk(1)).value, std::optional<std::string>("created"));
}

TEST_F(RowCacheTest, ACacheTheFeedCannotAccountForIsCleared) {
  bj_.configure = [](dal::DalConfig& c) { c.feed_rows_max = 100; };
  bj_.open();
  ASSERT_TRUE(bj_.put_order(1, 11, "created").ok());
  auto cache = open_cache(bj_);
  ASSERT_TRUE(cache);
  read_through(*cache, bj_, 1);
  ASSERT_TRUE(cache->flush().is_ok());
  cache.reset();
  // The feed is trimmed past the cache's position while it is closed
  // (trims run every 1,024 records).
  for (int64_t i = 0; i < 1100; ++i) ASSERT_TRUE(bj_.put_order(100 + i % 5, 11, "x", i).ok());
  cache = open_cache(bj_);
  ASSERT_TRUE(cache);
  EXPECT_FALSE(cache->get("orders", pk(1)).value);
  EXPECT_EQ(counter(bj_, "ezone_cache_clears_total", {{"reason", "feed_trimmed"}}), 1u);

  // The cached tables changed.
  read_through(*cache, bj_, 1);
  ASSERT_TRUE(cache->flush().is_ok());
  cache.reset();
  RowCacheOptions both;
  both.tables = {"orders", "users"};
  cache = open_cache(bj_, both);
  ASSERT_TRUE(cache);
  EXPECT_FALSE(cache->get("orders", pk(1)).value);
  EXPECT_EQ(counter(bj_, "ezone_cache_clears_total", {{"reason", "tables_changed"}}), 1u);

  // A cached table's columns changed (a migration ran at the restart).
  read_through(*cache, bj_, 1);
  ASSERT_TRUE(cache->flush().is_ok());
  cache.reset();
  data::Migration tip;
  tip.name = "tip";
  tip.definition = "tip INTEGER";
  bj_.orders_migrations = {tip};
  bj_.open();
  cache = open_cache(bj_, both);
  ASSERT_TRUE(cache);
  EXPECT_FALSE(cache->get("orders", pk(1)).value);
  EXPECT_EQ(counter(bj_, "ezone_cache_clears_total", {{"reason", "tables_changed"}}), 2u);

  // The database is behind the cache: a new file.
  read_through(*cache, bj_, 1);
  ASSERT_TRUE(cache->flush().is_ok());
  cache.reset();
  bj_.close();
  std::filesystem::remove(bj_.path());
  bj_.open();
  ASSERT_TRUE(bj_.put_order(1, 11, "other").ok());
  cache = open_cache(bj_, both);
  ASSERT_TRUE(cache);
  EXPECT_FALSE(cache->get("orders", pk(1)).value);
  EXPECT_EQ(counter(bj_, "ezone_cache_clears_total", {{"reason", "feed_behind"}}), 1u);
}

TEST_F(RowCacheTest, AfterAMachineCrashTheFilesAreEmptiedNotTrusted) {
  ASSERT_TRUE(bj_.put_order(1, 11, "created").ok());
  RowCacheOptions boot_a;
  boot_a.boot_id = "boot-a";
  auto cache = open_cache(bj_, boot_a);
  ASSERT_TRUE(cache);
  read_through(*cache, bj_, 1);
  cache.reset();  // a clean stop: flushed and marked clean
  RowCacheOptions boot_b;
  boot_b.boot_id = "boot-b";
  cache = open_cache(bj_, boot_b);
  ASSERT_TRUE(cache);
  EXPECT_EQ(cache->get("orders", pk(1)).value, std::optional<std::string>("created")) << "kept after a clean stop";
  cache.reset();
  // The cache was open under boot b when the machine went down.
  const std::string dir = dir_.path() + "/bj-cache";
  ASSERT_EQ(claim_cache_dir(dir, "boot-b").value(), CacheDirFound::kept);
  RowCacheOptions boot_c;
  boot_c.boot_id = "boot-c";
  cache = open_cache(bj_, boot_c);
  ASSERT_TRUE(cache);
  EXPECT_FALSE(cache->get("orders", pk(1)).value);
  EXPECT_EQ(counter(bj_, "ezone_cache_clears_total", {{"reason", "unclean_reboot"}}), 1u);
  EXPECT_EQ(read_through(*cache, bj_, 1), "created");
  EXPECT_EQ(cache->get("orders", pk(1)).value, std::optional<std::string>("created"));
}

TEST(CacheDir, FilesAreKeptAfterACleanStopOrAProcessCrashOnly) {
  TempDir tmp;
  const std::string dir = tmp.path() + "/cache";
  auto write = [&](const std::string& name) { std::ofstream(dir + "/" + name) << "data"; };
  auto has = [&](const std::string& name) { return std::filesystem::exists(dir + "/" + name); };
  EXPECT_EQ(claim_cache_dir(dir, "b1").value(), CacheDirFound::empty);
  write("data.mdb");
  // The process died (no release) and came back in the same boot: kept.
  EXPECT_EQ(claim_cache_dir(dir, "b1").value(), CacheDirFound::kept);
  EXPECT_TRUE(has("data.mdb"));
  // A clean stop, then another boot: kept.
  ASSERT_TRUE(release_cache_dir(dir, "b1").is_ok());
  EXPECT_EQ(claim_cache_dir(dir, "b2").value(), CacheDirFound::kept);
  // Open (dirty) in b2 when the machine went down: wiped.
  EXPECT_EQ(claim_cache_dir(dir, "b3").value(), CacheDirFound::wiped);
  EXPECT_FALSE(has("data.mdb"));
  EXPECT_TRUE(has("state"));
  // A state file that is missing or unreadable: wiped.
  write("data.mdb");
  std::filesystem::remove(dir + "/state");
  EXPECT_EQ(claim_cache_dir(dir, "b3").value(), CacheDirFound::wiped);
  write("data.mdb");
  std::ofstream(dir + "/state") << "garbage";
  EXPECT_EQ(claim_cache_dir(dir, "b3").value(), CacheDirFound::wiped);
  // Without a boot id only a clean stop is trusted.
  write("data.mdb");
  EXPECT_EQ(claim_cache_dir(dir, "").value(), CacheDirFound::wiped);
  write("data.mdb");
  EXPECT_EQ(claim_cache_dir(dir, "").value(), CacheDirFound::wiped);
  EXPECT_FALSE(current_boot_id().empty());
}

TEST_F(RowCacheTest, TheOldestFilledEntriesAreEvictedFirst) {
  RowCacheOptions options;
  options.entries_max = 10;
  auto cache = open_cache(bj_, options);
  ASSERT_TRUE(cache);
  for (int64_t id = 1; id <= 25; ++id) {
    auto got = cache->get("orders", pk(id));
    ASSERT_EQ(cache->fill("orders", pk(id), got.token, "v" + std::to_string(id)), Fill::stored);
    if (id % 5 == 0) {
      ASSERT_TRUE(cache->flush().is_ok());  // several batches
    }
  }
  EXPECT_EQ(cache->stats().entries, 10u);
  for (int64_t id = 1; id <= 25; ++id)
    EXPECT_EQ(cache->get("orders", pk(id)).value.has_value(), id > 15) << id;
  EXPECT_EQ(counter(bj_, "ezone_cache_evictions_total"), 15u);
  // A refill replaces its entry without growing the count.
  auto got = cache->get("orders", pk(20));
  ASSERT_EQ(cache->fill("orders", pk(20), got.token, "again"), Fill::stored);
  ASSERT_TRUE(cache->flush().is_ok());
  EXPECT_EQ(cache->stats().entries, 10u);
  EXPECT_EQ(cache->get("orders", pk(20)).value, std::optional<std::string>("again"));

  RowCacheOptions small;
  small.bytes_max = 64 << 10;  // a few pages
  cache.reset();
  cache = open_cache(bj_, small);
  ASSERT_TRUE(cache);
  for (int64_t id = 1; id <= 200; ++id) {
    auto g = cache->get("orders", pk(id));
    cache->fill("orders", pk(id), g.token, std::string(2000, 'x'));
  }
  ASSERT_TRUE(cache->flush().is_ok());
  EXPECT_LT(cache->stats().entries, 40u);
  EXPECT_TRUE(cache->get("orders", pk(200)).value);
}

TEST_F(RowCacheTest, ABatchLmdbCannotWriteClearsTheCacheAndLosesNoInvalidation) {
  RowCacheOptions options;
  options.map_size_bytes = 512 << 10;  // far below what the fills need
  auto cache = open_cache(bj_, options);
  ASSERT_TRUE(cache);
  ASSERT_TRUE(bj_.put_order(1, 11, "created").ok());
  read_through(*cache, bj_, 1);
  ASSERT_TRUE(cache->flush().is_ok());
  ASSERT_EQ(cache->stats().entries, 1u);
  // One batch: the invalidation of row 1 and fills that overflow the map.
  ASSERT_TRUE(bj_.put_order(1, 11, "accepted").ok());
  for (int64_t id = 100; id < 400; ++id) {
    auto got = cache->get("orders", pk(id));
    ASSERT_EQ(cache->fill("orders", pk(id), got.token, std::string(4000, 'x')), Fill::stored);
  }
  ASSERT_TRUE(cache->flush().is_ok());
  EXPECT_GE(counter(bj_, "ezone_cache_errors_total"), 1u);
  EXPECT_GE(counter(bj_, "ezone_cache_clears_total", {{"reason", "write_failed"}}), 1u);
  // Row 1's old state is gone with everything else, never served. Batches
  // are cut by the clock (10 ms), so on a slow machine fills of later
  // batches may be back after the clear (a CI run kept 5): they are fresh.
  EXPECT_FALSE(cache->get("orders", pk(1)).value);
  const uint64_t kept = cache->stats().entries;
  EXPECT_LT(kept, 300u);
  EXPECT_FALSE(cache->stats().off);
  // The cache goes on working.
  EXPECT_EQ(read_through(*cache, bj_, 1), "accepted");
  ASSERT_TRUE(cache->flush().is_ok());
  EXPECT_EQ(cache->get("orders", pk(1)).value, std::optional<std::string>("accepted"));
  EXPECT_EQ(cache->stats().entries, kept + 1);
}

TEST_F(RowCacheTest, ACorruptEntryIsAMissAndIsDeleted) {
  const std::string dir = dir_.path() + "/bj-cache";
  {
    auto cache = open_cache(bj_);
    ASSERT_TRUE(cache);
  }
  {
    auto env = LmdbEnv::open(LmdbOptions{dir, size_t{600} << 20, 4});
    ASSERT_TRUE(env.ok()) << env.status().to_string();
    auto entries = env.value()->database("entries");
    ASSERT_TRUE(entries.ok());
    ASSERT_TRUE(entries->put("orders:" + pk(1), "junk").is_ok());
  }
  auto cache = open_cache(bj_);
  ASSERT_TRUE(cache);
  EXPECT_FALSE(cache->get("orders", pk(1)).value);
  EXPECT_EQ(counter(bj_, "ezone_cache_errors_total"), 1u);
  ASSERT_TRUE(cache->flush().is_ok());
  EXPECT_EQ(cache->stats().entries, 0u);
  EXPECT_FALSE(cache->get("orders", pk(1)).value);
  EXPECT_EQ(counter(bj_, "ezone_cache_errors_total"), 1u);
}

TEST_F(RowCacheTest, AHitIsNeverOlderThanAWriteAnsweredBeforeTheLookup) {
  // Writers raise each order's amount; readers read through the cache. A
  // hit must carry at least the amount whose write was answered before the
  // lookup began, and after the writers stop every hit is the row's value.
  RowCacheOptions options;
  options.entries_max = 8;  // evictions in the mix
  auto cache = open_cache(bj_, options);
  ASSERT_TRUE(cache);
  constexpr int64_t kRows = 12;
  std::array<std::atomic<int64_t>, kRows> acked{};
  for (int64_t id = 0; id < kRows; ++id) ASSERT_TRUE(bj_.put_order(id, 11, "0", 0).ok());
  auto amount_of = [&](int64_t id) {
    auto rows = bj_.dal().query("SELECT amount FROM orders WHERE id = ?1", {dal::Value(id)});
    return rows.ok() && !rows->empty() ? std::get<int64_t>(rows->front()[0]) : -1;
  };
  std::atomic<bool> done{false};
  std::atomic<int> stale{0}, hits{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      for (int64_t n = 1; n <= 1000; ++n) {
        const int64_t id = (n * 7 + w) % kRows;
        const int64_t amount = acked[id].load() + 1;
        // Writers own disjoint rows (w picks the parity), so amounts only grow.
        if (id % 2 != w) continue;
        if (bj_.put_order(id, 11, std::to_string(amount), amount).ok()) acked[id] = amount;
      }
    });
  }
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      for (int64_t n = 0; !done; ++n) {
        const int64_t id = (n + r * 5) % kRows;
        const int64_t floor = acked[id].load();
        auto got = cache->get("orders", pk(id));
        if (got.value) {
          ++hits;
          if (std::stoll(*got.value) < floor) ++stale;
          continue;
        }
        cache->fill("orders", pk(id), got.token, std::to_string(amount_of(id)));
      }
    });
  }
  threads[0].join();
  threads[1].join();
  // flush() returns while the readers keep filling: it waits for what was
  // queued before it, not for a quiet moment.
  EXPECT_TRUE(cache->flush(5000).is_ok());
  done = true;
  threads[2].join();
  threads[3].join();
  EXPECT_EQ(stale.load(), 0);
  EXPECT_GT(hits.load(), 0);
  ASSERT_TRUE(cache->flush().is_ok());
  for (int64_t id = 0; id < kRows; ++id) {
    auto got = cache->get("orders", pk(id));
    if (got.value) {
      EXPECT_EQ(std::stoll(*got.value), amount_of(id)) << id;
    }
  }
}

}  // namespace
}  // namespace ezone::test
