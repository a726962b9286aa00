#include "storage/dal/change_record.hpp"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <sstream>

namespace cereal {
template <class Archive>
void serialize(Archive&, std::monostate&) {}
}  // namespace cereal

namespace ezone::dal {

// Bumped whenever the encoding changes; a peer with another format is refused
// with a clear error instead of being misread.
constexpr uint32_t kFormat = 1;

template <class Archive>
void serialize(Archive& ar, RowChange& c) {
  uint8_t op = static_cast<uint8_t>(c.op);
  ar(c.table, op, c.pk, c.row, c.base.hlc, c.base.origin);
  c.op = static_cast<ChangeOp>(op);
}

template <class Archive>
void serialize(Archive& ar, OutboxEntry& e) {
  ar(e.seq, e.hlc, e.shard, e.commit_wall_ms, e.body);
}

const char* change_op_name(ChangeOp op) { return op == ChangeOp::upsert ? "upsert" : "delete"; }

namespace {

template <class T>
std::string encode(const T& value) {
  std::ostringstream out(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(kFormat, value);
  }
  return std::move(out).str();
}

// Reads a kFormat-tagged archive with `read`; every malformed input becomes a
// parse_error naming `what`.
template <class F>
Status read_archive(std::string_view bytes, const char* what, F&& read) {
  if (bytes.size() > kBatchBytesMax) {
    return Status(Errc::parse_error, std::string(what) + ": " + std::to_string(bytes.size()) + " bytes is over the limit");
  }
  try {
    std::istringstream in(std::string(bytes), std::ios::binary);
    cereal::PortableBinaryInputArchive ar(in);
    uint32_t format = 0;
    ar(format);
    if (format != kFormat) {
      return Status(Errc::parse_error, std::string(what) + ": format " + std::to_string(format) +
                                           " (this build reads format " + std::to_string(kFormat) + ")");
    }
    read(ar);
  } catch (const std::exception& e) {
    return Status(Errc::parse_error, std::string(what) + ": malformed bytes (" + e.what() + ")");
  }
  return Status::ok();
}

}  // namespace

std::string encode_changes(const std::vector<RowChange>& changes) { return encode(changes); }

Result<std::vector<RowChange>> decode_changes(std::string_view bytes) {
  Result<std::vector<RowChange>> changes = std::vector<RowChange>{};
  if (Status s = read_archive(bytes, "outbox entry", [&](auto& ar) { ar(changes.value()); }); !s) return s;
  if (changes.value().size() > kChangesPerEntryMax) return Status(Errc::parse_error, "outbox entry: too many rows");
  for (const RowChange& c : changes.value()) {
    if (c.op != ChangeOp::upsert && c.op != ChangeOp::remove) {
      return Status(Errc::parse_error, "outbox entry: unknown operation on table '" + c.table + "'");
    }
    if (c.pk.empty()) return Status(Errc::parse_error, "outbox entry: a change to '" + c.table + "' has no key");
  }
  return changes;
}

std::string encode_batch(const OutboxBatch& batch) {
  std::ostringstream out(std::ios::binary);
  {
    cereal::PortableBinaryOutputArchive ar(out);
    ar(kFormat, batch.origin, batch.head_seq, batch.fingerprints, batch.entries);
  }
  return std::move(out).str();
}

Result<OutboxBatch> decode_batch(std::string_view bytes) {
  OutboxBatch batch;
  Status read = read_archive(bytes, "outbox batch", [&](auto& ar) {
    ar(batch.origin, batch.head_seq, batch.fingerprints, batch.entries);
  });
  if (!read) return read;
  for (size_t i = 1; i < batch.entries.size(); ++i) {
    if (batch.entries[i].seq != batch.entries[i - 1].seq + 1) {
      return Status(Errc::parse_error, "outbox batch: sequence jumps from " + std::to_string(batch.entries[i - 1].seq) +
                                           " to " + std::to_string(batch.entries[i].seq));
    }
  }
  return batch;
}

std::string encode_key(const Row& pk) {
  // Type tag + length-prefixed bytes per value: unambiguous, and cheap.
  std::string out;
  for (const Value& v : pk) {
    out += static_cast<char>('0' + v.index());
    std::string bytes;
    if (auto* i = std::get_if<int64_t>(&v)) {
      bytes.assign(reinterpret_cast<const char*>(i), sizeof *i);
    } else if (auto* d = std::get_if<double>(&v)) {
      bytes.assign(reinterpret_cast<const char*>(d), sizeof *d);
    } else if (auto* s = std::get_if<std::string>(&v)) {
      bytes = *s;
    } else if (auto* b = std::get_if<Blob>(&v)) {
      bytes = b->bytes;
    }
    const uint32_t n = static_cast<uint32_t>(bytes.size());
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out += bytes;
  }
  return out;
}

}  // namespace ezone::dal
