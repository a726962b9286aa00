// EZONE_ASSERT: for states that cannot happen after start-up. It always
// checks (also in release builds) and aborts with context. Never use it on
// anything the outside world controls; those get a Status instead.
#pragma once

#include <string>

namespace ezone {
[[noreturn]] void assert_failed(const char* expr, const char* file, int line,
                                const std::string& message);
}  // namespace ezone

#define EZONE_ASSERT(expr, message)                                        \
  do {                                                                     \
    if (!(expr)) ::ezone::assert_failed(#expr, __FILE__, __LINE__, (message)); \
  } while (false)
