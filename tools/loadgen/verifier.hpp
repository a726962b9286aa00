// The I/O half of verification (verify.hpp holds the pure judging): waits,
// bounded, for replication to catch up, then reads every acked order at
// every node with the site-local DAL SELECT and diffs the answers.
#pragma once

#include <string>
#include <vector>

#include "core/address.hpp"
#include "storage/net/tls.hpp"
#include "tools/loadgen/verify.hpp"

namespace ezone::loadgen {

struct ReplicationWait {
  bool caught_up = false;
  double waited_s = 0;
  std::string lag;  // the last lagging pair (or why /admin/v1/drc could not be read)
};

// Polls GET /admin/v1/drc on every admin address until replication_lag() is
// empty or wait_s has passed. With no admins, returns caught_up = false and
// says so (verification then runs at once). admin_token, when not empty,
// goes with each request (the nodes' [admin] token).
// tls: node.admin's client context when it speaks TLS ([tls]).
ReplicationWait wait_for_replication(const std::vector<HostPort>& admins, const std::string& admin_token,
                                     double wait_s, int64_t timeout_ms, const net::TlsContextPtr& tls = nullptr);

// Reads the acked orders' rows at one node (batches of `batch` ids per
// SELECT through /dal/v1/tx, an internal endpoint: service_token goes with
// each when not empty); SiteRows::error says why it could not.
// (tls: node.http's client context when it speaks TLS.)
SiteRows read_site(const HostPort& node, const std::vector<AckedOrder>& acked, size_t batch,
                   const std::string& service_token, int64_t timeout_ms, const net::TlsContextPtr& tls = nullptr);

// Reads the acked orders at every node (batches of `batch` ids per SELECT)
// and diffs them: the result of diff_orders.
VerifyResult verify_sites(const std::vector<HostPort>& nodes, const std::vector<AckedOrder>& acked, size_t batch,
                          const std::string& service_token, int64_t timeout_ms,
                          const net::TlsContextPtr& tls = nullptr);

// Writes the acked orders as CSV (id,shard,user_id,merchant_id,amount_cents,
// state,maybe_state). io_error naming the file.
Status save_acked(const std::string& path, const std::vector<AckedOrder>& acked);

}  // namespace ezone::loadgen
