// FileLock: one ezoned per data directory and per SQLite file. Two
// processes writing the same SQLite files, outbox and HLC state would each
// believe its copy is the ezone's; the second is refused before it opens
// anything. The lock is an flock(2) on a lock file (<data_dir>/LOCK,
// <dal.db_file>.lock), so the kernel drops it when the process dies
// (kill -9 included) and a restart never finds a stale lock. The file holds
// the holder's PID, for the message.
#pragma once

#include <string>

#include "core/status.hpp"

namespace ezone {

class FileLock {
 public:
  FileLock() = default;
  // Locks `lock_path` (its directory must exist), which guards `subject`
  // (the data dir or the database file), named in errors by config_source
  // and config_key ("node.data_dir"). Fails with conflict, naming the
  // holder's PID, when another open of it holds the lock (another process,
  // or another node in this process).
  static Result<FileLock> acquire(const std::string& lock_path, const std::string& subject,
                                  const std::string& config_source, const std::string& config_key);
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();
  void release();

 private:
  int fd_ = -1;
};

}  // namespace ezone
