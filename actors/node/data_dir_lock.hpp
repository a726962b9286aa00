// DataDirLock: one ezoned per data directory. Two processes writing the
// same SQLite files, outbox and HLC state would each believe its copy is
// the ezone's; the second is refused before it opens anything. The lock is
// an flock(2) on <data_dir>/LOCK, so the kernel drops it when the process
// dies (kill -9 included) and a restart never finds a stale lock. The file
// holds the holder's PID, for the message.
#pragma once

#include <string>

#include "core/status.hpp"

namespace ezone {

class DataDirLock {
 public:
  DataDirLock() = default;
  // Locks `dir` (which must exist). Fails with conflict, naming the holder's
  // PID and `config_source`'s key, when another open of it holds the lock
  // (another process, or another node in this process).
  static Result<DataDirLock> acquire(const std::string& dir, const std::string& config_source);
  DataDirLock(DataDirLock&& other) noexcept;
  DataDirLock& operator=(DataDirLock&& other) noexcept;
  DataDirLock(const DataDirLock&) = delete;
  DataDirLock& operator=(const DataDirLock&) = delete;
  ~DataDirLock();
  void release();

 private:
  int fd_ = -1;
};

}  // namespace ezone
