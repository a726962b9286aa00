#include "zones/routing/merchant_map.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <string_view>

namespace ezone {
namespace {

bool by_id(const MerchantRoute& a, const MerchantRoute& b) { return a.merchant_id < b.merchant_id; }

Status check_route(const MerchantRoute& r) {
  if (r.merchant_id == 0) return Status(Errc::invalid_argument, "merchant id 0 is not valid; ids start at 1");
  std::string who = "merchant " + std::to_string(r.merchant_id);
  if (r.fence_id < 0 && r.fence_id != kNoFence)
    return Status(Errc::invalid_argument, who + " has fence id " + std::to_string(r.fence_id) +
                                              "; fence ids are >= 0");
  if (r.shard > kShardIdMax)
    return Status(Errc::invalid_argument, who + " has shard " + std::to_string(r.shard) +
                                              ", above the largest shard id " +
                                              std::to_string(kShardIdMax));
  return Status::ok();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    fields.push_back(trim(line.substr(start, comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

// Decimal digits only (no sign, no spaces), at most max.
bool parse_decimal(std::string_view text, uint64_t max, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (max - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

// Reads the CSV line by line with a bounded buffer, so a file without line
// breaks (or a binary file) cannot make one line cost unbounded memory.
class CsvReader {
 public:
  CsvReader(std::istream& in, std::string source) : in_(in), source_(std::move(source)) {}

  // Next line without its line break, or nullopt at the end (check status()).
  std::optional<std::string_view> next() {
    if (!status_.is_ok() || in_.eof()) return std::nullopt;
    in_.getline(buffer_, sizeof(buffer_));
    auto n = static_cast<size_t>(in_.gcount());
    if (in_.bad()) return fail(Errc::io_error, "read error");
    if (in_.eof() && n == 0) return std::nullopt;
    ++line_;
    if (!in_.eof() && in_.fail()) return fail(Errc::parse_error, "line is too long");
    if (!in_.eof()) --n;  // the extracted '\n' is counted but not stored
    std::string_view text(buffer_, n);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (line_ == 1 && text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 BOM
    if (text.size() > kMerchantCsvLineBytesMax) return fail(Errc::parse_error, "line is too long");
    return text;
  }
  Status error(const std::string& message) const {
    return Status(Errc::parse_error, source_ + ":" + std::to_string(line_) + ": " + message);
  }
  size_t line() const { return line_; }
  const Status& status() const { return status_; }

 private:
  std::nullopt_t fail(Errc code, const std::string& message) {
    status_ = Status(code, source_ + ":" + std::to_string(line_) + ": " + message +
                               (code == Errc::parse_error
                                    ? " (at most " + std::to_string(kMerchantCsvLineBytesMax) +
                                          " bytes)"
                                    : ""));
    return std::nullopt;
  }

  std::istream& in_;
  std::string source_;
  char buffer_[kMerchantCsvLineBytesMax + 2];  // + '\r' + the terminating NUL
  size_t line_ = 0;
  Status status_;
};

struct CsvRow {
  MerchantRoute route;
  size_t line = 0;
};

Result<MerchantRoute> parse_row(const std::vector<std::string_view>& f, bool with_fence,
                                const CsvReader& reader) {
  size_t expected = with_fence ? 3 : 2;
  if (f.size() != expected)
    return reader.error("expected " + std::to_string(expected) + " fields (" +
                        (with_fence ? "merchant_id,fence_id,shard" : "merchant_id,shard") +
                        "), got " + std::to_string(f.size()));
  MerchantRoute r;
  uint64_t value = 0;
  if (!parse_decimal(f[0], std::numeric_limits<uint64_t>::max(), &r.merchant_id) ||
      r.merchant_id == 0)
    return reader.error("merchant_id '" + std::string(f[0]) + "' is not a number >= 1");
  if (with_fence) {
    if (!parse_decimal(f[1], std::numeric_limits<int32_t>::max(), &value))
      return reader.error("fence_id '" + std::string(f[1]) + "' is not a number in 0.." +
                          std::to_string(std::numeric_limits<int32_t>::max()));
    r.fence_id = static_cast<int32_t>(value);
  }
  if (!parse_decimal(f.back(), kShardIdMax, &value))
    return reader.error("shard '" + std::string(f.back()) + "' is not a number in 0.." +
                        std::to_string(kShardIdMax));
  r.shard = static_cast<ShardId>(value);
  return r;
}

Result<bool> parse_header(std::string_view line, const CsvReader& reader) {
  auto fields = split_fields(line);
  std::string joined;
  for (size_t i = 0; i < fields.size(); ++i) joined += (i ? "," : "") + std::string(fields[i]);
  if (joined == "merchant_id,shard") return false;
  if (joined == "merchant_id,fence_id,shard") return true;
  return reader.error("expected the header 'merchant_id,fence_id,shard' or 'merchant_id,shard', "
                      "got '" + std::string(line) + "'");
}

}  // namespace

MerchantMap::MerchantMap()
    : MerchantMap(std::make_shared<const Base>(), std::make_shared<const Overlay>(), 0) {}

MerchantMap::MerchantMap(std::shared_ptr<const Base> base, std::shared_ptr<const Overlay> overlay,
                         size_t size)
    : base_(std::move(base)), overlay_(std::move(overlay)), size_(size) {}

Result<MerchantMap> MerchantMap::from_entries(std::vector<MerchantRoute> entries) {
  for (const auto& r : entries) {
    Status ok = check_route(r);
    if (!ok) return ok;
  }
  std::sort(entries.begin(), entries.end(), by_id);
  auto dup = std::adjacent_find(entries.begin(), entries.end(),
                                [](const auto& a, const auto& b) { return a.merchant_id == b.merchant_id; });
  if (dup != entries.end())
    return Status(Errc::invalid_argument,
                  "merchant " + std::to_string(dup->merchant_id) + " is listed twice");
  size_t size = entries.size();
  return MerchantMap(std::make_shared<const Base>(std::move(entries)),
                     std::make_shared<const Overlay>(), size);
}

Result<MerchantMap> MerchantMap::parse_csv(std::istream& in, const std::string& source) {
  CsvReader reader(in, source);
  std::optional<bool> with_fence;
  std::vector<CsvRow> rows;
  while (auto line = reader.next()) {
    std::string_view text = trim(*line);
    if (text.empty() || text.front() == '#') continue;
    if (!with_fence) {
      auto header = parse_header(text, reader);
      if (!header.ok()) return header.status();
      with_fence = *header;
      continue;
    }
    auto route = parse_row(split_fields(text), *with_fence, reader);
    if (!route.ok()) return route.status();
    rows.push_back({*route, reader.line()});
  }
  if (!reader.status().is_ok()) return reader.status();
  if (!with_fence)
    return Status(Errc::parse_error, source + ": no header line; the first line must be "
                                              "'merchant_id,fence_id,shard' or 'merchant_id,shard'");
  std::stable_sort(rows.begin(), rows.end(),
                   [](const CsvRow& a, const CsvRow& b) { return by_id(a.route, b.route); });
  std::vector<MerchantRoute> entries;
  entries.reserve(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i > 0 && rows[i - 1].route.merchant_id == rows[i].route.merchant_id)
      return Status(Errc::parse_error,
                    source + ":" + std::to_string(rows[i].line) + ": merchant " +
                        std::to_string(rows[i].route.merchant_id) + " appears on lines " +
                        std::to_string(rows[i - 1].line) + " and " + std::to_string(rows[i].line));
    entries.push_back(rows[i].route);
  }
  size_t size = entries.size();
  return MerchantMap(std::make_shared<const Base>(std::move(entries)),
                     std::make_shared<const Overlay>(), size);
}

Result<MerchantMap> MerchantMap::load_csv(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status(Errc::not_found, "cannot open merchant map '" + path + "': " + std::strerror(errno));
  return parse_csv(in, path);
}

std::optional<MerchantRoute> MerchantMap::find(uint64_t merchant_id) const {
  auto o = std::lower_bound(overlay_->begin(), overlay_->end(), merchant_id,
                            [](const Change& c, uint64_t id) { return c.route.merchant_id < id; });
  if (o != overlay_->end() && o->route.merchant_id == merchant_id)
    return o->removed ? std::nullopt : std::optional<MerchantRoute>(o->route);
  auto b = std::lower_bound(base_->begin(), base_->end(), merchant_id,
                            [](const MerchantRoute& r, uint64_t id) { return r.merchant_id < id; });
  if (b != base_->end() && b->merchant_id == merchant_id) return *b;
  return std::nullopt;
}

Result<MerchantMap> MerchantMap::with_update(const MerchantRoute& route) const {
  Status ok = check_route(route);
  if (!ok) return ok;
  return with_change({route, false}, find(route.merchant_id).has_value());
}

Result<MerchantMap> MerchantMap::without(uint64_t merchant_id) const {
  if (!find(merchant_id))
    return Status(Errc::not_found, "merchant " + std::to_string(merchant_id) + " is not in the map");
  MerchantRoute route;
  route.merchant_id = merchant_id;
  return with_change({route, true}, true);
}

MerchantMap MerchantMap::with_change(const Change& change, bool existed) const {
  size_t size = size_;
  if (change.removed) --size;
  else if (!existed) ++size;
  auto overlay = std::make_shared<Overlay>(*overlay_);
  auto it = std::lower_bound(overlay->begin(), overlay->end(), change.route.merchant_id,
                             [](const Change& c, uint64_t id) { return c.route.merchant_id < id; });
  if (it != overlay->end() && it->route.merchant_id == change.route.merchant_id) *it = change;
  else overlay->insert(it, change);
  MerchantMap next(base_, std::move(overlay), size);
  if (next.overlay_->size() < kMerchantOverlayMax) return next;
  // Fold: one O(n) merge every kMerchantOverlayMax updates keeps lookups at
  // two short binary searches and updates at O(overlay) amortised.
  return MerchantMap(std::make_shared<const Base>(next.entries()),
                     std::make_shared<const Overlay>(), size);
}

std::vector<MerchantRoute> MerchantMap::entries() const {
  std::vector<MerchantRoute> out;
  out.reserve(size_);
  auto b = base_->begin();
  for (const Change& c : *overlay_) {
    for (; b != base_->end() && b->merchant_id < c.route.merchant_id; ++b) out.push_back(*b);
    if (b != base_->end() && b->merchant_id == c.route.merchant_id) ++b;  // overridden
    if (!c.removed) out.push_back(c.route);
  }
  out.insert(out.end(), b, base_->end());
  return out;
}

}  // namespace ezone
