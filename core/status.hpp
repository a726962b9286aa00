// Status and Result<T>: the error values that cross every module boundary.
//
// Inputs from outside (config, peers, etcd, HTTP) fail routinely; they come
// back as a Status with a message a person can act on, never as an exception
// or a crash. Result<T> is either a value or a non-ok Status.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace ezone {

enum class Errc {
  ok = 0,
  invalid_argument,  // the caller's input is wrong (config, request, key)
  not_found,         // a key, file or peer that does not exist
  unavailable,       // a dependency (etcd, peer, port) cannot be reached now
  timeout,           // a bounded wait ran out
  conflict,          // a compare-and-swap lost, or a state forbids the change
  io_error,          // disk or socket failure
  parse_error,       // malformed bytes from outside (JSON, TOML, HTTP)
  internal,          // a bug in ezone itself
};

// Stable lower-case name of a code, used in logs, metrics labels and JSON.
const char* errc_name(Errc code);

class Status;

// What Status::ok() returns: it becomes a Status wherever one is expected,
// but it has no truth value. C++ reads `status.ok()` as the static
// Status::ok(), which is always ok, so a test such as
// EXPECT_FALSE(check(x).ok()) could never fail; with this it does not
// compile. Ask a Status is_ok() (or test it as a bool).
struct OkStatus {
  explicit operator bool() const = delete;
  operator Status() const;  // NOLINT: implicit by design
};

class Status {
 public:
  Status() = default;
  Status(Errc code, std::string message) : code_(code), message_(std::move(message)) {}

  static OkStatus ok() { return OkStatus(); }

  bool is_ok() const { return code_ == Errc::ok; }
  explicit operator bool() const { return is_ok(); }
  Errc code() const { return code_; }
  const std::string& message() const { return message_; }
  // "<code>: <message>", or "ok".
  std::string to_string() const;

 private:
  Errc code_ = Errc::ok;
  std::string message_;
};

inline OkStatus::operator Status() const { return Status(); }

// Either a T or a non-ok Status. Accessing value() on an error aborts: check
// ok() first. This keeps call sites explicit about the failure path.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)), status_() {}  // NOLINT: implicit by design
  // An ok Status has no value to give: such a Result is an internal error
  // that says so (it read as a failure with an empty message before).
  Result(Status status)  // NOLINT
      : status_(status.is_ok() ? Status(Errc::internal, "a Result was built from an ok Status, without a value")
                               : std::move(status)) {}
  Result(Errc code, std::string message) : status_(code, std::move(message)) {}

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  // ok() for a value, the error otherwise.
  const Status& status() const { return status_; }
  T& value() & { check(); return *value_; }
  const T& value() const& { check(); return *value_; }
  T&& value() && { check(); return std::move(*value_); }
  T* operator->() { check(); return &*value_; }
  const T* operator->() const { check(); return &*value_; }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  void check() const;
  std::optional<T> value_;
  Status status_{Errc::internal, "result holds no value"};
};

[[noreturn]] void result_access_failed(const Status& status);

template <class T>
void Result<T>::check() const {
  if (!value_) result_access_failed(status_);
}

}  // namespace ezone
