#include <gtest/gtest.h>

#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

#include "storage/lmdb/lmdb_env.hpp"
#include "storage/lmdb/route_cache.hpp"

namespace ezone {
namespace {

// A fresh directory under /tmp, removed afterwards.
class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/ezone-lmdb-XXXXXX";
    char* made = mkdtemp(pattern);
    EXPECT_NE(made, nullptr);
    path_ = made ? made : "/tmp/ezone-lmdb-failed";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

std::shared_ptr<LmdbEnv> open_env(const std::string& dir, size_t map_size_bytes = 16u << 20) {
  LmdbOptions options;
  options.dir = dir;
  options.map_size_bytes = map_size_bytes;
  auto env = LmdbEnv::open(options);
  EXPECT_TRUE(env.ok()) << env.status().to_string();
  return env.ok() ? *env : nullptr;
}

RouteTable table_at(Epoch epoch, const std::string& owner_of_0 = "bj") {
  auto table = RouteTable::create(epoch,
                                  {{0, "beijing", owner_of_0, ShardState::active},
                                   {1, "shanghai", "sh", ShardState::write_forbidden}},
                                  {{"bj", {"10.0.0.1", 7100}}, {"sh", {"::1", 7100}}});
  EXPECT_TRUE(table.ok()) << table.status().to_string();
  return std::move(table).value();
}

// An independent CRC-32 (bitwise), to build records whose checksum is
// right but whose payload is wrong.
uint32_t reference_crc32(const std::string& data) {
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char byte : data) {
    crc ^= byte;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string with_payload(const std::string& record, const std::string& payload) {
  std::string out = record.substr(0, 8);
  uint32_t crc = reference_crc32(payload);
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((crc >> (8 * i)) & 0xFF));
  return out + payload;
}

TEST(LmdbEnv, PutGetDeleteAndReopen) {
  TempDir tmp;
  std::string dir = tmp.sub("data/lmdb");  // parents are created
  {
    auto env = open_env(dir);
    ASSERT_TRUE(env);
    auto kv = env->database("things");
    ASSERT_TRUE(kv.ok()) << kv.status().to_string();
    EXPECT_EQ(kv->get("a").status().code(), Errc::not_found);
    ASSERT_TRUE(kv->put("a", std::string("1\0x", 3)).is_ok());
    ASSERT_TRUE(kv->put("b", "2").is_ok());
    ASSERT_TRUE(kv->put("b", "22").is_ok());
    EXPECT_EQ(*kv->get("a"), std::string("1\0x", 3));
    EXPECT_EQ(*kv->get("b"), "22");
    ASSERT_TRUE(kv->del("a").is_ok());
    EXPECT_TRUE(kv->del("a").is_ok());  // already gone is fine
    EXPECT_EQ(kv->get("a").status().code(), Errc::not_found);
    auto other = env->database("others");
    ASSERT_TRUE(other.ok());
    EXPECT_EQ(other->get("b").status().code(), Errc::not_found);  // databases are separate
  }
  auto env = open_env(dir);
  ASSERT_TRUE(env);
  auto kv = env->database("things");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(*kv->get("b"), "22");
}

TEST(LmdbEnv, RejectsBadKeysAndOptions) {
  TempDir tmp;
  auto env = open_env(tmp.path());
  ASSERT_TRUE(env);
  auto kv = env->database("k");
  ASSERT_TRUE(kv.ok());
  EXPECT_EQ(kv->put("", "x").code(), Errc::invalid_argument);
  EXPECT_EQ(kv->get("").status().code(), Errc::invalid_argument);
  std::string long_key(env->key_bytes_max() + 1, 'k');
  EXPECT_EQ(kv->put(long_key, "x").code(), Errc::invalid_argument);
  EXPECT_TRUE(kv->put(std::string(env->key_bytes_max(), 'k'), "x").is_ok());
  EXPECT_EQ(env->database("").status().code(), Errc::invalid_argument);
  EXPECT_EQ(LmdbEnv::open({}).status().code(), Errc::invalid_argument);
  LmdbOptions zero;
  zero.dir = tmp.sub("zero");
  zero.map_size_bytes = 0;
  EXPECT_EQ(LmdbEnv::open(zero).status().code(), Errc::invalid_argument);
}

TEST(LmdbEnv, SecondOpenInOneProcessIsRefused) {
  TempDir tmp;
  auto env = open_env(tmp.path());
  ASSERT_TRUE(env);
  LmdbOptions same;
  same.dir = tmp.path() + "/./";  // the same directory, spelled differently
  auto again = LmdbEnv::open(same);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Errc::conflict);
  env.reset();
  EXPECT_TRUE(LmdbEnv::open(same).ok());  // closing releases it
}

TEST(LmdbEnv, UnopenablePathIsAnIoError) {
  TempDir tmp;
  std::string file = tmp.sub("a-file");
  std::ofstream(file) << "not a directory";
  LmdbOptions options;
  options.dir = file;
  auto env = LmdbEnv::open(options);
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), Errc::io_error);
  EXPECT_NE(env.status().message().find(file), std::string::npos);
}

