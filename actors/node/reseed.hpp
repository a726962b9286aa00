// `ezoned --config FILE --reseed-from PEER`: replaces this ezone's database
// by a copy of a peer's (storage/dal/reseed.hpp has the rules), while the
// node is stopped:
//   1. takes the node's locks (data dir and database), so a running node of
//      this ezone makes it fail instead;
//   2. asks the peer's admin API for a copy (admin_snapshot.hpp), waits for
//      it and downloads it in pieces next to the database, checking its size
//      and CRC-32C, then deletes it at the peer;
//   3. adopts it (adopt_seed) and refuses, unless forced, when another peer
//      applied more of this ezone's old outbox than the source (or cannot
//      be asked), or when the database being replaced holds outbox entries
//      the source never applied;
//   4. moves the old database aside and installs the new one.
// The node then starts as usual: it pulls the peer from where the copy ends,
// and the peers start this ezone's new outbox from seq 1.
#pragma once

#include <functional>
#include <string>

#include "config/node_config.hpp"
#include "storage/dal/reseed.hpp"

namespace ezone {

struct ReseedOptions {
  std::string peer;    // an ezone of the config's [[peers]], with its admin address
  bool force = false;  // go on despite unreplicated entries or a better (or unknown) source
  int64_t timeout_ms = 60 * 60 * 1000;  // the whole re-seed
  // One line per step, for the operator.
  std::function<void(const std::string&)> progress;
};

// Errors: invalid_argument (no [dal], unknown peer, a peer without an
// admin address, a damaged copy), conflict (the node is running; unreplicated
// entries without force; the peer is busy copying), unavailable (the peer
// cannot be reached), timeout; nothing is replaced then.
Result<dal::SeedReport> reseed_from_peer(const NodeConfig& config, const ReseedOptions& options);

}  // namespace ezone
