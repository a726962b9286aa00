// Reading a small text file whole (configs, schemas, token files).
#pragma once

#include <string>

#include "core/status.hpp"

namespace ezone {

// Reads a whole file. not_found (or io_error) naming path, what it is
// ("config file") and the caller's fix.
Result<std::string> read_text_file(const std::string& path, const std::string& what, const std::string& fix);

}  // namespace ezone
