#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

extern char** environ;

namespace ezone::test {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(5);
constexpr int64_t kSignalWaitMs = 5000;

bool is_executable(const std::string& path) { return ::access(path.c_str(), X_OK) == 0; }

std::vector<std::string> merged_environment(
    const std::vector<std::pair<std::string, std::string>>& additions) {
  std::map<std::string, std::string> merged;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    std::string text(*entry);
    auto equals = text.find('=');
    if (equals != std::string::npos) merged[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& [name, value] : additions) merged[name] = value;
  std::vector<std::string> out;
  for (const auto& [name, value] : merged) out.push_back(name + "=" + value);
  return out;
}

std::vector<char*> pointers(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (auto& text : strings) out.push_back(text.data());
  out.push_back(nullptr);
  return out;
}

// Runs in the child between fork and exec, where a multi-threaded parent
// allows only async-signal-safe calls: everything was prepared before fork.
[[noreturn]] void exec_child(const char* program, char* const* argv, char* const* envp,
                             int log_fd, int error_fd, int netns_fd, const char* dir, pid_t parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
  if (netns_fd >= 0 && ::setns(netns_fd, CLONE_NEWNET) != 0) {
    int error = errno;
    (void)!::write(error_fd, &error, sizeof error);
    ::_exit(127);
  }
  int null_fd = ::open("/dev/null", O_RDONLY);
  if (null_fd >= 0) ::dup2(null_fd, 0);
  ::dup2(log_fd, 1);
  ::dup2(log_fd, 2);
  // Inherited sockets would keep the test's ports and connections alive in
  // the child; close everything but the exec-error pipe (which is CLOEXEC).
  if (error_fd > 3) ::close_range(3, static_cast<unsigned>(error_fd - 1), 0);
  ::close_range(static_cast<unsigned>(error_fd + 1), ~0u, 0);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::signal(SIGPIPE, SIG_DFL);
  if (dir != nullptr && ::chdir(dir) != 0) {
    int error = errno;
    (void)!::write(error_fd, &error, sizeof error);
    ::_exit(127);
  }
  ::execve(program, argv, envp);
  int error = errno;
  (void)!::write(error_fd, &error, sizeof error);
  ::_exit(127);
}

int decode_wait_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Reads the errno the child reports when exec fails; 0 when exec worked
// (the pipe closed on exec without a word).
int read_exec_error(int fd) {
  int error = 0;
  ssize_t got;
  do {
    got = ::read(fd, &error, sizeof error);
  } while (got < 0 && errno == EINTR);
  return got == static_cast<ssize_t>(sizeof error) ? error : 0;
}

}  // namespace

Result<std::string> find_program(const std::string& name) {
  if (name.find('/') != std::string::npos) {
    if (is_executable(name)) return name;
    return Status(Errc::not_found, "'" + name + "' is not an executable file");
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + name;
    if (end > start && is_executable(candidate)) return candidate;
    start = end + 1;
  }
  return Status(Errc::not_found, "'" + name + "' was not found on PATH (" + dirs + ")");
}

Result<std::unique_ptr<ChildProcess>> ChildProcess::start(const ChildOptions& options) {
  if (options.argv.empty()) return Status(Errc::invalid_argument, "ChildProcess needs an argv");
  auto program = find_program(options.argv[0]);
  if (!program.ok()) return program.status();
  std::vector<std::string> argv_strings = options.argv;
  std::vector<std::string> env_strings = merged_environment(options.env);
  std::vector<char*> argv = pointers(argv_strings);
  std::vector<char*> envp = pointers(env_strings);
  std::string log_path = options.log_path.empty() ? "/dev/null" : options.log_path;
  int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0)
    return Status(Errc::io_error, "cannot open log '" + log_path + "': " + std::strerror(errno));
  int netns_fd = -1;
  if (!options.netns.empty() && (netns_fd = ::open(options.netns.c_str(), O_RDONLY | O_CLOEXEC)) < 0) {
    ::close(log_fd);
    return Status(Errc::io_error, "cannot open netns '" + options.netns + "': " + std::strerror(errno));
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    ::close(log_fd);
    if (netns_fd >= 0) ::close(netns_fd);
    return Status(Errc::io_error, std::string("pipe2: ") + std::strerror(errno));
  }
  const char* dir = options.working_dir.empty() ? nullptr : options.working_dir.c_str();
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0)
    exec_child(program->c_str(), argv.data(), envp.data(), log_fd, pipe_fds[1], netns_fd, dir, parent);
  ::close(log_fd);
  if (netns_fd >= 0) ::close(netns_fd);
  ::close(pipe_fds[1]);
  if (pid < 0) {
    ::close(pipe_fds[0]);
    return Status(Errc::io_error, std::string("fork: ") + std::strerror(errno));
  }
  int exec_error = read_exec_error(pipe_fds[0]);
  ::close(pipe_fds[0]);
  std::unique_ptr<ChildProcess> child(new ChildProcess(pid, options));
  if (exec_error == 0) return child;
  child->reap(true);
  return Status(Errc::not_found, "cannot start '" + *program + "': " + std::strerror(exec_error));
}

ChildProcess::~ChildProcess() { kill9(); }

bool ChildProcess::reap(bool block) {
  if (exit_code_) return true;
  int status = 0;
  pid_t done;
  do {
    done = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (done < 0 && errno == EINTR);
  if (done == pid_) exit_code_ = decode_wait_status(status);
  else if (done < 0) exit_code_ = -1;  // not our child any more: nothing to reap
  return exit_code_.has_value();
}

bool ChildProcess::running() { return !reap(false); }

void ChildProcess::kill9() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  reap(true);
}

// kill() returns before every thread of the child has stopped (or resumed);
// a test that then sends a request must not find it still serving. So wait
// for the state change, as reported by waitpid, for a bounded time.
bool ChildProcess::await_state(int options, int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, options | WNOHANG);
    if (done == pid_ && (WIFSTOPPED(status) || WIFCONTINUED(status))) return true;
    if (done == pid_) {
      exit_code_ = decode_wait_status(status);
      return false;
    }
    if (done < 0 && errno != EINTR) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return false;
}

bool ChildProcess::sigstop() {
  if (!running()) return false;
  ::kill(pid_, SIGSTOP);
  return await_state(WUNTRACED, kSignalWaitMs);
}

bool ChildProcess::sigcont() {
  if (!running()) return false;
  ::kill(pid_, SIGCONT);
  return await_state(WCONTINUED, kSignalWaitMs);
}

Result<int> ChildProcess::wait(int64_t timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return Status(Errc::timeout, "pid " + std::to_string(pid_) + " still runs after " +
                                       std::to_string(timeout_ms) + " ms");
    std::this_thread::sleep_for(kPollInterval);
  }
  return *exit_code_;
}

int ChildProcess::terminate(int64_t grace_ms) {
  if (running()) {
    ::kill(pid_, SIGTERM);
    ::kill(pid_, SIGCONT);
    if (!wait(grace_ms).ok()) kill9();
  }
  return *exit_code_;
}

}  // namespace ezone::test
