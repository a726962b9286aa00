// Admin endpoints of the coordinator (DESIGN.md, "coordinator"):
//
//   GET  /admin/v1/coord/site            this site's acknowledged epoch,
//                                        outbox head and applied cursors
//                                        (what other coordinators wait on)
//   GET  /admin/v1/coord/nodes           the registered nodes (ezone, admin
//                                        address, lease) and auto_failover
//   GET  /admin/v1/workflows             every journaled workflow
//   GET  /admin/v1/workflows/<id>        one, with its runner and, when
//                                        this node runs it, what it waits on
//   POST /admin/v1/workflows             start one (body below); 201 when
//                                        created, 200 when the id existed
//                                        or for a dry run
//   POST /admin/v1/workflows/<id>/cancel
//   GET  /admin/v1/traffic[?window_s=N]  requests this node served per shard
//                                        since it started ("shards", router
//                                        counts) and in the last N s
//                                        ("window", default 300)
//
// POST bodies:
//   {"kind": "switchover", "shards": ["hubei", 7], "to": "sh", "id": "...", "dry_run": false}
//   {"kind": "failover", "zone": "bj", "force": false, "id": "...", "dry_run": false}
//   {"kind": "rebalance", "target": {"bj": 52, "sh": 48}, "weights": {"7": 120.5},
//    "window_s": 300, "id": "...", "dry_run": false}
// "id" is optional (one is generated from the kind and the time). A
// rebalance answers its plan and, unless dry_run, starts one switchover per
// (from, to) pair of its moves, with ids <id>-1, <id>-2, ... Without
// "weights" it weighs each shard by its measured traffic: the requests every
// live node served for it in the last window_s seconds (default 300; GET
// /admin/v1/traffic of each), and says so in "weights_source"; "weights"
// lists the weight of every shard it used.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "actors/http/http_types.hpp"
#include "actors/router/traffic_window.hpp"
#include "core/shared_token.hpp"
#include "storage/net/tls.hpp"

namespace ezone {

class Coordinator;
namespace dal {
class Dal;
}

struct CoordAdminSources {
  std::string ezone;
  Coordinator* coordinator = nullptr;  // null: workflow endpoints answer 404
  dal::Dal* dal = nullptr;             // null: /coord/site answers 404 (this node cannot write)
  std::vector<std::string> peers;      // the ezones whose outboxes this site applies
  // Requests served per shard id here (Router::served_per_shard), and over
  // the last window_ms (Router::served_recently); null: none.
  std::function<std::vector<uint64_t>()> served_per_shard;
  std::function<TrafficWindow::Served(int64_t window_ms)> served_recently;
  // For the calls to the other nodes' GET /admin/v1/traffic (a rebalance
  // weighed by traffic): the admin token, and [tls]'s client context.
  LiveToken admin_token;
  net::TlsContextPtr admin_tls;
};

std::optional<HttpResponse> handle_coord_admin(const CoordAdminSources& sources, const HttpRequest& req);

}  // namespace ezone
