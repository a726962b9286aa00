#include "storage/lmdb/lmdb_env.hpp"

#include <lmdb.h>

#include <filesystem>
#include <set>

namespace ezone {
namespace {

// Directories this process has open. LMDB uses POSIX record locks, which a
// process loses as soon as it closes *any* descriptor of the lock file, so
// a second environment on the same directory would silently break the
// first one's locking.
std::mutex& registry_mutex() {
  static std::mutex mutex;
  return mutex;
}
std::set<std::string>& registry() {
  static std::set<std::string> open_dirs;
  return open_dirs;
}

// Aborts on destruction unless committed, so every early return (and an
// exception from an update callback) releases the transaction.
class Txn {
 public:
  Txn() = default;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() {
    if (txn_ != nullptr) mdb_txn_abort(txn_);
  }
  int begin(MDB_env* env, unsigned flags) { return mdb_txn_begin(env, nullptr, flags, &txn_); }
  int commit() {
    int rc = mdb_txn_commit(txn_);  // frees the transaction even when it fails
    txn_ = nullptr;
    return rc;
  }
  MDB_txn* get() const { return txn_; }

 private:
  MDB_txn* txn_ = nullptr;
};

MDB_val as_val(const std::string& s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};  // LMDB does not write through it
}

LmdbStat stat_of(const MDB_stat& st) {
  return LmdbStat{st.ms_entries, (st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages) * st.ms_psize};
}

Status open_error(const std::string& dir, const std::string& what) {
  return Status(Errc::io_error, "cannot open LMDB in '" + dir + "': " + what);
}

Result<std::string> prepare_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return open_error(dir, ec.message());
  if (!std::filesystem::is_directory(dir, ec)) return open_error(dir, "not a directory");
  auto canonical = std::filesystem::canonical(dir, ec);
  if (ec) return open_error(dir, ec.message());
  return canonical.string();
}

}  // namespace

Result<std::shared_ptr<LmdbEnv>> LmdbEnv::open(const LmdbOptions& options) {
  if (options.dir.empty()) return Status(Errc::invalid_argument, "LMDB directory is empty");
  if (options.map_size_bytes == 0)
    return Status(Errc::invalid_argument, "LMDB map_size_bytes must be > 0");
  auto canonical = prepare_dir(options.dir);
  if (!canonical.ok()) return canonical.status();
  std::lock_guard<std::mutex> lock(registry_mutex());
  if (registry().count(*canonical))
    return Status(Errc::conflict, "LMDB in '" + options.dir +
                                      "' is already open in this process; share its LmdbEnv");
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc == 0) rc = mdb_env_set_mapsize(env, options.map_size_bytes);
  if (rc == 0) rc = mdb_env_set_maxdbs(env, options.databases_max);
  const unsigned flags = MDB_NOTLS | (options.durable_commits ? 0u : unsigned{MDB_NOSYNC});
  if (rc == 0) rc = mdb_env_open(env, canonical->c_str(), flags, 0644);
  if (rc != 0) {
    if (env != nullptr) mdb_env_close(env);
    return open_error(options.dir, mdb_strerror(rc));
  }
  int stale = 0;
  mdb_reader_check(env, &stale);  // frees slots of crashed readers; best effort
  registry().insert(*canonical);
  return std::shared_ptr<LmdbEnv>(
      new LmdbEnv(env, options.dir, *canonical, options.map_size_bytes));
}

LmdbEnv::LmdbEnv(MDB_env* env, std::string dir, std::string canonical_dir, size_t map_size_bytes)
    : env_(env),
      dir_(std::move(dir)),
      canonical_dir_(std::move(canonical_dir)),
      map_size_bytes_(map_size_bytes) {}

LmdbEnv::~LmdbEnv() {
  // Every LmdbKv holds a shared_ptr to us, so no transaction is open here.
  mdb_env_close(env_);
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry().erase(canonical_dir_);
}

Status LmdbEnv::error(int rc, const std::string& what) const {
  if (rc == MDB_NOTFOUND) return Status(Errc::not_found, what + ": not found");
  std::string message = "LMDB in '" + dir_ + "': " + what + ": " + mdb_strerror(rc);
  if (rc == MDB_MAP_FULL)
    message += " (map_size_bytes is " + std::to_string(map_size_bytes_) + "; raise it)";
  return Status(Errc::io_error, message);
}

