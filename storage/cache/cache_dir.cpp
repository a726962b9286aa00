#include "storage/cache/cache_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ezone {
namespace {

std::string state_path(const std::string& dir) { return dir + "/state"; }

Status io_error(const std::string& what, const std::string& path, const std::string& why) {
  return Status(Errc::io_error, "row cache: cannot " + what + " '" + path + "': " + why);
}

// Writes the state file and flushes it (and its directory entry) to disk.
Status write_state(const std::string& dir, const std::string& boot_id, bool clean) {
  const std::string path = state_path(dir);
  const std::string text = "boot=" + boot_id + " clean=" + (clean ? "1" : "0") + "\n";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("write", path, std::strerror(errno));
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return io_error("write", path, std::strerror(err));
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return Status::ok();
}

}  // namespace

std::string current_boot_id() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

Result<CacheDirFound> claim_cache_dir(const std::string& dir, const std::string& boot_id) {
  std::error_code ec;
  const bool had_files = std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec);
  CacheDirFound found = had_files ? CacheDirFound::kept : CacheDirFound::empty;
  if (had_files) {
    std::ifstream in(state_path(dir));
    std::string line;
    std::getline(in, line);
    std::string boot, clean;
    std::istringstream fields(line);
    std::string field;
    while (fields >> field) {
      if (field.rfind("boot=", 0) == 0) boot = field.substr(5);
      if (field.rfind("clean=", 0) == 0) clean = field.substr(6);
    }
    const bool trusted = clean == "1" || (!boot.empty() && boot == boot_id && clean == "0");
    if (!trusted) {
      std::filesystem::remove_all(dir, ec);
      if (ec) return io_error("empty", dir, ec.message());
      found = CacheDirFound::wiped;
    }
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("create", dir, ec.message());
  if (Status s = write_state(dir, boot_id, false); !s) return s;
  return found;
}

Status release_cache_dir(const std::string& dir, const std::string& boot_id) {
  return write_state(dir, boot_id, true);
}

}  // namespace ezone
