// Copies of the site's database for peers that re-seed from it
// (reseed.hpp), served in pieces by the admin API
// (actors/node/admin_snapshot.hpp):
//
//   create() --thread: Dal::snapshot_into, crc--> ready --read() pieces--> remove()
//                                             \--> failed (error kept)
//
// A copy is made on the store's own thread, so the admin API answers while
// a large database is copied; the caller polls info(). Bounds: one copy
// being made at a time, at most kSnapshotsMax kept, pieces of at most
// kSnapshotPieceBytesMax; a copy nobody read for kSnapshotIdleMs is removed
// (a peer that gave up). Files live in `dir`, which the store empties at
// start: leftovers of a crashed process.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "core/metrics.hpp"
#include "core/status.hpp"

namespace ezone::dal {

class Dal;

constexpr size_t kSnapshotsMax = 2;
constexpr size_t kSnapshotPieceBytesMax = size_t{4} << 20;
constexpr int64_t kSnapshotIdleMs = 10 * 60 * 1000;

struct SnapshotInfo {
  std::string id;
  std::string state;  // "creating", "ready", "failed"
  std::string error;  // failed: why
  uint64_t bytes = 0;
  uint32_t crc32c = 0;  // of the whole file
  std::string ezone;    // whose database it is
  uint64_t lineage = 0;
  int64_t created_wall_ms = 0;
};

class SnapshotStore {
 public:
  // The store of `dal`'s copies in `dir` (created when missing; emptied).
  // clock times expiry and creation; it must outlive the store.
  static Result<std::unique_ptr<SnapshotStore>> open(Dal& dal, std::string dir, Metrics& metrics, const Clock& clock);
  // Waits for a copy being made, and removes every file.
  ~SnapshotStore();
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  // Starts a copy; its info says "creating". conflict while another is
  // being made, or kSnapshotsMax copies exist.
  Result<SnapshotInfo> create();
  // not_found for an unknown (or expired) id.
  Result<SnapshotInfo> info(const std::string& id);
  // Up to min(bytes_max, kSnapshotPieceBytesMax) bytes of a ready copy from
  // offset (empty at the end). not_found, or conflict while not ready.
  Result<std::string> read(const std::string& id, uint64_t offset, size_t bytes_max);
  // not_found for an unknown id; conflict while it is being made.
  Status remove(const std::string& id);

 private:
  struct Entry {
    SnapshotInfo info;
    std::string path;
    int64_t used_ms = 0;  // clock's now_ms
  };
  SnapshotStore(Dal& dal, std::string dir, Metrics& metrics, const Clock& clock);
  void make(std::string id, std::string path);
  void expire_locked(int64_t now_ms);
  bool creating_locked() const;  // a copy's thread is running (mutex_ held)

  Dal& dal_;
  std::string dir_;
  Metrics& metrics_;
  const Clock& clock_;
  std::mutex mutex_;
  std::map<std::string, Entry> entries_;
  std::thread worker_;
};

}  // namespace ezone::dal
