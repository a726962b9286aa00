#include "storage/dal/change_record.hpp"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <cstring>
#include <ostream>

#include "storage/dal/bounded_archive.hpp"

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

int StringSink::overflow(int c) {
  if (c != traits_type::eof()) out_.push_back(static_cast<char>(c));
  return traits_type::not_eof(c);
}

std::streamsize StringSink::xsputn(const char* s, std::streamsize n) {
  out_.append(s, static_cast<size_t>(n));
  return n;
}

const char* change_op_name(ChangeOp op) { return op == ChangeOp::upsert ? "upsert" : "delete"; }

namespace {

template <class T>
std::string encode(const T& value) {
  std::string out;
  {
    StringSink sink(out);
    std::ostream stream(&sink);
    cereal::PortableBinaryOutputArchive ar(stream);
    ar(kFormat, value);
  }
  return out;
}

// Reads a kFormat-tagged archive with `read`; every malformed input becomes a
// parse_error naming `what`.
template <class F>
Status read_archive(std::string_view bytes, const char* what, F&& read) {
  if (bytes.size() > kBatchBytesMax) {
    return Status(Errc::parse_error, std::string(what) + ": " + std::to_string(bytes.size()) + " bytes is over the limit");
  }
  try {
    BoundedBinaryInputArchive ar(bytes);
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
  std::string out;
  size_t bytes = 64 + batch.origin.size();
  for (const auto& [name, fp] : batch.fingerprints) bytes += 16 + name.size() + fp.size();
  for (const OutboxEntry& e : batch.entries) bytes += 48 + e.body.size();
  out.reserve(bytes);
  {
    StringSink sink(out);
    std::ostream stream(&sink);
    cereal::PortableBinaryOutputArchive ar(stream);
    ar(kFormat, batch.origin, batch.head_seq, batch.fingerprints, batch.entries);
  }
  return out;
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

namespace {

void put_u64_be(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

}  // namespace

std::string encode_key(const Row& pk) {
  // Type tag, then the value: an integer as 8 big-endian bytes with the sign
  // bit flipped, so the byte order of keys is the numeric order of the ids
  // and rows inserted in key order append to the row-version B-tree instead
  // of landing at random pages (little-endian keys made every insert a
  // random page write); a real as its 8 bits; text and blobs length-prefixed
  // (4 bytes, big-endian). Unambiguous and cheap.
  std::string out;
  out.reserve(pk.size() * 10);
  for (const Value& v : pk) {
    out += static_cast<char>('0' + v.index());
    if (auto* i = std::get_if<int64_t>(&v)) {
      put_u64_be(out, static_cast<uint64_t>(*i) ^ (uint64_t{1} << 63));
    } else if (auto* d = std::get_if<double>(&v)) {
      uint64_t bits = 0;
      std::memcpy(&bits, d, sizeof bits);
      put_u64_be(out, bits);
    } else {
      const std::string* bytes = std::get_if<std::string>(&v);
      if (auto* b = std::get_if<Blob>(&v)) bytes = &b->bytes;
      const uint32_t n = bytes ? static_cast<uint32_t>(bytes->size()) : 0;
      for (int shift = 24; shift >= 0; shift -= 8) out += static_cast<char>((n >> shift) & 0xff);
      if (bytes) out += *bytes;
    }
  }
  return out;
}

}  // namespace ezone::dal
