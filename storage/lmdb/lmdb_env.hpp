// LmdbEnv / LmdbKv: a small wrapper over LMDB for the site's local state
// (DESIGN.md, "Storage": the last known route table, later DRC bookkeeping
// and a key-value cache). LMDB is memory-mapped, so readers on many threads
// never block each other or the single writer.
//
// One LmdbEnv per directory per process: LMDB's locks are per process, and
// opening one environment twice in a process silently breaks them, so a
// second open() of the same directory fails with conflict; share the
// shared_ptr instead. Named databases (LmdbKv) live inside the environment.
//
// Thread-safety: every method of both classes may be called from any thread.
// The environment is opened with MDB_NOTLS, so read transactions are not
// tied to threads; write transactions are serialised by LMDB.
//
// Consistency: each get() reads one committed snapshot, and a get() that
// starts after a put() returned sees that put or a later one. But while a
// writer commits, two successive get()s may see commit N+1 and then commit
// N: LMDB picks a reader's snapshot without the writer's lock (seen here
// with LMDB 0.9.24 in a few runs out of ten of 300 tight commits against
// three reading threads).
// Records that must never be seen going back carry their own version (the
// route cache compares epochs).
//
// Errors: LMDB's codes come back as Status with the directory and LMDB's
// message: MDB_NOTFOUND -> not_found, a full map -> io_error naming
// map_size_bytes, anything else (corrupt file, I/O) -> io_error.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>
#include <string>

#include "core/status.hpp"

struct MDB_env;
struct MDB_txn;

namespace ezone {

struct LmdbOptions {
  std::string dir;  // created (with parents) if missing, e.g. <data_dir>/lmdb
  // The most the data file may grow to. It is address space, not memory, so
  // a generous value costs nothing on 64-bit; hitting it gives io_error.
  size_t map_size_bytes = size_t{256} << 20;
  unsigned databases_max = 16;  // named databases in this environment
  // false: commits are not flushed to disk (MDB_NOSYNC). They survive a
  // process crash (they are in the page cache) but not an OS crash, after
  // which the files may be inconsistent: only for data the owner can
  // rebuild, and that it discards after an unclean reboot (the row cache).
  // sync() flushes.
  bool durable_commits = true;
};

class LmdbKv;
class LmdbWrite;

// Size of one named database.
struct LmdbStat {
  size_t entries = 0;
  size_t bytes = 0;  // pages the database uses (branch, leaf, overflow) times the page size
};

class LmdbEnv : public std::enable_shared_from_this<LmdbEnv> {
 public:
  // Opens (creating the directory and files if needed) and clears reader
  // slots left by crashed processes. Returns invalid_argument for an empty
  // dir or zero map size, conflict when this process already has the
  // directory open, io_error when LMDB cannot open it.
  static Result<std::shared_ptr<LmdbEnv>> open(const LmdbOptions& options);
  ~LmdbEnv();
  LmdbEnv(const LmdbEnv&) = delete;
  LmdbEnv& operator=(const LmdbEnv&) = delete;

  // Opens a named database, creating it if missing. The LmdbKv keeps the
  // environment alive. invalid_argument for an empty name; io_error when
  // LMDB refuses (e.g. more than databases_max).
  Result<LmdbKv> database(const std::string& name);

  // Runs fn in one write transaction, committed durably when fn returns ok;
  // an error from fn (or LMDB) aborts it and is returned. An exception
  // from fn aborts and propagates. Writers are serialised by LMDB.
  Status write(const std::function<Status(LmdbWrite&)>& fn);

  // Flushes every commit to disk (for durable_commits = false).
  Status sync();

  const std::string& dir() const { return dir_; }
  // Longest key LMDB accepts (511 bytes by default).
  size_t key_bytes_max() const;

 private:
  friend class LmdbKv;
  friend class LmdbWrite;
  LmdbEnv(MDB_env* env, std::string dir, std::string canonical_dir, size_t map_size_bytes);
  Status error(int rc, const std::string& what) const;

  MDB_env* const env_;
  const std::string dir_;
  const std::string canonical_dir_;  // the key of the per-process registry
  const size_t map_size_bytes_;
  std::mutex dbi_mutex_;  // mdb_dbi_open must not run concurrently
};

// One named database. Copyable handle; copies share the environment.
class LmdbKv {
 public:
  // The value stored under key; not_found when absent.
  Result<std::string> get(const std::string& key) const;
  // Stores value under key (replacing it) and commits durably.
  // invalid_argument for an empty key or one over key_bytes_max().
  Status put(const std::string& key, const std::string& value);
  // Removes key; ok whether or not it was present.
  Status del(const std::string& key);

  // Read-modify-write in one write transaction: fn gets the current value
  // (nullptr when absent) and returns the value to store, nullopt to leave
  // the key unchanged, or an error that aborts the transaction and is
  // returned. fn runs while this database's writers wait: keep it short.
  // An exception from fn aborts the transaction and propagates.
  using UpdateFn = std::function<Result<std::optional<std::string>>(const std::string* current)>;
  Status update(const std::string& key, const UpdateFn& fn);

  Result<LmdbStat> stat() const;

  const std::string& name() const { return name_; }

 private:
  friend class LmdbEnv;
  friend class LmdbWrite;
  LmdbKv(std::shared_ptr<LmdbEnv> env, unsigned dbi, std::string name)
      : env_(std::move(env)), dbi_(dbi), name_(std::move(name)) {}
  Status check_key(const std::string& key) const;

  std::shared_ptr<LmdbEnv> env_;
  unsigned dbi_;
  std::string name_;
};

// The operations of one write transaction (LmdbEnv::write). Valid only
// inside fn; every database must belong to the same environment.
class LmdbWrite {
 public:
  using Entry = std::pair<std::string, std::string>;
  // The value under key, nullopt when absent.
  Result<std::optional<std::string>> get(const LmdbKv& db, const std::string& key);
  Status put(const LmdbKv& db, const std::string& key, const std::string& value);
  Status del(const LmdbKv& db, const std::string& key);  // ok when absent
  // The entry with the smallest key, nullopt when the database is empty.
  Result<std::optional<Entry>> first(const LmdbKv& db);
  // The entry with the largest key, nullopt when the database is empty.
  Result<std::optional<Entry>> last(const LmdbKv& db);
  Result<LmdbStat> stat(const LmdbKv& db);
  Status clear(const LmdbKv& db);  // removes every entry, keeps the database

 private:
  friend class LmdbEnv;
  LmdbWrite(LmdbEnv& env, MDB_txn* txn) : env_(env), txn_(txn) {}
  Status check_env(const LmdbKv& db) const;
  Status check(const LmdbKv& db, const std::string& key) const;
  Result<std::optional<Entry>> edge(const LmdbKv& db, bool last);

  LmdbEnv& env_;
  MDB_txn* txn_;
};

}  // namespace ezone
