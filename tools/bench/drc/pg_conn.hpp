// The PostgreSQL baseline's libpq helpers: owning handles, connecting to a
// local cluster, statements whose errors say which statement failed, and
// the writer threads. Internal to ezone_pg_baseline.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.hpp"

namespace ezone::drc::pg {

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;
struct ResultClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Res = std::unique_ptr<PGresult, ResultClear>;

// A libpq message without its trailing newlines and spaces ("" for null).
std::string trimmed(const char* message);

// The conninfo for the cluster on 127.0.0.1:port, as role kRole.
std::string conninfo(uint16_t port);

// A connection whose statements time out after statement_timeout_ms.
// Errc::unavailable (with libpq's reason) if the server does not accept it.
Result<Conn> connect(uint16_t port, int statement_timeout_ms);

// Runs one statement (text parameters). Errc::io_error, naming the
// statement, unless it returns COMMAND_OK or TUPLES_OK.
Result<Res> run_sql(PGconn* c, const std::string& sql, const std::vector<std::string>& params = {});
// run_sql without the result.
Status exec_sql(PGconn* c, const std::string& sql, const std::vector<std::string>& params = {});

// The integer at (row, col) of r; 0 for NULL.
int64_t int_at(PGresult* r, int row, int col);

// Runs the statement prepared on c as "ins" (PgReplicationPair's insert of
// rows first..last, with payload and created_at_us) in one transaction.
Status insert_range(PGconn* c, int64_t first, int64_t last, const std::string& payload, int64_t created_at_us);

// Runs fn(i) on n threads and joins them; the first error wins. A thread
// that cannot be created is an error, not a crash.
Status run_threads(int n, const std::function<Status(int)>& fn);

}  // namespace ezone::drc::pg