Status LmdbEnv::sync() {
  int rc = mdb_env_sync(env_, 1);
  if (rc != 0) return error(rc, "flushing to disk");
  return Status::ok();
}

size_t LmdbEnv::key_bytes_max() const {
  return static_cast<size_t>(mdb_env_get_maxkeysize(env_));
}

Result<LmdbKv> LmdbEnv::database(const std::string& name) {
  if (name.empty()) return Status(Errc::invalid_argument, "LMDB database name is empty");
  std::lock_guard<std::mutex> lock(dbi_mutex_);
  Txn txn;
  int rc = txn.begin(env_, 0);
  MDB_dbi dbi = 0;
  if (rc == 0) rc = mdb_dbi_open(txn.get(), name.c_str(), MDB_CREATE, &dbi);
  if (rc == 0) rc = txn.commit();
  if (rc != 0) return error(rc, "opening database '" + name + "'");
  return LmdbKv(shared_from_this(), dbi, name);
}

Status LmdbKv::check_key(const std::string& key) const {
  if (key.empty()) return Status(Errc::invalid_argument, "LMDB key is empty");
  if (key.size() > env_->key_bytes_max())
    return Status(Errc::invalid_argument, "LMDB key of " + std::to_string(key.size()) +
                                              " bytes is over the limit of " +
                                              std::to_string(env_->key_bytes_max()));
  return Status::ok();
}

Result<std::string> LmdbKv::get(const std::string& key) const {
  Status valid = check_key(key);
  if (!valid) return valid;
  Txn txn;
  int rc = txn.begin(env_->env_, MDB_RDONLY);
  MDB_val k = as_val(key);
  MDB_val v{0, nullptr};
  if (rc == 0) rc = mdb_get(txn.get(), dbi_, &k, &v);
  if (rc != 0) return env_->error(rc, "reading '" + key + "' from '" + name_ + "'");
  // The bytes live in the map only while the transaction is open: copy.
  return std::string(static_cast<const char*>(v.mv_data), v.mv_size);
}

Status LmdbKv::put(const std::string& key, const std::string& value) {
  return update(key, [&](const std::string*) -> Result<std::optional<std::string>> {
    return std::optional<std::string>(value);
  });
}

Status LmdbKv::del(const std::string& key) {
  Status valid = check_key(key);
  if (!valid) return valid;
  Txn txn;
  int rc = txn.begin(env_->env_, 0);
  MDB_val k = as_val(key);
  if (rc == 0) rc = mdb_del(txn.get(), dbi_, &k, nullptr);
  if (rc == MDB_NOTFOUND) return Status::ok();
  if (rc == 0) rc = txn.commit();
  if (rc != 0) return env_->error(rc, "deleting '" + key + "' from '" + name_ + "'");
  return Status::ok();
}

Status LmdbKv::update(const std::string& key, const UpdateFn& fn) {
  Status valid = check_key(key);
  if (!valid) return valid;
  Txn txn;
  int rc = txn.begin(env_->env_, 0);
  if (rc != 0) return env_->error(rc, "starting a write to '" + name_ + "'");
  MDB_val k = as_val(key);
  MDB_val v{0, nullptr};
  rc = mdb_get(txn.get(), dbi_, &k, &v);
  if (rc != 0 && rc != MDB_NOTFOUND) return env_->error(rc, "reading '" + key + "'");
  std::optional<std::string> current;
  if (rc == 0) current.emplace(static_cast<const char*>(v.mv_data), v.mv_size);
  auto next = fn(current ? &*current : nullptr);
  if (!next.ok()) return next.status();
  if (!next->has_value()) return Status::ok();  // nothing to write; the guard aborts
  MDB_val nv = as_val(**next);
  rc = mdb_put(txn.get(), dbi_, &k, &nv, 0);
  if (rc == 0) rc = txn.commit();
  if (rc != 0) return env_->error(rc, "writing '" + key + "' to '" + name_ + "'");
  return Status::ok();
}

Result<LmdbStat> LmdbKv::stat() const {
  Txn txn;
  int rc = txn.begin(env_->env_, MDB_RDONLY);
  MDB_stat st{};
  if (rc == 0) rc = mdb_stat(txn.get(), dbi_, &st);
  if (rc != 0) return env_->error(rc, "reading the size of '" + name_ + "'");
  return stat_of(st);
}

