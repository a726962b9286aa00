// One etcd watch: a thread that holds a /v3/watch stream open and turns its
// newline-delimited JSON messages into WatchCallbacks.
//
//              created                  stream breaks
//   connecting ---------> streaming ----------------------> broken
//       |                   ^   |  on_status(unavailable)    |
//       | every endpoint    |   | compacted:                 | backoff, reconnect
//       | failed: watch()   |   | on_status(not_found)       | from last revision + 1
//       v fails             |   v                            |
//     (gone)                |  finished                      |
//                           +--------------------------------+
//                                 created: on_status(ok)
//
// Before the first "created" a failure on every endpoint makes watch() fail;
// afterwards the watch never gives up until compaction or destruction.
// Callbacks run on the watch thread, one at a time.
//
// Limit: a quiet stream is normal, so a member that is paused or cut off
// while keeping the TCP connection open is not noticed here. Liveness comes
// from health() and lease keep-alives, which have timeouts.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "storage/meta/meta_store.hpp"

namespace ezone::meta::etcd {

class EtcdTransport;

// Longest watch line accepted; a longer one is treated as a broken stream.
constexpr size_t kWatchLineBytesMax = 64u << 20;

struct EtcdWatchSpec {
  std::string key;
  bool prefix = false;
  int64_t start_revision = 0;
  WatchCallbacks callbacks;
  int64_t backoff_min_ms = 50;
  int64_t backoff_max_ms = 1000;
};

// Starts the watch thread and waits until etcd confirmed the watch, or every
// endpoint failed once (that error is returned), bounded by the transport's
// request timeout per endpoint. The handle stops the thread when destroyed:
// within about 50 ms, or without waiting when destroyed from inside one of
// its own callbacks.
Result<std::unique_ptr<Watch>> start_etcd_watch(std::shared_ptr<EtcdTransport> transport,
                                                EtcdWatchSpec spec);

}  // namespace ezone::meta::etcd
