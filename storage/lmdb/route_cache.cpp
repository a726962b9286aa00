#include "storage/lmdb/route_cache.hpp"

#include <array>
#include <sstream>
#include <stdexcept>

#include <cereal/archives/portable_binary.hpp>
#include <cereal/cereal.hpp>

namespace ezone {
namespace {

constexpr char kMagic[4] = {'E', 'Z', 'R', 'T'};
constexpr size_t kHeaderBytes = 12;

// Lengths read from a record are bounded before anything is allocated, so
// even a crafted record with a valid CRC cannot ask for gigabytes.
constexpr uint64_t kStoredStringBytesMax = 256;

template <class Archive>
void save_string(Archive& ar, const std::string& s) {
  ar(cereal::make_size_tag(static_cast<cereal::size_type>(s.size())));
  ar(cereal::binary_data(s.data(), s.size()));
}

template <class Archive>
void load_string(Archive& ar, std::string& s) {
  cereal::size_type size = 0;
  ar(cereal::make_size_tag(size));
  if (size > kStoredStringBytesMax) throw std::length_error("string of " + std::to_string(size) + " bytes");
  s.resize(static_cast<size_t>(size));
  ar(cereal::binary_data(s.data(), s.size()));
}

struct StoredShard {
  uint32_t id = 0;
  std::string name;
  std::string owner;
  uint8_t state = 0;
  template <class Archive>
  void save(Archive& ar) const {
    ar(id);
    save_string(ar, name);
    save_string(ar, owner);
    ar(state);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(id);
    load_string(ar, name);
    load_string(ar, owner);
    ar(state);
  }
};

struct StoredSite {
  std::string ezone;
  std::string host;
  uint16_t port = 0;
  template <class Archive>
  void save(Archive& ar) const {
    save_string(ar, ezone);
    save_string(ar, host);
    ar(port);
  }
  template <class Archive>
  void load(Archive& ar) {
    load_string(ar, ezone);
    load_string(ar, host);
    ar(port);
  }
};

template <class Archive, class T>
void save_list(Archive& ar, const std::vector<T>& items) {
  ar(cereal::make_size_tag(static_cast<cereal::size_type>(items.size())));
  for (const auto& item : items) ar(item);
}

template <class Archive, class T>
void load_list(Archive& ar, std::vector<T>& items, uint64_t count_max) {
  cereal::size_type count = 0;
  ar(cereal::make_size_tag(count));
  if (count > count_max) throw std::length_error("list of " + std::to_string(count) + " items");
  items.resize(static_cast<size_t>(count));
  for (auto& item : items) ar(item);
}

struct StoredTable {
  int64_t epoch = 0;
  std::vector<StoredShard> shards;
  std::vector<StoredSite> sites;
  template <class Archive>
  void save(Archive& ar) const {
    ar(epoch);
    save_list(ar, shards);
    save_list(ar, sites);
  }
  template <class Archive>
  void load(Archive& ar) {
    ar(epoch);
    load_list(ar, shards, uint64_t{kShardIdMax} + 1);
    load_list(ar, sites, kEzonesMax);
  }
};

std::array<uint32_t, 256> crc_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}

uint32_t crc32(const char* data, size_t size) {
  static const std::array<uint32_t, 256> table = crc_table();
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i)
    c = table[(c ^ static_cast<uint8_t>(data[i])) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

void put_u32(std::string& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

uint32_t get_u32(const std::string& in, size_t offset) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= uint32_t{static_cast<uint8_t>(in[offset + i])} << (8 * i);
  return v;
}

Status corrupt(const std::string& what) {
  return Status(Errc::parse_error, "route cache record is corrupt: " + what);
}

// Rebuilds the table from decoded fields; RouteTable::create validates them
// like any other outside input.
Result<RouteTable> to_table(const StoredTable& stored) {
  std::vector<ShardRoute> shards;
  for (const auto& s : stored.shards) {
    if (s.state > static_cast<uint8_t>(ShardState::write_forbidden))
      return corrupt("shard " + std::to_string(s.id) + " has unknown state " +
                     std::to_string(s.state));
    shards.push_back({s.id, s.name, s.owner, static_cast<ShardState>(s.state)});
  }
  std::map<std::string, HostPort> sites;
  for (const auto& s : stored.sites)
    if (!sites.emplace(s.ezone, HostPort{s.host, s.port}).second)
      return corrupt("ezone '" + s.ezone + "' is stored twice");
  auto table = RouteTable::create(stored.epoch, std::move(shards), std::move(sites));
  if (!table.ok()) return corrupt(table.status().message());
  return table;
}

}  // namespace

std::string encode_route_record(const RouteTable& table) {
  StoredTable stored;
  stored.epoch = table.epoch();
  for (const auto& r : table.shards())
    stored.shards.push_back({r.shard, r.name, r.owner, static_cast<uint8_t>(r.state)});
  for (const auto& [ezone, site] : table.sites())
    stored.sites.push_back({ezone, site.host, site.port});
  std::ostringstream payload;
  {
    cereal::PortableBinaryOutputArchive archive(payload);
    archive(stored);
  }
  std::string body = payload.str();
  std::string out(kMagic, sizeof(kMagic));
  put_u32(out, kRouteRecordFormat);
  put_u32(out, crc32(body.data(), body.size()));
  return out + body;
}

Result<RouteTable> decode_route_record(const std::string& bytes) {
  if (bytes.size() < kHeaderBytes)
    return corrupt(std::to_string(bytes.size()) + " bytes is shorter than its header");
  if (bytes.size() > kRouteRecordBytesMax)
    return corrupt(std::to_string(bytes.size()) + " bytes is over the limit");
  if (bytes.compare(0, sizeof(kMagic), kMagic, sizeof(kMagic)) != 0)
    return corrupt("wrong magic (not a route table record)");
  uint32_t format = get_u32(bytes, 4);
  if (format != kRouteRecordFormat)
    return corrupt("format " + std::to_string(format) + " (this build reads " +
                   std::to_string(kRouteRecordFormat) + ")");
  if (get_u32(bytes, 8) != crc32(bytes.data() + kHeaderBytes, bytes.size() - kHeaderBytes))
    return corrupt("checksum mismatch");
  StoredTable stored;
  std::istringstream in(bytes.substr(kHeaderBytes));
  try {
    cereal::PortableBinaryInputArchive archive(in);
    archive(stored);
  } catch (const std::exception& e) {
    return corrupt(std::string("payload does not decode: ") + e.what());
  }
  if (in.peek() != std::char_traits<char>::eof()) return corrupt("trailing bytes after payload");
  return to_table(stored);
}

Result<std::unique_ptr<RouteCache>> RouteCache::open(std::shared_ptr<LmdbEnv> env) {
  if (!env) return Status(Errc::invalid_argument, "route cache needs an LMDB environment");
  auto kv = env->database(kDatabase);
  if (!kv.ok()) return kv.status();
  return std::unique_ptr<RouteCache>(new RouteCache(std::move(kv).value()));
}

Result<RouteTable> RouteCache::load() const {
  auto bytes = kv_.get(kKey);
  if (!bytes.ok()) {
    if (bytes.status().code() == Errc::not_found)
      return Status(Errc::not_found, "no route table cached yet");
    return bytes.status();
  }
  return decode_route_record(*bytes);
}

Status RouteCache::save(const RouteTable& table) {
  std::string record = encode_route_record(table);
  return kv_.update(kKey, [&](const std::string* current) -> Result<std::optional<std::string>> {
    if (current != nullptr) {
      auto stored = decode_route_record(*current);
      if (stored.ok() && stored->epoch() > table.epoch())
        return Status(Errc::conflict, "route cache holds epoch " +
                                          std::to_string(stored->epoch()) +
                                          "; refusing to replace it with older epoch " +
                                          std::to_string(table.epoch()));
    }
    return std::optional<std::string>(std::move(record));
  });
}

Status RouteCache::clear() { return kv_.del(kKey); }

}  // namespace ezone