Status LmdbEnv::write(const std::function<Status(LmdbWrite&)>& fn) {
  Txn txn;
  int rc = txn.begin(env_, 0);
  if (rc != 0) return error(rc, "starting a write");
  LmdbWrite w(*this, txn.get());
  if (Status s = fn(w); !s) return s;  // the guard aborts
  rc = txn.commit();
  if (rc != 0) return error(rc, "committing a write");
  return Status::ok();
}

Status LmdbWrite::check_env(const LmdbKv& db) const {
  if (db.env_.get() != &env_) return Status(Errc::invalid_argument, "LMDB database '" + db.name_ + "' is another environment's");
  return Status::ok();
}

Status LmdbWrite::check(const LmdbKv& db, const std::string& key) const {
  if (Status s = check_env(db); !s) return s;
  return db.check_key(key);
}

Result<std::optional<std::string>> LmdbWrite::get(const LmdbKv& db, const std::string& key) {
  if (Status s = check(db, key); !s) return s;
  MDB_val k = as_val(key);
  MDB_val v{0, nullptr};
  int rc = mdb_get(txn_, db.dbi_, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string>();
  if (rc != 0) return env_.error(rc, "reading '" + key + "' from '" + db.name_ + "'");
  return std::optional<std::string>(std::string(static_cast<const char*>(v.mv_data), v.mv_size));
}

Status LmdbWrite::put(const LmdbKv& db, const std::string& key, const std::string& value) {
  if (Status s = check(db, key); !s) return s;
  MDB_val k = as_val(key);
  MDB_val v = as_val(value);
  int rc = mdb_put(txn_, db.dbi_, &k, &v, 0);
  if (rc != 0) return env_.error(rc, "writing '" + key + "' to '" + db.name_ + "'");
  return Status::ok();
}

Status LmdbWrite::del(const LmdbKv& db, const std::string& key) {
  if (Status s = check(db, key); !s) return s;
  MDB_val k = as_val(key);
  int rc = mdb_del(txn_, db.dbi_, &k, nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return env_.error(rc, "deleting '" + key + "' from '" + db.name_ + "'");
  return Status::ok();
}

Result<std::optional<LmdbWrite::Entry>> LmdbWrite::edge(const LmdbKv& db, bool last) {
  if (Status s = check_env(db); !s) return s;
  MDB_cursor* cursor = nullptr;
  int rc = mdb_cursor_open(txn_, db.dbi_, &cursor);
  if (rc != 0) return env_.error(rc, "opening a cursor on '" + db.name_ + "'");
  MDB_val k{0, nullptr}, v{0, nullptr};
  rc = mdb_cursor_get(cursor, &k, &v, last ? MDB_LAST : MDB_FIRST);
  std::optional<Entry> out;
  if (rc == 0)
    out.emplace(std::string(static_cast<const char*>(k.mv_data), k.mv_size),
                std::string(static_cast<const char*>(v.mv_data), v.mv_size));
  mdb_cursor_close(cursor);
  if (rc != 0 && rc != MDB_NOTFOUND) return env_.error(rc, "reading the ends of '" + db.name_ + "'");
  return out;
}

Result<std::optional<LmdbWrite::Entry>> LmdbWrite::first(const LmdbKv& db) { return edge(db, false); }
Result<std::optional<LmdbWrite::Entry>> LmdbWrite::last(const LmdbKv& db) { return edge(db, true); }

Result<LmdbStat> LmdbWrite::stat(const LmdbKv& db) {
  if (Status s = check_env(db); !s) return s;
  MDB_stat st{};
  int rc = mdb_stat(txn_, db.dbi_, &st);
  if (rc != 0) return env_.error(rc, "reading the size of '" + db.name_ + "'");
  return stat_of(st);
}

Status LmdbWrite::clear(const LmdbKv& db) {
  if (Status s = check_env(db); !s) return s;
  int rc = mdb_drop(txn_, db.dbi_, 0);
  if (rc != 0) return env_.error(rc, "clearing '" + db.name_ + "'");
  return Status::ok();
}

}  // namespace ezone
