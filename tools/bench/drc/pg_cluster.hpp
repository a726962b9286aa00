// The PostgreSQL baseline's servers as OS processes: the user they run as,
// the guard that cleans up after a crash, and initdb, pg_ctl start and
// pg_ctl stop of one cluster. Internal to ezone_pg_baseline (see
// pg_baseline.hpp for the layout of the temp dir these work in).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "core/status.hpp"
#include "tools/bench/drc/pg_baseline.hpp"

namespace ezone::drc::pg {

// The superuser role initdb creates; every connection logs in as it.
inline constexpr const char* kRole = "bench";

// CLOCK_MONOTONIC in microseconds, for deadlines.
int64_t steady_us();

// strerror(errno).
std::string errno_text();

// The last max_bytes of the file at path, trailing newlines and spaces
// removed, for quoting a log in an error; "(no log at PATH)" if unreadable.
std::string tail_of(const std::string& path, size_t max_bytes = 1'200);

// Who the PostgreSQL programs run as: this process's user, or (as root) an
// unprivileged one, because postgres and initdb refuse to run as root.
struct Identity {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

// The identity for the servers: this process's (drop = false) unless it is
// root; then the user `wanted`, created with useradd (its output appended to
// log_path) when missing, else "postgres". Errc::unavailable if none exists.
Result<Identity> server_identity(const std::string& wanted, const std::string& log_path);

// The guard: a /bin/sh child blocked reading a pipe whose write end this
// process keeps. When the pipe closes because this process died, the guard
// stops the servers of dir/pub and dir/sub and removes dir. On success
// *pid_out is the guard's pid and *fd_out the write end, both owned by the
// caller until reap_guard.
Status start_guard(const std::string& dir, pid_t* pid_out, int* fd_out);

// Closes fd (if >= 0) and waits for the guard pid (if > 0) to exit, killing
// it after a few seconds. Call after removing dir, so the guard has nothing
// left to do.
void reap_guard(pid_t pid, int fd);

// The file system under path, in words ("ext4", "tmpfs (...)", "fs magic N").
std::string fs_type(const std::string& path);

// One PostgreSQL cluster of the pair.
struct Cluster {
  std::string name;  // "pub" or "sub"
  std::string data_dir;
  std::string log;   // the server's log (pg_ctl -l)
  uint16_t port = 0;
};

// Runs the PostgreSQL programs for a pair: from options.bin_dir, as
// identity, each program's own output appended to a log in dir (the pair's
// temp dir). Holds references: it must not outlive what it was made from.
// A failure's Status names the program and quotes the end of its output.
struct Servers {
  const PgPairOptions& options;
  const Identity& identity;
  const std::string& dir;

  // initdb of c.data_dir (role kRole, trust auth) and the benchmark's
  // settings appended to its postgresql.conf, on a free port (c.port).
  Status init_cluster(Cluster& c) const;
  // pg_ctl start, waiting until the server accepts connections; when the
  // port was taken meanwhile, retries on a new one (updating c.port).
  Status start_cluster(Cluster& c) const;
  // pg_ctl stop -m fast; if that fails, SIGQUIT then SIGKILL to the
  // postmaster (and the pg_ctl error is returned). OK if it is not running.
  Status stop_cluster(Cluster& c) const;

  void note(const std::string& line) const {
    if (options.log) options.log(line);
  }
  std::string bin(const char* name) const { return options.bin_dir + "/" + name; }
};

}  // namespace ezone::drc::pg
