// Thin RAII wrappers over the SQLite C API: a connection, a prepared
// statement, and the binding of Values. Errors come back as Status with
// SQLite's own message; nothing here throws or aborts on bad SQL.
//
// Not thread-safe: one Db (and its statements) belongs to one thread at a time.
#pragma once

#define SQLITE_ENABLE_SESSION 1
#define SQLITE_ENABLE_PREUPDATE_HOOK 1
#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "storage/dal/sql_value.hpp"

namespace ezone::dal {

class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  Stmt(Stmt&& o) noexcept : stmt_(o.stmt_) { o.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt();

  sqlite3_stmt* get() const { return stmt_; }
  explicit operator bool() const { return stmt_ != nullptr; }

  // Resets the statement and binds `params` to ?1..?n. invalid_argument when
  // the count differs from the statement's parameter count.
  Status bind_all(const std::vector<Value>& params);
  Status bind(int index, const Value& v);  // 1-based
  // Binds without copying text and blobs: the caller keeps `v` (or the
  // bytes) alive and unchanged until the statement is reset. For hot paths.
  Status bind_static(int index, const Value& v);
  Status bind_all_static(const std::vector<Value>& params);
  Status bind_int(int index, int64_t v);
  Status bind_text_static(int index, std::string_view text);
  Status bind_blob_static(int index, std::string_view bytes);
  // Steps once: true for a row, false when done; an error otherwise.
  Result<bool> step();
  Value column(int index) const;
  Row row() const;  // every column of the current row
  int column_count() const;
  void reset();

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

class Db {
 public:
  // Opens (creating if needed) the database at `path` in serialized-off
  // (NOMUTEX) mode with extended error codes. io_error naming the path.
  static Result<std::unique_ptr<Db>> open(const std::string& path, bool read_only);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  sqlite3* get() const { return db_; }
  // Runs one or more statements without results (setup, BEGIN/COMMIT).
  Status exec(std::string_view sql);
  // Prepares exactly the statement in `sql`; `tail` receives the unparsed
  // rest, when given.
  Result<Stmt> prepare(std::string_view sql, std::string_view* tail = nullptr);
  // Runs a statement with params, discarding rows; returns sqlite3_changes.
  Result<int64_t> run(std::string_view sql, const std::vector<Value>& params = {});
  // Runs a query and collects every row (bounded by rows_max: more is an
  // invalid_argument error, so a runaway SELECT cannot take the memory).
  Result<std::vector<Row>> query(std::string_view sql, const std::vector<Value>& params = {},
                                 size_t rows_max = 100000);
  // The current error of the connection, "<sqlite message> (code N)".
  std::string error_text() const;

  // Statements that run on this connection past steady_ms (a
  // steady_clock time in ms; 0: none) fail with SQLITE_INTERRUPT, checked
  // every few thousand virtual-machine steps. deadline_passed() tells a
  // caller whose statement failed whether that was why.
  void set_deadline_ms(int64_t steady_ms) { deadline_ms_ = steady_ms; }
  bool deadline_passed() const;

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  static int on_progress(void* db);
  sqlite3* db_;
  int64_t deadline_ms_ = 0;
};

// Arms db's deadline ms from now (none when ms <= 0) for one statement, and
// disarms it however the statement ends.
class DeadlineScope {
 public:
  DeadlineScope(Db& db, int64_t ms);
  ~DeadlineScope() { db_.set_deadline_ms(0); }
  DeadlineScope(const DeadlineScope&) = delete;
  DeadlineScope& operator=(const DeadlineScope&) = delete;

 private:
  Db& db_;
};

// Status for a failed SQLite call: `what` plus SQLite's message and code.
Status sqlite_status(sqlite3* db, int rc, const std::string& what);

}  // namespace ezone::dal
