#include "storage/dal/change_record.hpp"

#include <cereal/archives/portable_binary.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>

#include <cstdio>
#include <cstring>
#include <ostream>

#include "core/crc32c.hpp"
#include "storage/dal/bounded_archive.hpp"

namespace cereal {
template <class Archive>
void serialize(Archive&, std::monostate&) {}
}  // namespace cereal

namespace ezone::dal {

// Bumped whenever the encoding changes; a peer with another format is refused
// with a clear error instead of being misread. Format 2 added the checksums
// (change_record.hpp); its archives are format 1's.
constexpr uint32_t kPlainFormat = 1;    // encode_changes(); bodies of older builds
constexpr uint32_t kCheckedFormat = 2;  // entry bodies, and batches of older builds
constexpr uint32_t kBatchFormat = 3;    // batches with the origin's timeline
constexpr size_t kCrcBytes = 4;

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
std::string encode(uint32_t format, const T& value, size_t reserve = 0) {
  std::string out;
  out.reserve(reserve);
  {
    StringSink sink(out);
    std::ostream stream(&sink);
    cereal::PortableBinaryOutputArchive ar(stream);
    ar(format, value);
  }
  return out;
}

void put_u32_le(std::string& out, uint32_t v) {
  for (int shift = 0; shift < 32; shift += 8) out += static_cast<char>((v >> shift) & 0xff);
}

uint32_t get_u32_le(std::string_view bytes) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return v;
}

// The CRC-32C of an entry's header and its body's archive (the body without
// its checksum).
uint32_t entry_crc(const OutboxEntry& e, std::string_view archive) {
  char header[32];
  size_t at = 0;
  for (uint64_t v : {e.seq, static_cast<uint64_t>(e.hlc), static_cast<uint64_t>(e.shard),
                     static_cast<uint64_t>(e.commit_wall_ms)})
    for (int shift = 0; shift < 64; shift += 8) header[at++] = static_cast<char>((v >> shift) & 0xff);
  return crc32c(archive, crc32c(std::string_view(header, sizeof header)));
}

std::string format_error(const char* what, uint32_t format, const char* reads) {
  return std::string(what) + ": format " + std::to_string(format) + " (this build reads format " + reads + ")";
}

// The format an archive starts with (after cereal's endianness byte).
Result<uint32_t> archive_format(std::string_view bytes, const char* what) {
  try {
    BoundedBinaryInputArchive ar(bytes);
    uint32_t format = 0;
    ar(format);
    return format;
  } catch (const std::exception& e) {
    return Status(Errc::parse_error, std::string(what) + ": malformed bytes (" + e.what() + ")");
  }
}

// Reads an archive of format format_min..format_max with `read`; every
// malformed input becomes a parse_error naming `what`.
template <class F>
Status read_archive(std::string_view bytes, const char* what, uint32_t format_min, uint32_t format_max,
                    const char* reads, F&& read) {
  if (bytes.size() > kBatchBytesMax) {
    return Status(Errc::parse_error, std::string(what) + ": " + std::to_string(bytes.size()) + " bytes is over the limit");
  }
  try {
    BoundedBinaryInputArchive ar(bytes);
    uint32_t format = 0;
    ar(format);
    if (format < format_min || format > format_max) return Status(Errc::parse_error, format_error(what, format, reads));
    read(ar);
  } catch (const std::exception& e) {
    return Status(Errc::parse_error, std::string(what) + ": malformed bytes (" + e.what() + ")");
  }
  return Status::ok();
}

}  // namespace

std::string encode_changes(const std::vector<RowChange>& changes) { return encode(kPlainFormat, changes); }

std::string encode_entry_body(const OutboxEntry& meta, const std::vector<RowChange>& changes) {
  size_t bytes = 32;
  for (const RowChange& c : changes) {
    bytes += 64 + c.table.size() + c.base.origin.size();
    for (const Row* r : {&c.pk, &c.row})
      for (const Value& v : *r) bytes += value_bytes(v);
  }
  std::string body = encode(kCheckedFormat, changes, bytes);
  put_u32_le(body, entry_crc(meta, body));
  return body;
}

Status check_entry(const OutboxEntry& e) {
  auto format = archive_format(e.body, "outbox entry");
  if (!format) return format.status();
  if (*format == kPlainFormat) return Status::ok();
  if (*format != kCheckedFormat) return Status(Errc::parse_error, format_error("outbox entry", *format, "1 and 2"));
  if (e.body.size() < 5 + kCrcBytes) return Status(Errc::parse_error, "outbox entry: too short for its checksum");
  const std::string_view archive(e.body.data(), e.body.size() - kCrcBytes);
  const uint32_t stored = get_u32_le(std::string_view(e.body).substr(archive.size()));
  const uint32_t computed = entry_crc(e, archive);
  if (stored == computed) return Status::ok();
  char text[64];
  std::snprintf(text, sizeof text, " (stored %08x, computed %08x)", stored, computed);
  return Status(Errc::parse_error, "outbox entry " + std::to_string(e.seq) + ": checksum mismatch" + text +
                                       ": the entry was corrupted on its origin's disk, in memory or on the wire");
}

Result<std::vector<RowChange>> decode_changes(std::string_view bytes) {
  Result<std::vector<RowChange>> changes = std::vector<RowChange>{};
  if (Status s = read_archive(bytes, "outbox entry", kPlainFormat, kCheckedFormat, "1 and 2",
                              [&](auto& ar) { ar(changes.value()); });
      !s)
    return s;
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
    ar(kBatchFormat, batch.origin, batch.head_seq, batch.lineage, batch.replaces, batch.after, batch.after_hlc,
       batch.fingerprints, batch.entries);
  }
  put_u32_le(out, crc32c(out));
  return out;
}

Result<OutboxBatch> decode_batch(std::string_view bytes) {
  // The format first, so that a peer of another build is named as such
  // rather than as a checksum mismatch.
  auto format = archive_format(bytes, "outbox batch");
  if (!format) return format.status();
  if (*format != kCheckedFormat && *format != kBatchFormat) {
    return Status(Errc::parse_error, format_error("outbox batch", *format, "2 and 3"));
  }
  if (bytes.size() < 5 + kCrcBytes) return Status(Errc::parse_error, "outbox batch: too short for its checksum");
  const std::string_view archive = bytes.substr(0, bytes.size() - kCrcBytes);
  const uint32_t stored = get_u32_le(bytes.substr(archive.size()));
  if (const uint32_t computed = crc32c(archive); stored != computed) {
    char text[64];
    std::snprintf(text, sizeof text, " (stored %08x, computed %08x)", stored, computed);
    return Status(Errc::parse_error, std::string("outbox batch: checksum mismatch") + text +
                                         ": the batch was corrupted on its way from the peer");
  }
  OutboxBatch batch;
  Status read = read_archive(archive, "outbox batch", kCheckedFormat, kBatchFormat, "2 and 3", [&](auto& ar) {
    ar(batch.origin, batch.head_seq);
    if (*format == kBatchFormat) ar(batch.lineage, batch.replaces, batch.after, batch.after_hlc);
    ar(batch.fingerprints, batch.entries);
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
