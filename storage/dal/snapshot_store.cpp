#include "storage/dal/snapshot_store.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/crc32c.hpp"
#include "storage/dal/dal.hpp"

namespace ezone::dal {

namespace {

std::string new_id() {
  std::random_device rd;
  char text[17];
  std::snprintf(text, sizeof text, "%08x%08x", rd(), rd());
  return text;
}

// The file's size and CRC-32C, read in 1 MiB pieces.
Status measure(const std::string& path, uint64_t& bytes, uint32_t& crc) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Errc::io_error, "cannot read the copy " + path);
  std::string piece(size_t{1} << 20, '\0');
  bytes = 0;
  crc = 0;
  while (in) {
    in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
    const auto n = static_cast<size_t>(in.gcount());
    crc = crc32c(std::string_view(piece.data(), n), crc);
    bytes += n;
  }
  if (in.bad()) return Status(Errc::io_error, "reading the copy " + path + " failed");
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<SnapshotStore>> SnapshotStore::open(Dal& dal, std::string dir, Metrics& metrics,
                                                           const Clock& clock) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(Errc::io_error, "cannot create the snapshot directory " + dir + ": " + ec.message());
  return std::unique_ptr<SnapshotStore>(new SnapshotStore(dal, std::move(dir), metrics, clock));
}

SnapshotStore::SnapshotStore(Dal& dal, std::string dir, Metrics& metrics, const Clock& clock)
    : dal_(dal), dir_(std::move(dir)), metrics_(metrics), clock_(clock) {}

SnapshotStore::~SnapshotStore() {
  if (worker_.joinable()) worker_.join();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

bool SnapshotStore::creating_locked() const {
  for (const auto& [id, e] : entries_)
    if (e.info.state == "creating") return true;
  return false;
}

void SnapshotStore::expire_locked(int64_t now_ms) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    const bool idle = it->second.info.state != "creating" && now_ms - it->second.used_ms > kSnapshotIdleMs;
    if (!idle) {
      ++it;
      continue;
    }
    std::remove(it->second.path.c_str());
    metrics_.counter("ezone_dal_snapshots_expired_total", "Database copies removed after nobody read them for 10 minutes")
        .inc();
    it = entries_.erase(it);
  }
}

Result<SnapshotInfo> SnapshotStore::create() {
  std::lock_guard<std::mutex> lock(mutex_);
  expire_locked(clock_.now_ms());
  if (creating_locked()) return Status(Errc::conflict, "a copy of the database is being made; wait for it (GET its id)");
  if (entries_.size() >= kSnapshotsMax) {
    return Status(Errc::conflict, "already " + std::to_string(kSnapshotsMax) +
                                      " copies of the database are kept; DELETE one, or wait 10 minutes");
  }
  // The last copy's thread set its entry's state under this lock and only
  // returns after: joining it cannot wait for the lock.
  if (worker_.joinable()) worker_.join();
  Entry e;
  e.info.id = new_id();
  e.info.state = "creating";
  e.info.ezone = dal_.ezone();
  e.info.lineage = dal_.lineage();
  e.info.created_wall_ms = clock_.wall_ms();
  e.path = dir_ + "/" + e.info.id + ".db";
  e.used_ms = clock_.now_ms();
  const SnapshotInfo info = e.info;
  entries_[info.id] = e;
  worker_ = std::thread([this, id = info.id, path = e.path] { make(id, path); });
  return info;
}

void SnapshotStore::make(std::string id, std::string path) {
  uint64_t bytes = 0;
  uint32_t crc = 0;
  Status s = dal_.snapshot_into(path);
  if (s) s = measure(path, bytes, crc);
  std::lock_guard<std::mutex> lock(mutex_);
  Entry& e = entries_[id];
  e.used_ms = clock_.now_ms();
  e.info.state = s ? "ready" : "failed";
  e.info.error = s ? "" : s.message();
  e.info.bytes = bytes;
  e.info.crc32c = crc;
  metrics_.counter("ezone_dal_snapshots_total", "Copies of the database made for peers' re-seeds, by outcome",
                   {{"outcome", s ? "ready" : "failed"}})
      .inc();
}

Result<SnapshotInfo> SnapshotStore::info(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t now = clock_.now_ms();
  expire_locked(now);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Status(Errc::not_found, "no database copy '" + id + "' (it may have expired)");
  it->second.used_ms = now;
  return it->second.info;
}

Result<std::string> SnapshotStore::read(const std::string& id, uint64_t offset, size_t bytes_max) {
  std::string path;
  uint64_t size = 0;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t now = clock_.now_ms();
    expire_locked(now);
    auto it = entries_.find(id);
    if (it == entries_.end()) return Status(Errc::not_found, "no database copy '" + id + "' (it may have expired)");
    if (it->second.info.state != "ready") {
      return Status(Errc::conflict, "database copy '" + id + "' is " + it->second.info.state + ", not ready");
    }
    it->second.used_ms = now;
    path = it->second.path;
    size = it->second.info.bytes;
  }
  if (offset >= size) return std::string();
  std::string piece(std::min<uint64_t>({bytes_max, kSnapshotPieceBytesMax, size - offset}), '\0');
  std::ifstream in(path, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(offset));
  in.read(piece.data(), static_cast<std::streamsize>(piece.size()));
  if (static_cast<size_t>(in.gcount()) != piece.size()) {
    return Status(Errc::io_error, "reading database copy '" + id + "' at " + std::to_string(offset) + " failed");
  }
  return piece;
}

Status SnapshotStore::remove(const std::string& id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) return Status(Errc::not_found, "no database copy '" + id + "'");
  if (it->second.info.state == "creating") return Status(Errc::conflict, "database copy '" + id + "' is being made");
  std::remove(it->second.path.c_str());
  entries_.erase(it);
  return Status::ok();
}

}  // namespace ezone::dal
