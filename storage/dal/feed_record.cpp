#include "storage/dal/feed_record.hpp"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/string.hpp>

#include <ostream>

#include "storage/dal/bounded_archive.hpp"

namespace ezone::dal {

namespace {

constexpr uint32_t kFeedFormat = 1;

template <class Archive>
void write_event(Archive& ar, const FeedEvent& e) {
  ar(e.table, e.pk, static_cast<uint8_t>(e.op), e.shard, e.origin, e.hlc);
}

}  // namespace

std::string encode_feed_events(const std::vector<FeedEvent>& events, size_t first, size_t n) {
  std::string out;
  {
    StringSink sink(out);
    std::ostream stream(&sink);
    cereal::PortableBinaryOutputArchive ar(stream);
    ar(kFeedFormat, static_cast<uint64_t>(n));
    for (size_t i = first; i < first + n; ++i) write_event(ar, events[i]);
  }
  return out;
}

Result<std::vector<FeedEvent>> decode_feed_events(std::string_view bytes, uint64_t first_id, uint64_t n) {
  std::vector<FeedEvent> events;
  try {
    BoundedBinaryInputArchive ar(bytes);
    uint32_t format = 0;
    uint64_t count = 0;
    ar(format, count);
    if (format != kFeedFormat || count != n || count > kFeedRecordEventsMax) {
      return Status(Errc::parse_error, "change-feed record " + std::to_string(first_id) + ": format " +
                                           std::to_string(format) + ", " + std::to_string(count) + " events (" +
                                           std::to_string(n) + " expected)");
    }
    events.resize(count);
    for (uint64_t i = 0; i < count; ++i) {
      FeedEvent& e = events[i];
      uint8_t op = 0;
      ar(e.table, e.pk, op, e.shard, e.origin, e.hlc);
      if (op > static_cast<uint8_t>(ChangeOp::remove)) {
        return Status(Errc::parse_error, "change-feed record " + std::to_string(first_id) + ": unknown operation");
      }
      e.op = static_cast<ChangeOp>(op);
      e.id = first_id + i;
    }
  } catch (const std::exception& e) {
    return Status(Errc::parse_error, "change-feed record " + std::to_string(first_id) + ": malformed (" + e.what() + ")");
  }
  return events;
}

}  // namespace ezone::dal
