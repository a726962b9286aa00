#include "tools/bench/drc/pg_baseline.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>
#include <vector>

namespace ezone::drc {
namespace {

namespace fs = std::filesystem;

constexpr const char* kRole = "bench";
constexpr int kPollMs = 5;            // subscriber polling while waiting for a row
constexpr int kStopTimeoutS = 30;     // pg_ctl stop -t
constexpr int kGuardWaitMs = 5'000;   // reaping the guard after a clean teardown
constexpr int kLateSendUs = 1'000;    // a paced send this far past its slot is "late"

// The writer's INSERT: rows first..last in one statement, so one statement
// is one transaction of (last - first + 1) rows.
constexpr const char* kInsert =
    "INSERT INTO rows (id, shard, payload, created_at_us) "
    "SELECT g, (g % 64)::int, $3, $4 FROM generate_series($1::bigint, $2::bigint) AS g";

int64_t realtime_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1'000;
}

int64_t steady_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1'000;
}

void sleep_until_steady_us(int64_t t_us) {
  timespec ts{};
  ts.tv_sec = t_us / 1'000'000;
  ts.tv_nsec = (t_us % 1'000'000) * 1'000;
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

std::string errno_text() { return std::strerror(errno); }

std::string tail_of(const std::string& path, size_t max_bytes = 1'200) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log at " + path + ")";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// Nearest-rank percentile of sorted microseconds, in milliseconds.
double percentile_ms(const std::vector<int64_t>& sorted_us, double p) {
  if (sorted_us.empty()) return 0;
  size_t rank = size_t(std::ceil(p * double(sorted_us.size())));
  size_t index = std::min(sorted_us.size() - 1, rank == 0 ? 0 : rank - 1);
  return double(sorted_us[index]) / 1000.0;
}

// ---- processes -----------------------------------------------------------

// Who the PostgreSQL programs run as: this process's user, or (as root) an
// unprivileged one, because postgres and initdb refuse to run as root.
struct Identity {
  bool drop = false;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string name;
};

std::optional<Identity> lookup_user(const std::string& name) {
  passwd entry{};
  passwd* found = nullptr;
  std::vector<char> buffer(16'384);
  if (getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
    return std::nullopt;
  return Identity{true, found->pw_uid, found->pw_gid, name};
}

// Runs argv (argv[0] an absolute path) as `who` with a minimal environment,
// stdout and stderr appended to log_path, and waits up to timeout_ms (then
// SIGKILL). Safe to call while other threads run: the child only makes
// async-signal-safe calls before exec.
Status run_command(const std::vector<std::string>& argv, const Identity& who,
                   const std::string& log_path, int timeout_ms) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char* env[] = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"),
                 const_cast<char*>("LC_ALL=C"), const_cast<char*>("HOME=/tmp"), nullptr};
  const char* log = log_path.c_str();
  pid_t pid = fork();
  if (pid < 0) return Status(Errc::internal, "fork failed: " + errno_text());
  if (pid == 0) {
    if (who.drop && (setgroups(0, nullptr) != 0 || setgid(who.gid) != 0 || setuid(who.uid) != 0))
      _exit(125);
    int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int in = open("/dev/null", O_RDONLY);
    if (out < 0 || in < 0) _exit(126);
    dup2(in, 0);
    dup2(out, 1);
    dup2(out, 2);
    execve(args[0], args.data(), env);
    _exit(127);
  }
  std::string what = fs::path(argv[0]).filename().string();
  if (what == "pg_ctl" && argv.size() > 1) what += " " + argv[1];
  const int64_t deadline = steady_us() + int64_t(timeout_ms) * 1'000;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (r < 0 && errno != EINTR) return Status(Errc::internal, "waitpid(" + what + "): " + errno_text());
    if (steady_us() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return Status(Errc::timeout, what + " did not finish within " + std::to_string(timeout_ms) +
                                       " ms; its output: " + tail_of(log_path));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return Status::ok();
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::string as = who.drop ? " as user " + who.name + " (is every parent directory searchable by it?)" : "";
  std::string why = code == 125   ? "could not switch to user " + who.name
                    : code == 126 ? "could not open " + log_path + as
                    : code == 127 ? "could not execute " + argv[0]
                    : code >= 0   ? "exit code " + std::to_string(code)
                                  : "killed by signal " + std::to_string(WTERMSIG(status));
  return Status(Errc::unavailable, what + " failed (" + why + "); its output: " + tail_of(log_path));
}

// The identity for the servers; creates the system user when missing.
Result<Identity> server_identity(const std::string& wanted, const std::string& log_path) {
  if (geteuid() != 0) return Identity{};
  if (auto id = lookup_user(wanted)) return *id;
  Status added = run_command({"/usr/sbin/useradd", "--system", "--no-create-home", "--home-dir",
                              "/nonexistent", "--shell", "/usr/sbin/nologin", wanted},
                             Identity{}, log_path, 30'000);
  if (auto id = lookup_user(wanted)) return *id;
  if (auto id = lookup_user("postgres")) return *id;
  return Status(Errc::unavailable, "running as root, PostgreSQL needs an unprivileged user: could not create " +
                                       wanted + " (" + added.to_string() + ") and there is no user postgres");
}

// A free TCP port on 127.0.0.1. Another process may take it before the
// server binds; start_cluster retries with a new one.
Result<uint16_t> free_port() {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status(Errc::io_error, "socket: " + errno_text());
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0;
  std::string error = ok ? "" : errno_text();
  close(fd);
  if (!ok) return Status(Errc::unavailable, "no free port on 127.0.0.1: " + error);
  return uint16_t(ntohs(addr.sin_port));
}

// The guard: a shell blocked reading a pipe whose only writer is this
// process. EOF means this process closed it (clean teardown: the dir is
// gone, nothing to do) or died (stop the servers, remove the dir). It
// ignores the terminal's signals so it outlives a Ctrl-C of the benchmark.
constexpr const char* kGuardScript = R"SH(
cat >/dev/null
[ -d "$1" ] || exit 0
pids=""
for d in "$1/pub" "$1/sub"; do
  [ -f "$d/postmaster.pid" ] && pids="$pids $(head -n 1 "$d/postmaster.pid")"
done
for p in $pids; do kill -QUIT "$p" 2>/dev/null; done
i=0
while [ $i -lt 50 ]; do
  alive=""
  for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
  [ -z "$alive" ] && break
  sleep 0.1; i=$((i + 1))
done
for p in $pids; do kill -KILL "$p" 2>/dev/null; done
rm -rf "$1"
)SH";

Status start_guard(const std::string& dir, pid_t* pid_out, int* fd_out) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status(Errc::internal, "pipe2: " + errno_text());
  std::vector<std::string> argv = {"/bin/sh", "-c", kGuardScript, "ezone-pg-guard", dir};
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  char* env[] = {const_cast<char*>("PATH=/usr/bin:/bin"), nullptr};
  pid_t pid = fork();
  if (pid < 0) return Status(Errc::internal, "fork failed: " + errno_text());
  if (pid == 0) {
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGINT, &ignore, nullptr);
    sigaction(SIGTERM, &ignore, nullptr);
    sigaction(SIGHUP, &ignore, nullptr);
    int null = open("/dev/null", O_WRONLY);
    dup2(fds[0], 0);  // dup2 clears O_CLOEXEC on the copy
    if (null >= 0) {
      dup2(null, 1);
      dup2(null, 2);
    }
    execve(args[0], args.data(), env);
    _exit(127);
  }
  close(fds[0]);
  *pid_out = pid;
  *fd_out = fds[1];
  return Status::ok();
}

void reap_guard(pid_t pid, int fd) {
  if (fd >= 0) close(fd);
  if (pid <= 0) return;
  const int64_t deadline = steady_us() + int64_t(kGuardWaitMs) * 1'000;
  while (waitpid(pid, nullptr, WNOHANG) == 0) {
    if (steady_us() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::string fs_type(const std::string& path) {
  struct statfs s {};
  if (statfs(path.c_str(), &s) != 0) return "unknown";
  switch (uint64_t(s.f_type)) {
    case 0xEF53: return "ext4";
    case 0x01021994: return "tmpfs (fsync is free: not durable)";
    case 0x58465342: return "xfs";
    case 0x9123683E: return "btrfs";
    case 0x794c7630: return "overlayfs";
    default: return "fs magic " + std::to_string(uint64_t(s.f_type));
  }
}

// ---- libpq ---------------------------------------------------------------

struct ConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using Conn = std::unique_ptr<PGconn, ConnCloser>;
struct ResultClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Res = std::unique_ptr<PGresult, ResultClear>;

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

// Runs one statement (text parameters). The error names the statement.
Result<Res> run_sql(PGconn* c, const std::string& sql, const std::vector<std::string>& params = {}) {
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

Status exec_sql(PGconn* c, const std::string& sql, const std::vector<std::string>& params = {}) {
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

// Runs fn(i) on n threads and joins them; the first error wins. A thread
// that cannot be created is an error, not a crash.
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

struct Cluster {
  std::string name;  // "pub" or "sub"
  std::string data_dir;
  std::string log;   // the server's log (pg_ctl -l)
  uint16_t port = 0;
};

struct Window {
  int64_t count = 0;
  int64_t first_applied_us = 0;
  int64_t last_applied_us = 0;
};

}  // namespace

// ---- the pair --------------------------------------------------------------

struct PgReplicationPair::Impl {
  PgPairOptions options;
  Identity identity;
  std::string dir;
  Cluster pub, sub;
  pid_t guard_pid = -1;
  int guard_fd = -1;
  Conn pub_conn, sub_conn;
  int64_t next_id = 1;
  std::string version;
  std::string payload;

  ~Impl() { teardown(); }

  void note(const std::string& line) const {
    if (options.log) options.log(line);
  }
  bool cancelled() const { return options.cancel && options.cancel->load(); }
  std::string bin(const char* name) const { return options.bin_dir + "/" + name; }

  Status setup();
  Status make_dir();
  Status init_cluster(Cluster& c);
  Status start_cluster(Cluster& c);
  Status stop_cluster(Cluster& c);
  Status create_schema();
  Status set_subscription_enabled(bool enabled);
  Status wait_applied(int64_t id, int timeout_ms, const std::string& what);
  Result<Window> applied_window(int64_t first, int64_t end);
  Status reset();
  Result<Conn> writer_connection();
  Result<double> write_bulk(int64_t first_id, int64_t rows, int rows_per_tx, int writers);
  Status commit_marker(int64_t id);
  void teardown() noexcept;
};

Status PgReplicationPair::Impl::setup() {
  for (const char* tool : {"initdb", "pg_ctl", "postgres"})
    if (access(bin(tool).c_str(), X_OK) != 0)
      return Status(Errc::not_found, bin(tool) + " not found: install PostgreSQL 15 (apt-get install -y postgresql)");
  payload.assign(size_t(std::max(0, options.payload_bytes)), 'x');
  if (Status s = make_dir(); !s) return s;
  for (Cluster* c : {&pub, &sub})
    if (Status s = init_cluster(*c); !s) return s;
  for (Cluster* c : {&pub, &sub})
    if (Status s = start_cluster(*c); !s) return s;
  auto p = connect(pub.port, options.statement_timeout_ms);
  if (!p) return p.status();
  pub_conn = std::move(*p);
  auto s = connect(sub.port, options.statement_timeout_ms);
  if (!s) return s.status();
  sub_conn = std::move(*s);
  auto v = run_sql(pub_conn.get(), "SHOW server_version");
  if (!v) return v.status();
  version = PQgetvalue(v->get(), 0, 0);
  if (Status st = create_schema(); !st) return st;
  // One row across proves the subscription works before anything is timed.
  int64_t id = next_id++;
  if (Status st = commit_marker(id); !st) return st;
  return wait_applied(id, options.start_timeout_ms, "the first row after CREATE SUBSCRIPTION");
}

Status PgReplicationPair::Impl::make_dir() {
  std::string base = options.work_dir;
  if (base.empty()) base = std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp";
  std::string templ = base + "/ezone-pg-XXXXXX";
  if (!mkdtemp(templ.data())) return Status(Errc::io_error, "cannot make a temp dir under " + base + ": " + errno_text());
  dir = templ;
  // The guard comes first so that everything after it is cleaned up even
  // if this process is killed.
  if (Status s = start_guard(dir, &guard_pid, &guard_fd); !s) return s;
  auto who = server_identity(options.os_user, dir + "/useradd.log");
  if (!who) return who.status();
  identity = *who;
  if (identity.drop && chown(dir.c_str(), identity.uid, identity.gid) != 0)
    return Status(Errc::io_error, "chown " + dir + " to " + identity.name + ": " + errno_text());
  pub = {"pub", dir + "/pub", dir + "/pub.log", 0};
  sub = {"sub", dir + "/sub", dir + "/sub.log", 0};
  return Status::ok();
}

Status PgReplicationPair::Impl::init_cluster(Cluster& c) {
  note("initdb " + c.name + " in " + c.data_dir);
  Status s = run_command({bin("initdb"), "-D", c.data_dir, "-U", kRole, "-A", "trust", "-E", "UTF8",
                          "--locale=C", "--no-sync"},
                         identity, dir + "/initdb-" + c.name + ".log", options.start_timeout_ms);
  if (!s) return s;
  auto port = free_port();
  if (!port) return port.status();
  c.port = *port;
  // Later lines win in postgresql.conf; a port retry appends another port.
  std::ofstream conf(c.data_dir + "/postgresql.conf", std::ios::app);
  conf << "\n# ezone DRC benchmark\n"
          "listen_addresses = '127.0.0.1'\n"
          "unix_socket_directories = ''\n"
          "wal_level = logical\n"
          "fsync = on\n"
          "synchronous_commit = on\n"
          "full_page_writes = on\n"
          "max_connections = 64\n"
          "max_wal_senders = 8\n"
          "max_replication_slots = 8\n"
          "max_logical_replication_workers = 4\n"
          // The launcher starts a subscription's apply worker at most once
          // per wal_retrieve_retry_interval (default 5 s), which would add
          // up to 5 s to every ENABLE: a retry knob, not apply speed.
          "wal_retrieve_retry_interval = '100ms'\n"
          "port = "
       << c.port << "\n";
  if (!conf) return Status(Errc::io_error, "cannot write " + c.data_dir + "/postgresql.conf");
  return Status::ok();
}

Status PgReplicationPair::Impl::start_cluster(Cluster& c) {
  const int timeout_s = std::max(1, options.start_timeout_ms / 1000);
  for (int attempt = 0;; ++attempt) {
    note("pg_ctl start " + c.name + " on 127.0.0.1:" + std::to_string(c.port));
    Status s = run_command({bin("pg_ctl"), "start", "-D", c.data_dir, "-l", c.log, "-w", "-t",
                            std::to_string(timeout_s), "-s"},
                           identity, dir + "/pg_ctl-" + c.name + ".log", options.start_timeout_ms + 5'000);
    if (s) return s;
    if (attempt >= 2 || tail_of(c.log).find("already in use") == std::string::npos)
      return Status(s.code(), "cannot start the " + c.name + " cluster: " + s.message() + "; server log: " + tail_of(c.log));
    auto port = free_port();  // someone took the port between our probe and the bind
    if (!port) return port.status();
    c.port = *port;
    std::ofstream(c.data_dir + "/postgresql.conf", std::ios::app) << "port = " << c.port << "\n";
  }
}

Status PgReplicationPair::Impl::stop_cluster(Cluster& c) {
  const std::string pid_file = c.data_dir + "/postmaster.pid";
  if (c.data_dir.empty() || !fs::exists(pid_file)) return Status::ok();
  note("pg_ctl stop " + c.name);
  Status s = run_command({bin("pg_ctl"), "stop", "-D", c.data_dir, "-m", "fast", "-w", "-t",
                          std::to_string(kStopTimeoutS), "-s"},
                         identity, dir + "/pg_ctl-" + c.name + ".log", (kStopTimeoutS + 5) * 1'000);
  if (s) return s;
  // pg_ctl could not stop it: kill the postmaster; its children exit when
  // they see it gone.
  pid_t pid = 0;
  std::ifstream(pid_file) >> pid;
  if (pid > 0) {
    kill(pid, SIGQUIT);
    for (int i = 0; i < 100 && kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    kill(pid, SIGKILL);
  }
  return s;
}

Status PgReplicationPair::Impl::create_schema() {
  const std::string columns =
      "id bigint PRIMARY KEY, shard int NOT NULL, payload text NOT NULL, created_at_us bigint NOT NULL";
  for (const std::string& sql : {"CREATE TABLE rows (" + columns + ")",
                                 std::string("CREATE PUBLICATION drc_pub FOR TABLE rows WITH (publish = 'insert')")})
    if (Status s = exec_sql(pub_conn.get(), sql); !s) return s;
  if (Status s = exec_sql(sub_conn.get(), "CREATE TABLE rows (" + columns +
                                              ", applied_at timestamptz NOT NULL DEFAULT clock_timestamp())");
      !s)
    return s;
  std::string sync = options.subscriber_synchronous_commit ? "on" : "off";
  return exec_sql(sub_conn.get(), "CREATE SUBSCRIPTION drc_sub CONNECTION '" + conninfo(pub.port) +
                                      "' PUBLICATION drc_pub WITH (copy_data = false, synchronous_commit = '" +
                                      sync + "')");
}

Status PgReplicationPair::Impl::set_subscription_enabled(bool enabled) {
  if (Status s = exec_sql(sub_conn.get(), std::string("ALTER SUBSCRIPTION drc_sub ") + (enabled ? "ENABLE" : "DISABLE"));
      !s)
    return s;
  if (enabled) return Status::ok();
  // DISABLE returns before the apply worker exits; writes made before it
  // has gone would be applied while "disabled".
  const int64_t deadline = steady_us() + int64_t(options.start_timeout_ms) * 1'000;
  for (;;) {
    auto r = run_sql(sub_conn.get(),
                     "SELECT count(*) FROM pg_stat_subscription WHERE subname = 'drc_sub' AND pid IS NOT NULL");
    if (!r) return r.status();
    if (int_at(r->get(), 0, 0) == 0) return Status::ok();
    if (steady_us() > deadline)
      return Status(Errc::timeout, "the apply worker did not exit within " + std::to_string(options.start_timeout_ms) +
                                       " ms of ALTER SUBSCRIPTION DISABLE");
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

Status PgReplicationPair::Impl::wait_applied(int64_t id, int timeout_ms, const std::string& what) {
  const int64_t deadline = steady_us() + int64_t(timeout_ms) * 1'000;
  for (;;) {
    if (cancelled()) return Status(Errc::unavailable, "cancelled");
    auto r = run_sql(sub_conn.get(), "SELECT 1 FROM rows WHERE id = $1", {std::to_string(id)});
    if (!r) return r.status();
    if (PQntuples(r->get()) > 0) return Status::ok();
    if (steady_us() > deadline)
      return Status(Errc::timeout, "the subscriber did not apply row " + std::to_string(id) + " (" + what +
                                       ") within " + std::to_string(timeout_ms) + " ms; subscriber log: " +
                                       tail_of(sub.log, 800));
    std::this_thread::sleep_for(std::chrono::milliseconds(kPollMs));
  }
}

Result<Window> PgReplicationPair::Impl::applied_window(int64_t first, int64_t end) {
  auto r = run_sql(sub_conn.get(),
                   "SELECT count(*), (extract(epoch FROM min(applied_at)) * 1000000)::bigint, "
                   "(extract(epoch FROM max(applied_at)) * 1000000)::bigint FROM rows WHERE id >= $1 AND id < $2",
                   {std::to_string(first), std::to_string(end)});
  if (!r) return r.status();
  Window w{int_at(r->get(), 0, 0), int_at(r->get(), 0, 1), int_at(r->get(), 0, 2)};
  if (w.count != end - first)
    return Status(Errc::internal, "the subscriber has " + std::to_string(w.count) + " of the " +
                                      std::to_string(end - first) + " rows after the marker committed later arrived");
  return w;
}

Status PgReplicationPair::Impl::reset() {
  // publish = 'insert': a TRUNCATE stays on its own side.
  for (PGconn* c : {pub_conn.get(), sub_conn.get()})
    if (Status s = exec_sql(c, "TRUNCATE rows"); !s) return s;
  return Status::ok();
}

Result<Conn> PgReplicationPair::Impl::writer_connection() {
  auto c = connect(pub.port, options.statement_timeout_ms);
  if (!c) return c.status();
  Res r(PQprepare(c->get(), "ins", kInsert, 4, nullptr));
  if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK)
    return Status(Errc::io_error, "cannot prepare the insert: " + trimmed(PQerrorMessage(c->get())));
  return c;
}

// Commits rows [first_id, first_id + rows) in rows_per_tx transactions over
// `writers` connections; returns the seconds it took (connections excluded).
Result<double> PgReplicationPair::Impl::write_bulk(int64_t first_id, int64_t rows, int rows_per_tx, int writers) {
  std::vector<Conn> conns;
  for (int i = 0; i < writers; ++i) {
    auto c = writer_connection();
    if (!c) return c.status();
    conns.push_back(std::move(*c));
  }
  const int64_t txs = (rows + rows_per_tx - 1) / rows_per_tx;
  std::atomic<int64_t> next_tx{0};
  std::atomic<bool> failed{false};
  const int64_t t0 = steady_us();
  Status s = run_threads(writers, [&](int w) -> Status {
    for (int64_t tx = next_tx++; tx < txs && !failed; tx = next_tx++) {
      if (cancelled()) return Status(Errc::unavailable, "cancelled");
      int64_t first = first_id + tx * rows_per_tx;
      int64_t last = std::min(first + rows_per_tx, first_id + rows) - 1;
      if (Status st = insert_range(conns[size_t(w)].get(), first, last, payload, realtime_us()); !st) {
        failed = true;
        return st;
      }
    }
    return Status::ok();
  });
  if (!s) return s;
  return double(steady_us() - t0) / 1e6;
}

// A single-row transaction committed after everything before it: when the
// subscriber has it, it has every earlier commit (one apply worker applies
// in the publisher's commit order).
Status PgReplicationPair::Impl::commit_marker(int64_t id) {
  return exec_sql(pub_conn.get(),
                  "INSERT INTO rows (id, shard, payload, created_at_us) VALUES ($1, 0, 'marker', $2)",
                  {std::to_string(id), std::to_string(realtime_us())});
}

void PgReplicationPair::Impl::teardown() noexcept {
  try {
    pub_conn.reset();
    sub_conn.reset();
    for (Cluster* c : {&sub, &pub})
      if (Status s = stop_cluster(*c); !s) note("stopping " + c->name + ": " + s.to_string());
    if (!dir.empty()) {
      std::error_code ec;
      fs::remove_all(dir, ec);
      if (ec) note("cannot remove " + dir + ": " + ec.message());
    }
  } catch (...) {
    // A destructor must not throw; the guard still removes what is left.
  }
  reap_guard(guard_pid, guard_fd);
  guard_pid = -1;
  guard_fd = -1;
}

// ---- public ----------------------------------------------------------------

PgReplicationPair::PgReplicationPair(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PgReplicationPair::~PgReplicationPair() = default;

Result<std::unique_ptr<PgReplicationPair>> PgReplicationPair::start(PgPairOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  if (Status s = impl->setup(); !s) return s;  // ~Impl cleans up
  return std::unique_ptr<PgReplicationPair>(new PgReplicationPair(std::move(impl)));
}

std::string PgReplicationPair::describe() const {
  const Impl& m = *impl_;
  return "PostgreSQL " + m.version + ", publisher 127.0.0.1:" + std::to_string(m.pub.port) +
         ", subscriber 127.0.0.1:" + std::to_string(m.sub.port) + ", data in " + m.dir + " (" + fs_type(m.dir) +
         "), fsync=on, synchronous_commit=on, subscription synchronous_commit=" +
         (m.options.subscriber_synchronous_commit ? "on" : "off") +
         (m.identity.drop ? ", servers run as " + m.identity.name : "");
}

Result<ApplyFigures> PgReplicationPair::measure_apply(int64_t rows, int rows_per_tx, int writers) {
  Impl& m = *impl_;
  if (rows < 1 || rows_per_tx < 1 || writers < 1)
    return Status(Errc::invalid_argument, "measure_apply needs rows, rows_per_tx and writers >= 1");
  if (Status s = m.reset(); !s) return s;
  if (Status s = m.set_subscription_enabled(false); !s) return s;
  const int64_t first = m.next_id, marker = first + rows;
  m.next_id = marker + 1;
  m.note("apply: subscription disabled, committing " + std::to_string(rows) + " rows in " +
         std::to_string(rows_per_tx) + "-row transactions");
  auto seconds = m.write_bulk(first, rows, rows_per_tx, writers);
  if (!seconds) return seconds.status();
  if (Status s = m.commit_marker(marker); !s) return s;
  m.note("apply: enabling the subscription");
  const int64_t enabled_us = realtime_us();
  if (Status s = m.set_subscription_enabled(true); !s) return s;
  if (Status s = m.wait_applied(marker, m.options.apply_timeout_ms, "apply workload"); !s) return s;
  auto w = m.applied_window(first, marker);
  if (!w) return w.status();
  ApplyFigures f;
  f.rows = rows;
  f.rows_per_tx = rows_per_tx;
  f.writers = writers;
  f.publisher_rows_per_s = double(rows) / *seconds;
  f.publisher_tx_per_s = std::ceil(double(rows) / rows_per_tx) / *seconds;
  f.startup_ms = double(w->first_applied_us - enabled_us) / 1e3;
  f.apply_rows_per_s = double(rows) * 1e6 / double(std::max<int64_t>(1, w->last_applied_us - enabled_us));
  f.apply_steady_rows_per_s =
      double(rows) * 1e6 / double(std::max<int64_t>(1, w->last_applied_us - w->first_applied_us));
  return f;
}

Result<LagFigures> PgReplicationPair::measure_lag(double writes_per_s, double duration_s, int connections) {
  Impl& m = *impl_;
  if (!(writes_per_s > 0) || !(duration_s > 0) || connections < 1)
    return Status(Errc::invalid_argument, "measure_lag needs writes_per_s > 0, duration_s > 0, connections >= 1");
  if (Status s = m.reset(); !s) return s;
  if (Status s = m.set_subscription_enabled(true); !s) return s;
  // As for ezone (drc_bench), both servers start the lag run checkpointed,
  // so it does not pay for the writes of the workloads before it.
  for (PGconn* c : {m.pub_conn.get(), m.sub_conn.get()})
    if (Status s = exec_sql(c, "CHECKPOINT"); !s) return s;
  const int64_t rows = std::max<int64_t>(1, std::llround(writes_per_s * duration_s));
  const int64_t first = m.next_id, marker = first + rows;
  m.next_id = marker + 1;
  std::vector<Conn> conns;
  for (int i = 0; i < connections; ++i) {
    auto c = m.writer_connection();
    if (!c) return c.status();
    conns.push_back(std::move(*c));
  }
  m.note("lag: offering " + std::to_string(std::llround(writes_per_s)) + " single-row transactions/s for " +
         std::to_string(duration_s) + " s over " + std::to_string(connections) + " connections");
  // Row j is due at t0 + j / rate; whichever connection is free takes the
  // next due row. created_at_us is stamped when the row is sent.
  std::vector<std::vector<int64_t>> commit_us(static_cast<size_t>(connections));
  std::atomic<int64_t> next_row{0}, late{0}, last_commit_us{0};
  std::atomic<bool> failed{false};
  const int64_t t0 = steady_us() + 20'000;
  Status s = run_threads(connections, [&](int w) -> Status {
    for (int64_t j = next_row++; j < rows && !failed; j = next_row++) {
      if (m.cancelled()) return Status(Errc::unavailable, "cancelled");
      const int64_t due = t0 + std::llround(double(j) * 1e6 / writes_per_s);
      sleep_until_steady_us(due);
      const int64_t sent = steady_us();
      if (sent - due > kLateSendUs) ++late;
      if (Status st = insert_range(conns[size_t(w)].get(), first + j, first + j, m.payload, realtime_us()); !st) {
        failed = true;
        return st;
      }
      const int64_t done = steady_us();
      commit_us[size_t(w)].push_back(done - sent);
      for (int64_t prev = last_commit_us; done > prev && !last_commit_us.compare_exchange_weak(prev, done);) {
      }
    }
    return Status::ok();
  });
  if (!s) return s;
  if (Status st = m.commit_marker(marker); !st) return st;
  if (Status st = m.wait_applied(marker, m.options.apply_timeout_ms, "lag workload"); !st) return st;
  auto r = run_sql(m.sub_conn.get(),
                   "SELECT (extract(epoch FROM applied_at) * 1000000)::bigint - created_at_us FROM rows "
                   "WHERE id >= $1 AND id < $2",
                   {std::to_string(first), std::to_string(marker)});
  if (!r) return r.status();
  std::vector<int64_t> lags;
  for (int i = 0; i < PQntuples(r->get()); ++i) lags.push_back(int_at(r->get(), i, 0));
  if (int64_t(lags.size()) != rows)
    return Status(Errc::internal, "the subscriber has " + std::to_string(lags.size()) + " of " +
                                      std::to_string(rows) + " rows after the later marker arrived");
  std::vector<int64_t> commits;
  for (auto& v : commit_us) commits.insert(commits.end(), v.begin(), v.end());
  std::sort(lags.begin(), lags.end());
  std::sort(commits.begin(), commits.end());
  LagFigures f;
  f.offered_per_s = writes_per_s;
  f.achieved_per_s = double(rows) * 1e6 / double(std::max<int64_t>(1, last_commit_us - t0));
  f.connections = connections;
  f.rows = rows;
  f.late_sends = late;
  f.lag_p50_ms = percentile_ms(lags, 0.50);
  f.lag_p99_ms = percentile_ms(lags, 0.99);
  f.lag_max_ms = percentile_ms(lags, 1.0);
  f.commit_p50_ms = percentile_ms(commits, 0.50);
  f.commit_p99_ms = percentile_ms(commits, 0.99);
  return f;
}

Result<CatchupFigures> PgReplicationPair::measure_catchup(int64_t rows, int rows_per_tx, int writers) {
  Impl& m = *impl_;
  if (rows < 1 || rows_per_tx < 1 || writers < 1)
    return Status(Errc::invalid_argument, "measure_catchup needs rows, rows_per_tx and writers >= 1");
  if (Status s = m.reset(); !s) return s;
  if (Status s = m.set_subscription_enabled(true); !s) return s;
  const int64_t first = m.next_id, marker = first + rows;
  m.next_id = marker + 1;
  m.sub_conn.reset();
  if (Status s = m.stop_cluster(m.sub); !s) return s;
  m.note("catch-up: subscriber down, committing " + std::to_string(rows) + " rows in " +
         std::to_string(rows_per_tx) + "-row transactions");
  auto seconds = m.write_bulk(first, rows, rows_per_tx, writers);
  if (!seconds) return seconds.status();
  if (Status s = m.commit_marker(marker); !s) return s;
  const int64_t start_us = realtime_us();
  if (Status s = m.start_cluster(m.sub); !s) return s;
  const int64_t ready_us = realtime_us();
  auto c = connect(m.sub.port, m.options.statement_timeout_ms);
  if (!c) return c.status();
  m.sub_conn = std::move(*c);
  if (Status s = m.wait_applied(marker, m.options.apply_timeout_ms, "catch-up workload"); !s) return s;
  auto w = m.applied_window(first, marker);
  if (!w) return w.status();
  CatchupFigures f;
  f.rows = rows;
  f.rows_per_tx = rows_per_tx;
  f.writers = writers;
  f.publisher_rows_per_s = double(rows) / *seconds;
  f.restart_ms = double(ready_us - start_us) / 1e3;
  f.startup_ms = double(w->first_applied_us - ready_us) / 1e3;
  f.catchup_rows_per_s = double(rows) * 1e6 / double(std::max<int64_t>(1, w->last_applied_us - ready_us));
  f.catchup_steady_rows_per_s =
      double(rows) * 1e6 / double(std::max<int64_t>(1, w->last_applied_us - w->first_applied_us));
  return f;
}

}  // namespace ezone::drc
