#include "storage/dal/sqlite_db.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>

namespace ezone::dal {

namespace {

Errc errc_for(int rc) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Errc::unavailable;
    case SQLITE_CONSTRAINT: return Errc::conflict;
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: return Errc::io_error;
    case SQLITE_ERROR:
    case SQLITE_RANGE:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_AUTH: return Errc::invalid_argument;
    default: return Errc::internal;
  }
}

}  // namespace

Status sqlite_status(sqlite3* db, int rc, const std::string& what) {
  std::string msg = what + ": ";
  msg += db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  msg += " (code " + std::to_string(rc) + ")";
  return Status(errc_for(rc), std::move(msg));
}

std::string value_text(const Value& v) {
  struct Visitor {
    std::string operator()(std::monostate) const { return "null"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", d);
      return buf;
    }
    std::string operator()(const std::string& s) const {
      std::string out = "\"";
      for (unsigned char c : s) {
        if (c == '"' || c == '\\') {
          out += '\\';
          out += static_cast<char>(c);
        } else if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
      }
      return out + "\"";
    }
    std::string operator()(const Blob& b) const {
      static const char* hex = "0123456789abcdef";
      std::string out = "x'";
      for (unsigned char c : b.bytes) {
        out += hex[c >> 4];
        out += hex[c & 15];
      }
      return out + "'";
    }
  };
  return std::visit(Visitor{}, v);
}

std::string row_text(const Row& row) {
  std::string out = "[";
  for (size_t i = 0; i < row.size(); ++i) {
    if (i) out += ',';
    out += value_text(row[i]);
  }
  return out + "]";
}

namespace {

class RowTextReader {
 public:
  explicit RowTextReader(std::string_view text) : text_(text) {}

  Result<Row> read() {
    Row row;
    if (!eat('[')) return fail("a row starts with '['");
    if (eat(']')) return finish(std::move(row));
    while (true) {
      auto v = value();
      if (!v) return v.status();
      row.push_back(std::move(v.value()));
      if (eat(']')) return finish(std::move(row));
      if (!eat(',')) return fail("expected ',' or ']'");
    }
  }

 private:
  Result<Row> finish(Row row) {
    if (pos_ != text_.size()) return fail("text after the row's ']'");
    return row;
  }
  Status fail(const std::string& what) const {
    return Status(Errc::parse_error, "row text at byte " + std::to_string(pos_) + ": " + what);
  }
  bool eat(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool eat_word(std::string_view w) {
    if (text_.substr(pos_, w.size()) != w) return false;
    pos_ += w.size();
    return true;
  }
  static int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  Result<Value> value() {
    if (eat_word("null")) return Value();
    if (eat_word("x'")) return blob();
    if (eat('"')) return string();
    return number();
  }
  Result<Value> blob() {
    Blob b;
    while (pos_ + 1 < text_.size() && text_[pos_] != '\'') {
      const int hi = hex_digit(text_[pos_]), lo = hex_digit(text_[pos_ + 1]);
      if (hi < 0 || lo < 0) return fail("a blob is x' and pairs of hex digits");
      b.bytes += static_cast<char>(hi * 16 + lo);
      pos_ += 2;
    }
    if (!eat('\'')) return fail("a blob ends with '");
    return Value(std::move(b));
  }
  Result<Value> string() {
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (eat('"')) {
        out += '"';
      } else if (eat('\\')) {
        out += '\\';
      } else if (eat('u') && pos_ + 4 <= text_.size()) {
        int code = 0;
        for (int i = 0; i < 4; ++i) {
          const int d = hex_digit(text_[pos_ + static_cast<size_t>(i)]);
          if (d < 0) return fail("\\u needs four hex digits");
          code = code * 16 + d;
        }
        if (code >= 0x20) return fail("\\u escapes only control characters here");
        out += static_cast<char>(code);
        pos_ += 4;
      } else {
        return fail("unknown escape in a string");
      }
    }
    if (!eat('"')) return fail("a string ends with '\"'");
    return Value(std::move(out));
  }
  Result<Value> number() {
    const size_t start = pos_;
    while (pos_ < text_.size() && text_[pos_] != ',' && text_[pos_] != ']') ++pos_;
    const std::string token(text_.substr(start, pos_ - start));
    if (token.empty()) return fail("expected a value");
    if (token == "inf") return Value(std::numeric_limits<double>::infinity());
    if (token == "-inf") return Value(-std::numeric_limits<double>::infinity());
    if (token == "nan" || token == "-nan") return Value(std::numeric_limits<double>::quiet_NaN());
    errno = 0;
    char* end = nullptr;
    if (token.find_first_of(".eE") == std::string::npos) {
      const long long i = std::strtoll(token.c_str(), &end, 10);
      if (*end == '\0' && errno == 0) return Value(static_cast<int64_t>(i));
    } else {
      const double d = std::strtod(token.c_str(), &end);
      if (*end == '\0' && errno == 0) return Value(d);
    }
    pos_ = start;
    return fail("'" + token + "' is not a value");
  }

