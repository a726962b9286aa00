// Conflict policies (DESIGN.md invariant 5): when two sites changed the same
// row concurrently, every site must pick the same winner from the same two
// versions, whatever order it sees them in. A version is identified by its
// hybrid-logical-clock timestamp and its origin ezone; both are in every
// replicated change, so the decision needs nothing site-local.
#pragma once

#include <string>

#include "core/hlc.hpp"
#include "core/status.hpp"

namespace ezone::data {

enum class ConflictPolicy {
  last_writer_wins,   // greater HLC wins; equal HLC: greater ezone name wins
  first_writer_wins,  // smaller HLC wins; equal HLC: smaller ezone name wins
};

// "last-writer-wins", "first-writer-wins".
const char* conflict_policy_name(ConflictPolicy policy);
Result<ConflictPolicy> parse_conflict_policy(const std::string& text);

struct RowVersion {
  HlcTime hlc = 0;
  std::string origin;  // ezone that wrote it; empty = no version (row never seen)

  bool empty() const { return origin.empty(); }
  bool operator==(const RowVersion& o) const { return hlc == o.hlc && origin == o.origin; }
  bool operator!=(const RowVersion& o) const { return !(*this == o); }
};

// True when `a` wins over `b` under `policy`. Requires a != b. Symmetric:
// exactly one of wins(p, a, b) and wins(p, b, a) is true.
bool wins(ConflictPolicy policy, const RowVersion& a, const RowVersion& b);

}  // namespace ezone::data