TEST(LmdbEnv, FullMapIsAnIoErrorThatNamesTheLimit) {
  TempDir tmp;
  auto env = open_env(tmp.path(), 256u << 10);
  ASSERT_TRUE(env);
  auto kv = env->database("big");
  ASSERT_TRUE(kv.ok());
  Status full = kv->put("k", std::string(1u << 20, 'x'));
  ASSERT_FALSE(full.is_ok());
  EXPECT_EQ(full.code(), Errc::io_error);
  EXPECT_NE(full.message().find("map_size_bytes"), std::string::npos) << full.message();
  EXPECT_TRUE(kv->put("small", "still works").is_ok());
}

TEST(LmdbEnv, AWriteCommitsAllItsOperationsOrNone) {
  TempDir tmp;
  auto env = open_env(tmp.path());
  ASSERT_TRUE(env);
  auto a = env->database("a");
  auto b = env->database("b");
  ASSERT_TRUE(a.ok() && b.ok());
  Status s = env->write([&](LmdbWrite& w) -> Status {
    for (const char* k : {"k2", "k1", "k3"}) {
      if (Status p = w.put(*a, k, std::string("v") + k); !p) return p;
    }
    if (Status p = w.put(*b, "x", "1"); !p) return p;
    auto got = w.get(*a, "k1");  // sees its own writes
    EXPECT_TRUE(got.ok() && got.value() == std::optional<std::string>("vk1"));
    auto first = w.first(*a);
    auto last = w.last(*a);
    EXPECT_EQ(first.value()->first, "k1");
    EXPECT_EQ(last.value()->first, "k3");
    EXPECT_EQ(w.stat(*a).value().entries, 3u);
    return w.del(*a, "absent");  // ok when absent
  });
  ASSERT_TRUE(s.is_ok()) << s.to_string();
  EXPECT_EQ(a->get("k2").value(), "vk2");
  EXPECT_EQ(a->stat().value().entries, 3u);
  EXPECT_GT(a->stat().value().bytes, 0u);
  // An error from fn rolls every operation back.
  s = env->write([&](LmdbWrite& w) -> Status {
    EXPECT_TRUE(w.clear(*a).is_ok());
    EXPECT_TRUE(w.put(*b, "x", "2").is_ok());
    return Status(Errc::conflict, "changed my mind");
  });
  EXPECT_EQ(s.code(), Errc::conflict);
  EXPECT_EQ(a->stat().value().entries, 3u);
  EXPECT_EQ(b->get("x").value(), "1");
  // clear() empties one database, and an empty one has no ends.
  ASSERT_TRUE(env->write([&](LmdbWrite& w) { return w.clear(*a); }).is_ok());
  EXPECT_EQ(a->stat().value().entries, 0u);
  ASSERT_TRUE(env->write([&](LmdbWrite& w) -> Status {
                   EXPECT_FALSE(w.first(*a).value().has_value());
                   EXPECT_FALSE(w.last(*a).value().has_value());
                   return Status::ok();
                 })
                  .is_ok());
  // Another environment's database is refused, not written.
  TempDir other_dir;
  auto other = open_env(other_dir.path());
  auto c = other->database("c");
  s = env->write([&](LmdbWrite& w) { return w.put(*c, "k", "v"); });
  EXPECT_EQ(s.code(), Errc::invalid_argument);
  EXPECT_EQ(c->get("k").status().code(), Errc::not_found);
  EXPECT_TRUE(env->sync().is_ok());
}

