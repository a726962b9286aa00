// SiteProbe: what the coordinator asks the sites while a workflow waits on
// them (DESIGN.md, "Planned switchover", steps 3 and 4). Real nodes answer
// through their admin API (http_probe.hpp); the simulator answers from its
// simulated sites.
#pragma once

#include <cstdint>
#include <string>

#include "core/ids.hpp"
#include "core/status.hpp"

namespace ezone::coord {

class SiteProbe {
 public:
  virtual ~SiteProbe() = default;
  // The route-table epoch the ezone's DAL has acknowledged: no commit under
  // an older epoch can follow at that site. unavailable/timeout when the
  // site does not answer.
  virtual Result<Epoch> acknowledged_epoch(const std::string& ezone) = 0;
  // The sequence number of the ezone's last committed outbox entry.
  virtual Result<uint64_t> outbox_head(const std::string& ezone) = 0;
  // The last sequence number of `origin`'s outbox that `ezone` has applied:
  // of its current outbox, so 0 while ezone's cursor is still of one that a
  // re-seed of origin replaced (its seqs start again at 1, and an old
  // cursor's seq says nothing of the new outbox).
  virtual Result<uint64_t> applied(const std::string& ezone, const std::string& origin) = 0;
};

}  // namespace ezone::coord
