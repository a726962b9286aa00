// ezctl quarantine: rows two sites wrote while their ownership overlapped.
//
//   quarantine list [--released] [--limit N] [--json]
//   quarantine resolve --table T --pk KEY
//
// The DAL refuses writes to a quarantined row on every site. After checking
// the row (`ezctl drc conflicts` shows both versions; the conflict policy
// already picked the one every site holds), an operator releases it; the
// release replicates, so one `resolve` at any node releases it everywhere.
#pragma once

#include "tools/ezctl/options.hpp"

namespace ezctl {

int run_quarantine(const Options& options);

}  // namespace ezctl
