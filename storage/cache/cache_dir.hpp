// The row cache's directory across restarts. The cache's LMDB commits are
// not flushed to disk (LmdbOptions::durable_commits = false): they survive
// a crash of the process, which leaves them in the page cache, but not a
// crash of the machine, after which the files may be inconsistent. A state
// file next to them says which boot last used them and whether that use
// ended cleanly (flushed by stop()):
//
//   <dir>/state   "boot=<kernel boot id> clean=<0|1>\n", written with fsync
//
// On open the files are kept when the last use ended cleanly, or when it
// was in this boot (only the process died); otherwise (the machine went
// down under it, the state file is missing or unreadable) the directory is
// emptied before LMDB reads anything in it.
#pragma once

#include <string>

#include "core/status.hpp"

namespace ezone {

// What claim_cache_dir found.
enum class CacheDirFound { empty, kept, wiped };

// Decides as above, empties the directory when the files cannot be
// trusted, creates it, and marks it in use by this boot (clean=0).
// boot_id: the kernel's (/proc/sys/kernel/random/boot_id); tests pass one.
Result<CacheDirFound> claim_cache_dir(const std::string& dir, const std::string& boot_id);
// Marks the directory clean, after the owner flushed LMDB to disk.
Status release_cache_dir(const std::string& dir, const std::string& boot_id);
// This boot's id, or "" when the kernel does not say (then a directory is
// kept only after a clean stop).
std::string current_boot_id();

}  // namespace ezone
