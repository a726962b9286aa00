// Verification of a run: after replication has caught up, every order the
// run saw acknowledged must be on every site, in the state of its last
// acknowledged step, in its own shard, and identical everywhere.
//
// Everything here is pure (no I/O): the caller reads each site's rows and
// each node's DRC status, and these functions judge them, so tests can feed
// fake sites.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/ids.hpp"
#include "core/status.hpp"

namespace ezone::loadgen {

// The columns the verification SELECT reads, in this order:
//   SELECT id, shard, user_id, merchant_id, state, amount_cents FROM orders WHERE id IN (...)
struct OrderRow {
  int64_t id = 0;
  int64_t shard = 0;
  int64_t user_id = 0;
  int64_t merchant_id = 0;
  std::string state;
  int64_t amount_cents = 0;
  bool operator==(const OrderRow& o) const {
    return id == o.id && shard == o.shard && user_id == o.user_id && merchant_id == o.merchant_id &&
           state == o.state && amount_cents == o.amount_cents;
  }
  bool operator!=(const OrderRow& o) const { return !(*this == o); }
  std::string to_string() const;
};

// What the run knows about one order it created.
struct AckedOrder {
  int64_t id = 0;
  ShardId shard = 0;  // from the create response
  int64_t user_id = 0;
  int64_t merchant_id = 0;
  int64_t amount_cents = 0;
  std::string state;        // state of the last acknowledged step
  // When the step after it failed ambiguously (timeout, reset after sending,
  // a 5xx other than 503), the state it would have set: it may have
  // committed. Empty otherwise.
  std::string maybe_state;
};

// One site's answer: its rows for the acked ids, or why it could not be read.
struct SiteRows {
  std::string site;   // the node's address, for messages
  std::vector<OrderRow> rows;
  std::string error;  // non-empty: the site could not be read
};

enum class ProblemKind {
  unreadable,    // a site could not be read at all
  lost,          // an acked order missing at a site
  duplicated,    // more than one row for an id at a site
  wrong_shard,   // the row's shard differs from the order's (or its id's) shard
  wrong_state,   // not the state of the last acknowledged step
  wrong_fields,  // user, merchant or amount differ from what was sent
  differs,       // a site's row differs from another site's
};
const char* problem_kind_name(ProblemKind kind);

struct Problem {
  ProblemKind kind = ProblemKind::lost;
  int64_t id = 0;      // 0 for unreadable
  std::string site;
  std::string detail;
};

struct VerifyResult {
  size_t orders = 0;
  size_t sites = 0;
  std::vector<Problem> problems;  // every problem, in order id order
  std::map<std::string, size_t> counts() const;  // by kind name
  bool ok() const { return problems.empty(); }
};

// Judges the sites' rows against the acked orders. Rows for ids that were
// not acked are ignored (the run's unacknowledged creates may exist).
VerifyResult diff_orders(const std::vector<AckedOrder>& acked, const std::vector<SiteRows>& sites);

// The rows of a /dal/v1/tx answer to the SELECT above (results[0].rows).
// parse_error naming what is missing or mistyped.
Result<std::vector<OrderRow>> parse_order_rows(const std::string& body);

// One node's GET /admin/v1/drc.
struct DrcPeer {
  std::string origin;
  int64_t cursor = 0;
  int64_t lag_rows = 0;
  uint64_t lineage = 0;  // of the origin's outbox the cursor counts in (0: not reported)
};
struct DrcView {
  std::string site;  // the admin address, for messages
  std::string ezone;
  int64_t outbox_head = 0;
  std::vector<DrcPeer> peers;
  uint64_t lineage = 0;  // of this site's outbox (0: not reported)
};
Result<DrcView> parse_drc_json(const std::string& body, const std::string& site);

// Empty when replication has caught up: every peer of every node has
// lag_rows == 0 and, when that peer's own view is among `views`, a cursor
// equal to its outbox head and of its outbox's lineage (after a re-seed
// the seqs start again, so an old cursor may equal the new head).
// Otherwise the first lagging pair, for a person.
std::string replication_lag(const std::vector<DrcView>& views);

}  // namespace ezone::loadgen