TEST(LmdbEnv, UpdateIsReadModifyWrite) {
  TempDir tmp;
  auto env = open_env(tmp.path());
  ASSERT_TRUE(env);
  auto kv = env->database("counter");
  ASSERT_TRUE(kv.ok());
  auto increment = [](const std::string* current) -> Result<std::optional<std::string>> {
    int value = current ? std::stoi(*current) : 0;
    return std::optional<std::string>(std::to_string(value + 1));
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) EXPECT_TRUE(kv->update("n", increment).is_ok());
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(*kv->get("n"), "1000");

  // nullopt leaves the value; an error or an exception aborts the write.
  EXPECT_TRUE(kv->update("n", [](const std::string*) -> Result<std::optional<std::string>> {
                  return std::optional<std::string>();
                }).is_ok());
  Status refused = kv->update("n", [](const std::string*) -> Result<std::optional<std::string>> {
    return Status(Errc::conflict, "no");
  });
  EXPECT_EQ(refused.code(), Errc::conflict);
  EXPECT_THROW(kv->update("n", [](const std::string*) -> Result<std::optional<std::string>> {
    throw std::runtime_error("boom");
  }),
               std::runtime_error);
  EXPECT_EQ(*kv->get("n"), "1000");
  EXPECT_TRUE(kv->put("n", "0").is_ok());  // no transaction was leaked
}

// Readers on several threads never fail or see a value that was not
// written while one writer commits. (Successive reads are not promised to
// be monotonic: LMDB picks its snapshot without the writer's lock, and a
// read may see commit N+1 and the next one commit N; see lmdb_env.hpp.)
TEST(LmdbEnv, ReadersRunBesideAWriter) {
  TempDir tmp;
  auto env = open_env(tmp.path());
  ASSERT_TRUE(env);
  auto kv = env->database("r");
  ASSERT_TRUE(kv.ok());
  constexpr int kWrites = 300;
  ASSERT_TRUE(kv->put("v", "0").is_ok());
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::atomic<int> reads{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r)
    readers.emplace_back([&] {
      while (!done) {
        auto v = kv->get("v");
        int value = v.ok() ? std::stoi(*v) : -1;
        if (value < 0 || value > kWrites) ++bad;
        ++reads;
      }
    });
  for (int i = 1; i <= kWrites; ++i) ASSERT_TRUE(kv->put("v", std::to_string(i)).is_ok());
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(reads.load(), 0);
  EXPECT_EQ(*kv->get("v"), std::to_string(kWrites));
}

class RouteCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = open_env(tmp_.path());
    ASSERT_TRUE(env_);
    auto cache = RouteCache::open(env_);
    ASSERT_TRUE(cache.ok()) << cache.status().to_string();
    cache_ = std::move(cache).value();
  }
  // Writes raw bytes where the cache keeps its record.
  void write_raw(const std::string& bytes) {
    auto kv = env_->database(RouteCache::kDatabase);
    ASSERT_TRUE(kv.ok());
    ASSERT_TRUE(kv->put(RouteCache::kKey, bytes).is_ok());
  }
  void expect_corrupt(const std::string& bytes, const std::string& expected) {
    write_raw(bytes);
    auto loaded = cache_->load();
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.status().code(), Errc::parse_error);
    EXPECT_NE(loaded.status().message().find(expected), std::string::npos)
        << loaded.status().message();
  }

  TempDir tmp_;
  std::shared_ptr<LmdbEnv> env_;
  std::unique_ptr<RouteCache> cache_;
};

TEST_F(RouteCacheTest, EmptyCacheIsNotFound) {
  auto loaded = cache_->load();
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), Errc::not_found);
  EXPECT_TRUE(cache_->clear().is_ok());
}

TEST_F(RouteCacheTest, SaveLoadAndReopen) {
  RouteTable table = table_at(12);
  ASSERT_TRUE(cache_->save(table).is_ok());
  auto loaded = cache_->load();
  ASSERT_TRUE(loaded.ok()) << loaded.status().to_string();
  EXPECT_EQ(*loaded, table);

  cache_.reset();
  env_.reset();  // close, as at a restart
  env_ = open_env(tmp_.path());
  ASSERT_TRUE(env_);
  auto cache = RouteCache::open(env_);
  ASSERT_TRUE(cache.ok());
  auto again = (*cache)->load();
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(*again, table);
  EXPECT_EQ(again->find(1)->state, ShardState::write_forbidden);
  EXPECT_EQ(again->site("sh")->host, "::1");
}

