// The DRC change feed for cache invalidation, as Server-Sent Events:
//
//   GET /drc/v1/changes?tables=orders,users&since=N      (on node.http)
//
// Every row that changes at this site, locally or by replication, is one
// event, in commit order:
//
//   id: 1234
//   event: change
//   data: {"table":"orders","pk":"[42]","op":"upsert","shard":11,"origin":"bj","hlc":...}
//
// `since` (or an EventSource's Last-Event-ID header) replays the events
// after that id that the site still keeps ([dal] feed_rows_max), then the
// stream continues live; without either, the stream starts at the next
// change. `tables` filters (default: all). A comment line every 15 s keeps
// idle connections open through proxies. At most kFeedStreamsMax streams at
// once (503 beyond); a client that reads too slowly is disconnected by the
// HTTP server and can resume with Last-Event-ID.
#pragma once

#include <memory>

#include "actors/router/endpoint.hpp"
#include "core/metrics.hpp"
#include "storage/dal/dal.hpp"

namespace ezone {

constexpr int kFeedStreamsMax = 64;

// Owns the streams' threads. stop() ends every stream; call it before the
// DAL closes (the Node does).
class ChangeFeedHub {
 public:
  ChangeFeedHub(dal::Dal& dal, Metrics& metrics);
  ~ChangeFeedHub();
  Endpoint endpoint();
  void stop();

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace ezone
