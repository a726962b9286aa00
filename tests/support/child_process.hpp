// ChildProcess: a program started by a test (etcd, ezoned, ...), with the
// signals integration tests need (kill -9, SIGSTOP, SIGCONT) and bounded
// waits. The owner always cleans up: the destructor kills and reaps the
// child, so no test leaves a process behind, even when an assertion fails.
//
// As a second line of defence the child gets PR_SET_PDEATHSIG(SIGKILL): if
// the test process dies, so does the child. Linux ties this to the thread
// that forked, so start children from a thread that outlives them (the test
// body's thread does).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.hpp"

namespace ezone::test {

struct ChildOptions {
  // argv[0] is the program: a path, or a name looked up on PATH.
  std::vector<std::string> argv;
  // Added to (or replacing in) the test's own environment.
  std::vector<std::pair<std::string, std::string>> env;
  // stdout and stderr are appended here; empty = /dev/null.
  std::string log_path;
  std::string working_dir;  // empty = the test's working directory
  // A network namespace file (e.g. /var/run/netns/NAME) the child enters
  // before exec; empty = the namespace of the thread that starts it.
  std::string netns;
};

// Resolves a program name on PATH (names with a '/' are returned as they
// are when executable). Returns not_found when there is no such program.
Result<std::string> find_program(const std::string& name);

class ChildProcess {
 public:
  // Forks and execs. Returns not_found when the program does not exist or
  // cannot be executed, io_error when the log file or the network namespace
  // cannot be opened or entered, with the reason; the child has then
  // already been reaped.
  static Result<std::unique_ptr<ChildProcess>> start(const ChildOptions& options);
  ~ChildProcess();  // kill9() and reap, whatever the state
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const ChildOptions& options() const { return options_; }
  // True until the child has exited and been reaped (a stopped child runs).
  bool running();
  // The exit status once reaped: the exit code, or 128 + signal number.
  std::optional<int> exit_code() const { return exit_code_; }

  void kill9();   // SIGKILL and reap
  // SIGSTOP / SIGCONT, returning once the child has really stopped / resumed
  // (bounded by a few seconds); false if it is not running or did not.
  bool sigstop();
  bool sigcont();
  // SIGTERM (and SIGCONT, so a stopped child sees it), then SIGKILL if it has
  // not exited after grace_ms. Always reaps. Returns the exit code.
  int terminate(int64_t grace_ms = 5000);
  // Waits up to timeout_ms for the child to exit by itself. Returns its exit
  // code, or timeout (the child keeps running).
  Result<int> wait(int64_t timeout_ms);

 private:
  ChildProcess(pid_t pid, ChildOptions options) : pid_(pid), options_(std::move(options)) {}
  bool reap(bool block);
  bool await_state(int options, int64_t timeout_ms);

  pid_t pid_;
  ChildOptions options_;
  std::optional<int> exit_code_;
};

}  // namespace ezone::test
