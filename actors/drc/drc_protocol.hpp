// The DRC's messages over the CAF cluster. Only atoms and built-in types
// cross the wire, like the cluster protocol (actors/cluster), so nodes agree
// on the encoding without type registration.
//
//   to a peer's cluster actor, delegated to its DRC server:
//     (ez_pull, requester ezone, after seq, applied seq, rows_max, bytes_max,
//      wait_ms)
//        -> std::string: encode_batch() of the entries after `after`.
//        `applied` is the requester's durable cursor: what it has committed.
//        A pipelined puller asks for more (`after`) before its earlier
//        batches committed, so only `applied` may let the origin trim.
//   to the local cluster actor:
//     (ez_peer, ezone) -> caf::actor: the peer's cluster actor, or an invalid
//        handle while the peer is not up
//     (ez_drcset, caf::actor server): where pulls from peers go
#pragma once

#include <caf/all.hpp>

namespace ezone {

using ez_pull_atom = caf::atom_constant<caf::atom("ez_pull")>;
using ez_peer_atom = caf::atom_constant<caf::atom("ez_peer")>;
using ez_drcset_atom = caf::atom_constant<caf::atom("ez_drcset")>;

}  // namespace ezone
