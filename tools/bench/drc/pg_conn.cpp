// The PostgreSQL baseline's libpq helpers and writer threads.
#include "tools/bench/drc/pg_conn.hpp"

#include <cstdlib>
#include <exception>
#include <thread>

#include "tools/bench/drc/pg_cluster.hpp"

namespace ezone::drc::pg {

std::string trimmed(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string conninfo(uint16_t port) {
  return "host=127.0.0.1 port=" + std::to_string(port) + " user=" + kRole + " dbname=postgres";
}

Result<Conn> connect(uint16_t port, int statement_timeout_ms) {
  std::string info = conninfo(port) + " connect_timeout=10 options='-c statement_timeout=" +
                     std::to_string(statement_timeout_ms) + "'";
  Conn c(PQconnectdb(info.c_str()));
  if (!c) return Status(Errc::internal, "libpq: out of memory");
  if (PQstatus(c.get()) != CONNECTION_OK)
    return Status(Errc::unavailable, "cannot connect to PostgreSQL at 127.0.0.1:" + std::to_string(port) + ": " +
                                         trimmed(PQerrorMessage(c.get())));
  return Result<Conn>(std::move(c));
}

Result<Res> run_sql(PGconn* c, const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p.c_str());
  Res r(params.empty() ? PQexec(c, sql.c_str())
                       : PQexecParams(c, sql.c_str(), int(values.size()), nullptr, values.data(), nullptr,
                                      nullptr, 0));
  std::string head = sql.substr(0, 60) + (sql.size() > 60 ? "..." : "");
  if (!r) return Status(Errc::io_error, "\"" + head + "\": " + trimmed(PQerrorMessage(c)));
  ExecStatusType st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    return Status(Errc::io_error, "\"" + head + "\" failed: " + trimmed(PQresultErrorMessage(r.get())));
  return Result<Res>(std::move(r));
}

Status exec_sql(PGconn* c, const std::string& sql, const std::vector<std::string>& params) {
  auto r = run_sql(c, sql, params);
  return r.ok() ? Status::ok() : r.status();
}

int64_t int_at(PGresult* r, int row, int col) {
  return PQgetisnull(r, row, col) ? 0 : std::strtoll(PQgetvalue(r, row, col), nullptr, 10);
}

Status insert_range(PGconn* c, int64_t first, int64_t last, const std::string& payload, int64_t created_at_us) {
  std::string a = std::to_string(first), b = std::to_string(last), t = std::to_string(created_at_us);
  const char* values[] = {a.c_str(), b.c_str(), payload.c_str(), t.c_str()};
  Res r(PQexecPrepared(c, "ins", 4, values, nullptr, nullptr, 0));
  if (r && PQresultStatus(r.get()) == PGRES_COMMAND_OK) return Status::ok();
  return Status(Errc::io_error, "insert of rows " + a + ".." + b + " failed: " +
                                    trimmed(r ? PQresultErrorMessage(r.get()) : PQerrorMessage(c)));
}

Status run_threads(int n, const std::function<Status(int)>& fn) {
  std::vector<Status> results(size_t(n), Status::ok());
  std::vector<std::thread> threads;
  Status spawn = Status::ok();
  try {
    for (int i = 0; i < n; ++i) threads.emplace_back([&, i] { results[size_t(i)] = fn(i); });
  } catch (const std::exception& e) {
    spawn = Status(Errc::internal, std::string("cannot start a writer thread: ") + e.what());
  }
  for (auto& t : threads) t.join();
  if (!spawn.is_ok()) return spawn;
  for (auto& r : results)
    if (!r.is_ok()) return r;
  return Status::ok();
}

}  // namespace ezone::drc::pg