TEST_F(RouteCacheTest, NeverGoesBackToAnOlderEpoch) {
  ASSERT_TRUE(cache_->save(table_at(5)).is_ok());
  Status older = cache_->save(table_at(4));
  EXPECT_EQ(older.code(), Errc::conflict);
  EXPECT_NE(older.message().find("holds epoch 5"), std::string::npos) << older.message();
  EXPECT_TRUE(cache_->save(table_at(5, "sh")).is_ok());  // same epoch rewrites
  EXPECT_EQ(cache_->load()->find(0)->owner, "sh");
  EXPECT_TRUE(cache_->save(table_at(6)).is_ok());
  EXPECT_EQ(cache_->load()->epoch(), 6);
  ASSERT_TRUE(cache_->clear().is_ok());
  EXPECT_TRUE(cache_->save(table_at(1)).is_ok());
}

TEST_F(RouteCacheTest, CorruptRecordsAreClearErrors) {
  std::string good = encode_route_record(table_at(3));
  expect_corrupt("", "shorter than its header");
  expect_corrupt("EZRT", "shorter than its header");
  expect_corrupt("XXXX" + good.substr(4), "wrong magic");
  std::string future = good;
  future[4] = 2;
  expect_corrupt(future, "format 2 (this build reads 1)");
  std::string flipped = good;
  flipped[good.size() / 2] ^= 0x10;
  expect_corrupt(flipped, "checksum mismatch");
  expect_corrupt(good.substr(0, good.size() - 3), "checksum mismatch");
  expect_corrupt(std::string(kRouteRecordBytesMax + 1, 'E'), "over the limit");
  // Right checksum, wrong payload.
  std::string payload = good.substr(12);
  expect_corrupt(with_payload(good, payload.substr(0, payload.size() - 5)), "payload does not decode");
  expect_corrupt(with_payload(good, payload + "extra"), "trailing bytes");
  expect_corrupt(with_payload(good, std::string(64, '\xff')), "payload does not decode");
}

TEST_F(RouteCacheTest, RecordThatDecodesButIsInvalidIsRejected) {
  // Change the owner "bj" of shard 0 to "gz" (same length), fix the CRC:
  // the record decodes, and validation refuses it.
  std::string good = encode_route_record(table_at(3));
  std::string payload = good.substr(12);
  auto at = payload.find("bj");
  ASSERT_NE(at, std::string::npos);
  payload.replace(at, 2, "gz");
  expect_corrupt(with_payload(good, payload), "owned by 'gz'");
}

std::string le_bytes(uint64_t v, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return out;
}

// A crafted record (valid CRC) that claims a huge string or list must be
// refused before anything that size is allocated.
TEST_F(RouteCacheTest, HugeLengthsInACraftedRecordAreRefused) {
  std::string good = encode_route_record(table_at(3));
  std::string prefix = good.substr(12, 1 + 8);  // endianness flag, epoch
  std::string huge_string = prefix + le_bytes(1, 8) + le_bytes(0, 4) + le_bytes(uint64_t{1} << 40, 8);
  expect_corrupt(with_payload(good, huge_string), "payload does not decode");
  std::string huge_list = prefix + le_bytes(uint64_t{1} << 50, 8);
  expect_corrupt(with_payload(good, huge_list), "payload does not decode");
}

TEST_F(RouteCacheTest, RandomDamageIsAlwaysDetected) {
  std::string good = encode_route_record(table_at(9));
  std::mt19937 rng(4242);
  for (int round = 0; round < 500; ++round) {
    std::string bad = good;
    size_t at = rng() % bad.size();
    bad[at] = static_cast<char>(bad[at] ^ (1 + rng() % 255));
    auto decoded = decode_route_record(bad);
    ASSERT_FALSE(decoded.ok()) << "damage at byte " << at << " went unnoticed";
    EXPECT_EQ(decoded.status().code(), Errc::parse_error);
  }
}

TEST_F(RouteCacheTest, SaveReplacesACorruptRecord) {
  write_raw("garbage");
  EXPECT_EQ(cache_->load().status().code(), Errc::parse_error);
  ASSERT_TRUE(cache_->save(table_at(2)).is_ok());
  EXPECT_EQ(cache_->load()->epoch(), 2);
}

}  // namespace
}  // namespace ezone
