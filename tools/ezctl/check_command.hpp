// `ezctl check`: an online consistency check of the whole cluster
// (storage/dal/check.hpp). It starts the check at the --node and at every
// peer it lists (each checks what it owns: its shards, the global tables it
// is master of), waits until every site has compared every chunk the
// others sent, and prints, per site, what it sent and what it compared, and
// every chunk that differs, with its key range. Writes go on meanwhile.
//
//   ezctl check [--tables T1,T2] [--shards 1,2] [--chunk-rows N] [--pause-ms N]
//               [--id ID] [--wait-ms N] [--no-wait] [--json]
//   ezctl check results ID [--wait-ms N] [--json]
//   ezctl check repair ID [--json]
//
// Exit 0: every chunk compared and equal. 1: a difference, a chunk that could
// not be compared, a part that stopped (its shard moved), a site that
// cannot be reached, or not complete within --wait-ms. --no-wait prints the
// id; `ezctl check results ID` reads the results later.
//
// `check repair ID` asks the owner of each chunk that differs at some site
// to send its repair image (POST /admin/v1/dal/checks/ID/repair), which
// makes every site's rows of the chunk equal to the owner's, then checks the
// repaired tables and shards again and exits as a check does.
#pragma once

#include "tools/ezctl/options.hpp"

namespace ezctl {

int run_check(const Options& options);

}  // namespace ezctl
