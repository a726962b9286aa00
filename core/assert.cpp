#include "core/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace ezone {

void assert_failed(const char* expr, const char* file, int line, const std::string& message) {
  std::fprintf(stderr, "EZONE_ASSERT failed: %s at %s:%d: %s\n", expr, file, line,
               message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace ezone
