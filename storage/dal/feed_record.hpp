// How the change feed is stored: one record per transaction (a local group
// commit or a peer's batch), not one row per changed row.
//
// A record holds up to kFeedRecordEventsMax events with consecutive ids: its
// key is the first event's id and `n` their count, so event ids stay dense
// (1, 2, 3, ...) and a `since` reader resumes inside a record. Writing one
// record per transaction instead of one row per event took a B-tree insert
// out of every replicated row.
//
// Encoding: cereal portable binary, like the outbox. The records are this
// site's own, but they are still decoded with bounds and a parse_error, not
// trusted.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.hpp"
#include "storage/dal/dal.hpp"

namespace ezone::dal {

constexpr size_t kFeedRecordEventsMax = 4096;

// Encodes events[first, first + n) (their ids are implied, not stored).
std::string encode_feed_events(const std::vector<FeedEvent>& events, size_t first, size_t n);
// Decodes a record whose first event has id `first_id`; the events get ids
// first_id, first_id + 1, ... parse_error when the bytes are malformed or
// hold other than `n` events.
Result<std::vector<FeedEvent>> decode_feed_events(std::string_view bytes, uint64_t first_id, uint64_t n);

}  // namespace ezone::dal
