// `ezctl drc`: replication as this node sees it (GET /admin/v1/drc): per
// peer the watermark (last applied seq and its HLC), lag in rows and
// milliseconds, the last error, and tables halted by a schema mismatch.
// `ezctl drc conflicts [--limit N]` lists the kept losers of conflicts.
// `ezctl drc discard --origin EZONE --table T [--force]` deletes the rows
// parked for a table (POST /admin/v1/drc/parked/discard; Dal::discard_parked).
#pragma once

#include <string>

#include "tools/ezctl/options.hpp"

namespace ezctl {

// Returns the process exit code: 0 ok, 1 unreachable or bad answer.
int run_drc(const Options& options);

// The readable table for a /admin/v1/drc document; empty on bad JSON.
std::string format_drc_table(const std::string& drc_json);

}  // namespace ezctl