  std::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

Result<Row> parse_row_text(std::string_view text) { return RowTextReader(text).read(); }

// ---- Stmt ----

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    stmt_ = o.stmt_;
    o.stmt_ = nullptr;
  }
  return *this;
}

Stmt::~Stmt() { sqlite3_finalize(stmt_); }

namespace {

int bind_value(sqlite3_stmt* stmt, int index, const Value& v, sqlite3_destructor_type lifetime) {
  if (std::holds_alternative<std::monostate>(v)) return sqlite3_bind_null(stmt, index);
  if (auto* i = std::get_if<int64_t>(&v)) return sqlite3_bind_int64(stmt, index, *i);
  if (auto* d = std::get_if<double>(&v)) return sqlite3_bind_double(stmt, index, *d);
  if (auto* s = std::get_if<std::string>(&v)) return sqlite3_bind_text64(stmt, index, s->data(), s->size(), lifetime, SQLITE_UTF8);
  const Blob& b = std::get<Blob>(v);
  return sqlite3_bind_blob64(stmt, index, b.bytes.data(), b.bytes.size(), lifetime);
}

}  // namespace

Status Stmt::bind(int index, const Value& v) {
  const int rc = bind_value(stmt_, index, v, SQLITE_TRANSIENT);
  if (rc != SQLITE_OK) return sqlite_status(sqlite3_db_handle(stmt_), rc, "bind parameter " + std::to_string(index));
  return Status::ok();
}

Status Stmt::bind_static(int index, const Value& v) {
  const int rc = bind_value(stmt_, index, v, SQLITE_STATIC);
  if (rc != SQLITE_OK) return sqlite_status(sqlite3_db_handle(stmt_), rc, "bind parameter " + std::to_string(index));
  return Status::ok();
}

Status Stmt::bind_int(int index, int64_t v) {
  const int rc = sqlite3_bind_int64(stmt_, index, v);
  if (rc != SQLITE_OK) return sqlite_status(sqlite3_db_handle(stmt_), rc, "bind parameter " + std::to_string(index));
  return Status::ok();
}

Status Stmt::bind_text_static(int index, std::string_view text) {
  const int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) return sqlite_status(sqlite3_db_handle(stmt_), rc, "bind parameter " + std::to_string(index));
  return Status::ok();
}

Status Stmt::bind_blob_static(int index, std::string_view bytes) {
  const int rc = sqlite3_bind_blob64(stmt_, index, bytes.data(), bytes.size(), SQLITE_STATIC);
  if (rc != SQLITE_OK) return sqlite_status(sqlite3_db_handle(stmt_), rc, "bind parameter " + std::to_string(index));
  return Status::ok();
}

Status Stmt::bind_all_static(const std::vector<Value>& params) {
  reset();
  const int expected = sqlite3_bind_parameter_count(stmt_);
  if (static_cast<size_t>(expected) != params.size()) {
    return Status(Errc::invalid_argument, "the statement takes " + std::to_string(expected) +
                                              " parameters, " + std::to_string(params.size()) + " given");
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (Status s = bind_static(static_cast<int>(i + 1), params[i]); !s) return s;
  }
  return Status::ok();
}

Status Stmt::bind_all(const std::vector<Value>& params) {
  reset();
  sqlite3_clear_bindings(stmt_);
  const int expected = sqlite3_bind_parameter_count(stmt_);
  if (static_cast<size_t>(expected) != params.size()) {
    return Status(Errc::invalid_argument, "the statement takes " + std::to_string(expected) +
                                              " parameters, " + std::to_string(params.size()) + " given");
  }
  for (size_t i = 0; i < params.size(); ++i) {
    if (Status s = bind(static_cast<int>(i + 1), params[i]); !s) return s;
  }
  return Status::ok();
}

Result<bool> Stmt::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqlite_status(sqlite3_db_handle(stmt_), rc, "statement");
}

