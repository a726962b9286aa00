// The PostgreSQL baseline's servers as OS processes: fork/exec as an
// unprivileged user, free ports, the crash guard, initdb and pg_ctl.
#include "tools/bench/drc/pg_cluster.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <thread>
#include <vector>

#include "tests/support/ports.hpp"

namespace ezone::drc::pg {
namespace {

namespace fs = std::filesystem;

constexpr int kStopTimeoutS = 30;     // pg_ctl stop -t
constexpr int kGuardWaitMs = 5'000;   // reaping the guard after a clean teardown

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

}  // namespace

int64_t steady_us() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1'000;
}

std::string errno_text() { return std::strerror(errno); }

std::string tail_of(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "(no log at " + path + ")";
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

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

Status Servers::init_cluster(Cluster& c) const {
  note("initdb " + c.name + " in " + c.data_dir);
  Status s = run_command({bin("initdb"), "-D", c.data_dir, "-U", kRole, "-A", "trust", "-E", "UTF8",
                          "--locale=C", "--no-sync"},
                         identity, dir + "/initdb-" + c.name + ".log", options.start_timeout_ms);
  if (!s) return s;
  c.port = test::free_loopback_port();
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

Status Servers::start_cluster(Cluster& c) const {
  const int timeout_s = std::max(1, options.start_timeout_ms / 1000);
  for (int attempt = 0;; ++attempt) {
    note("pg_ctl start " + c.name + " on 127.0.0.1:" + std::to_string(c.port));
    Status s = run_command({bin("pg_ctl"), "start", "-D", c.data_dir, "-l", c.log, "-w", "-t",
                            std::to_string(timeout_s), "-s"},
                           identity, dir + "/pg_ctl-" + c.name + ".log", options.start_timeout_ms + 5'000);
    if (s) return s;
    if (attempt >= 2 || tail_of(c.log).find("already in use") == std::string::npos)
      return Status(s.code(), "cannot start the " + c.name + " cluster: " + s.message() + "; server log: " + tail_of(c.log));
    c.port = test::free_loopback_port();  // someone took the port between our probe and the bind
    std::ofstream(c.data_dir + "/postgresql.conf", std::ios::app) << "port = " << c.port << "\n";
  }
}

Status Servers::stop_cluster(Cluster& c) const {
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

}  // namespace ezone::drc::pg
