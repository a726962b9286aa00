#include "core/text_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ezone {

Result<std::string> read_text_file(const std::string& path, const std::string& what, const std::string& fix) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status(Errc::not_found, path + ": cannot read the " + what + " (" + std::string(std::strerror(errno)) +
                                       "). Fix: " + fix);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status(Errc::io_error, path + ": read failed. Fix: check the file and its disk");
  return text.str();
}

}  // namespace ezone
