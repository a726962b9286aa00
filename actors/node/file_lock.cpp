#include "actors/node/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace ezone {

Result<FileLock> FileLock::acquire(const std::string& path, const std::string& subject,
                                  const std::string& config_source, const std::string& config_key) {
  const std::string where = config_source + ": key '" + config_key + "': ";
  FileLock lock;
  lock.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock.fd_ < 0)
    return Status(Errc::io_error, where + "cannot open " + path + ": " + std::strerror(errno) +
                                      ". Fix: choose a writable directory");
  if (::flock(lock.fd_, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK)
      return Status(Errc::io_error, where + "cannot lock " + path + ": " + std::strerror(err));
    char holder[32] = {};
    const ssize_t n = ::pread(lock.fd_, holder, sizeof holder - 1, 0);
    std::string pid = n > 0 ? std::string(holder, static_cast<size_t>(n)) : std::string();
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return Status(Errc::conflict, where + subject + " is in use by another ezoned" +
                                      (pid.empty() ? std::string() : " (pid " + pid + ")") +
                                      ". Fix: stop that process, or give this node its own " + config_key);
  }
  const std::string pid = std::to_string(::getpid()) + "\n";
  if (::ftruncate(lock.fd_, 0) != 0 || ::pwrite(lock.fd_, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
    return Status(Errc::io_error, where + "cannot write " + path + ": " + std::strerror(errno));
  return Result<FileLock>(std::move(lock));
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    release();
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}

FileLock::~FileLock() { release(); }

void FileLock::release() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor drops the flock
  fd_ = -1;
}

}  // namespace ezone