Value Stmt::column(int i) const {
  switch (sqlite3_column_type(stmt_, i)) {
    case SQLITE_INTEGER: return Value(static_cast<int64_t>(sqlite3_column_int64(stmt_, i)));
    case SQLITE_FLOAT: return Value(sqlite3_column_double(stmt_, i));
    case SQLITE_TEXT: {
      auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
      return Value(std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, i))));
    }
    case SQLITE_BLOB: {
      auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, i));
      const size_t n = static_cast<size_t>(sqlite3_column_bytes(stmt_, i));
      return Value(Blob{p ? std::string(p, n) : std::string()});
    }
    default: return Value(std::monostate{});
  }
}

Row Stmt::row() const {
  Row out;
  const int n = column_count();
  out.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) out.push_back(column(i));
  return out;
}

int Stmt::column_count() const { return sqlite3_column_count(stmt_); }

void Stmt::reset() { sqlite3_reset(stmt_); }

// ---- Db ----

// How often (in SQLite virtual-machine steps) a running statement checks
// its connection's deadline: a few microseconds of work between checks.
constexpr int kProgressSteps = 4096;

Result<std::unique_ptr<Db>> Db::open(const std::string& path, bool read_only) {
  // SQLite's memory statistics take a global mutex on every allocation;
  // nothing here reads them. Must precede the library's initialisation, so
  // it applies when the first Db of the process opens (a later call is a
  // harmless no-op).
  static const bool memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) == SQLITE_OK;
  (void)memstatus_off;
  sqlite3* raw = nullptr;
  const int flags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                    SQLITE_OPEN_NOMUTEX;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = sqlite_status(raw, rc, "cannot open SQLite database '" + path + "'");
    sqlite3_close(raw);
    return Status(Errc::io_error, s.message());
  }
  sqlite3_extended_result_codes(raw, 1);
  std::unique_ptr<Db> db(new Db(raw));
  sqlite3_progress_handler(raw, kProgressSteps, &Db::on_progress, db.get());
  return db;
}

namespace {

int64_t steady_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

DeadlineScope::DeadlineScope(Db& db, int64_t ms) : db_(db) {
  if (ms > 0) db_.set_deadline_ms(steady_ms_now() + ms);
}

bool Db::deadline_passed() const { return deadline_ms_ != 0 && steady_ms_now() >= deadline_ms_; }

// Without a deadline this is one load and a compare per kProgressSteps.
int Db::on_progress(void* db) { return static_cast<Db*>(db)->deadline_passed() ? 1 : 0; }

Db::~Db() { sqlite3_close_v2(db_); }

Status Db::exec(std::string_view sql) {
  char* err = nullptr;
  const std::string text(sql);
  const int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::ok();
  std::string msg = err ? err : sqlite3_errstr(rc);
  sqlite3_free(err);
  Status s = sqlite_status(nullptr, rc, text.substr(0, 80));
  return Status(s.code(), text.substr(0, 80) + ": " + msg);
}

Result<Stmt> Db::prepare(std::string_view sql, std::string_view* tail) {
  sqlite3_stmt* raw = nullptr;
  const char* end = nullptr;
  const int rc = sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &raw, &end);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(raw);
    return sqlite_status(db_, rc, "cannot prepare '" + std::string(sql.substr(0, 120)) + "'");
  }
  if (tail) *tail = sql.substr(static_cast<size_t>(end - sql.data()));
  if (!raw) return Status(Errc::invalid_argument, "the SQL text holds no statement");
  return Stmt(raw);
}

Result<int64_t> Db::run(std::string_view sql, const std::vector<Value>& params) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.status();
  if (Status s = stmt.value().bind_all(params); !s) return s;
  for (;;) {
    auto more = stmt.value().step();
    if (!more) return more.status();
    if (!more.value()) break;
  }
  return static_cast<int64_t>(sqlite3_changes64(db_));
}

Result<std::vector<Row>> Db::query(std::string_view sql, const std::vector<Value>& params, size_t rows_max) {
  auto stmt = prepare(sql);
  if (!stmt) return stmt.status();
  if (Status s = stmt.value().bind_all(params); !s) return s;
  std::vector<Row> rows;
  for (;;) {
    auto more = stmt.value().step();
    if (!more) return more.status();
    if (!more.value()) break;
    if (rows.size() == rows_max) {
      return Status(Errc::invalid_argument, "the query returns more than " + std::to_string(rows_max) + " rows");
    }
    rows.push_back(stmt.value().row());
  }
  return rows;
}

std::string Db::error_text() const {
  return std::string(sqlite3_errmsg(db_)) + " (code " + std::to_string(sqlite3_extended_errcode(db_)) + ")";
}

}  // namespace ezone::dal
