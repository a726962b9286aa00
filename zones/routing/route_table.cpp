#include "zones/routing/route_table.hpp"

#include <algorithm>
#include <limits>
#include <set>

namespace ezone {
namespace {

// Shard names appear in `ezctl move --shards a,b`, URLs and metric labels, so
// they avoid commas, spaces and quotes; a letter is required so that a name
// can never be mistaken for a shard id.
bool valid_shard_name(const std::string& name) {
  if (name.empty() || name.size() > kShardNameBytesMax) return false;
  bool letter = false;
  for (char c : name) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    bool other = (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    if (!alpha && !other) return false;
    letter = letter || alpha;
  }
  return letter;
}

std::string shard_label(const ShardRoute& route) {
  return "shard " + std::to_string(route.shard) + " (" + route.name + ")";
}

Status invalid(std::string message) { return Status(Errc::invalid_argument, std::move(message)); }

Status validate_sites(const std::map<std::string, HostPort>& sites) {
  if (sites.empty()) return invalid("the route table has no ezones");
  if (sites.size() > kEzonesMax)
    return invalid("the route table has " + std::to_string(sites.size()) +
                   " ezones; at most " + std::to_string(kEzonesMax) + " are allowed");
  for (const auto& [name, site] : sites) {
    if (!valid_ezone_name(name))
      return invalid("ezone '" + name + "' is not a valid name (1-32 of a-z, 0-9, '-', '_')");
    // The address is where other sites forward requests: it must be
    // concrete, so re-parsing its text applies the config's rules.
    auto parsed = parse_host_port(site.to_string());
    if (!parsed.ok() || is_wildcard_host(site.host))
      return invalid("ezone '" + name + "' has site address '" + site.to_string() +
                     "', which is not a concrete host:port");
  }
  return Status::ok();
}

Status validate_shard(const ShardRoute& route, const std::map<std::string, HostPort>& sites) {
  if (route.shard > kShardIdMax)
    return invalid("shard " + std::to_string(route.shard) + " is above the largest shard id " +
                   std::to_string(kShardIdMax));
  if (!valid_shard_name(route.name))
    return invalid("shard " + std::to_string(route.shard) + " has name '" + route.name +
                   "'; use 1-64 of A-Z, a-z, 0-9, '_', '-', '.' with at least one letter");
  if (sites.count(route.owner) == 0)
    return invalid(shard_label(route) + " is owned by '" + route.owner +
                   "', which is not an ezone of the table");
  return Status::ok();
}

Result<Epoch> next_epoch(const RouteTable& table) {
  if (table.epoch() == std::numeric_limits<Epoch>::max())
    return Status(Errc::internal, "route table epoch cannot grow past its maximum");
  return table.epoch() + 1;
}

// The shared part of every shard change: the list's rules, then `edit` on a
// copy of each listed shard, then a new validated table at epoch + 1.
template <class Edit>
Result<RouteTable> change_shards(const RouteTable& table, const std::vector<ShardId>& shards,
                                 Edit edit) {
  if (shards.empty()) return invalid("no shards given to change");
  auto epoch = next_epoch(table);
  if (!epoch.ok()) return epoch.status();
  std::vector<ShardRoute> next = table.shards();
  std::set<ShardId> seen;
  for (ShardId id : shards) {
    if (!seen.insert(id).second) return invalid("shard " + std::to_string(id) + " is listed twice");
    const ShardRoute* current = table.find(id);
    if (current == nullptr)
      return invalid("shard " + std::to_string(id) + " is not in the route table (epoch " +
                     std::to_string(table.epoch()) + ")");
    auto it = std::lower_bound(next.begin(), next.end(), id,
                               [](const ShardRoute& r, ShardId s) { return r.shard < s; });
    Status edited = edit(*it);
    if (!edited) return edited;
  }
  return RouteTable::create(*epoch, std::move(next), table.sites());
}

}  // namespace

const char* shard_state_name(ShardState state) {
  switch (state) {
    case ShardState::active: return "active";
    case ShardState::write_forbidden: return "write-forbidden";
  }
  return "unknown";
}

Result<ShardState> parse_shard_state(const std::string& text) {
  if (text == "active") return ShardState::active;
  if (text == "write-forbidden") return ShardState::write_forbidden;
  return invalid("'" + text + "' is not a shard state; use 'active' or 'write-forbidden'");
}

Result<RouteTable> RouteTable::create(Epoch epoch, std::vector<ShardRoute> shards,
                                      std::map<std::string, HostPort> sites) {
  RouteTable table;
  table.epoch_ = epoch;
  table.sites_ = std::move(sites);
  std::stable_sort(shards.begin(), shards.end(),
                   [](const ShardRoute& a, const ShardRoute& b) { return a.shard < b.shard; });
  table.shards_ = std::move(shards);
  Status valid = table.validate();
  if (!valid) return valid;
  table.build_index();
  return table;
}

Status RouteTable::validate() const {
  if (epoch_ < 1)
    return invalid("route table epoch is " + std::to_string(epoch_) + "; epochs start at 1");
  Status sites = validate_sites(sites_);
  if (!sites) return sites;
  if (shards_.empty()) return invalid("the route table has no shards");
  std::set<std::string> names;
  for (size_t i = 0; i < shards_.size(); ++i) {
    const ShardRoute& route = shards_[i];
    if (i > 0 && shards_[i - 1].shard >= route.shard)
      return invalid("shard " + std::to_string(route.shard) + " is listed twice");
    Status shard = validate_shard(route, sites_);
    if (!shard) return shard;
    if (!names.insert(route.name).second)
      return invalid("shard name '" + route.name + "' is used by more than one shard");
  }
  return Status::ok();
}

void RouteTable::build_index() {
  slot_.fill(0);
  by_name_.clear();
  for (size_t i = 0; i < shards_.size(); ++i) {
    slot_[shards_[i].shard] = static_cast<uint16_t>(i + 1);
    by_name_.emplace(shards_[i].name, shards_[i].shard);
  }
}

const ShardRoute* RouteTable::find(ShardId shard) const {
  if (shard > kShardIdMax) return nullptr;
  uint16_t slot = slot_[shard];
  return slot == 0 ? nullptr : &shards_[slot - 1];
}

const ShardRoute* RouteTable::find_by_name(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : find(it->second);
}

const HostPort* RouteTable::site(const std::string& ezone) const {
  auto it = sites_.find(ezone);
  return it == sites_.end() ? nullptr : &it->second;
}

Result<ShardId> RouteTable::find_shard(const std::string& text) const {
  if (const ShardRoute* r = find_by_name(text)) return r->shard;
  uint64_t id = 0;
  bool digits = !text.empty() && text.size() <= 5;
  for (char c : text) {
    digits = digits && c >= '0' && c <= '9';
    id = id * 10 + static_cast<uint64_t>(c - '0');
  }
  if (digits && id <= kShardIdMax && find(static_cast<ShardId>(id))) return static_cast<ShardId>(id);
  return Status(Errc::invalid_argument, "unknown shard '" + text + "' (give a shard name or id from `ezctl routes`)");
}

std::vector<ShardId> RouteTable::shards_owned_by(const std::string& ezone) const {
  std::vector<ShardId> out;
  for (const auto& route : shards_)
    if (route.owner == ezone) out.push_back(route.shard);
  return out;
}

Result<RouteTable> move_shards(const RouteTable& table, const std::vector<ShardId>& shards,
                               const std::string& to, std::optional<ShardState> state_after) {
  if (!table.has_ezone(to))
    return invalid("ezone '" + to + "' is not in the route table (epoch " +
                   std::to_string(table.epoch()) + ")");
  return change_shards(table, shards, [&](ShardRoute& route) -> Status {
    if (route.owner == to)
      return Status(Errc::conflict, shard_label(route) + " is already owned by " + to +
                                        " at epoch " + std::to_string(table.epoch()));
    route.owner = to;
    if (state_after) route.state = *state_after;
    return Status::ok();
  });
}

Result<RouteTable> set_shard_state(const RouteTable& table, const std::vector<ShardId>& shards,
                                   ShardState state) {
  return change_shards(table, shards, [&](ShardRoute& route) -> Status {
    if (route.state == state)
      return Status(Errc::conflict, shard_label(route) + " is already " +
                                        shard_state_name(state) + " at epoch " +
                                        std::to_string(table.epoch()));
    route.state = state;
    return Status::ok();
  });
}

Result<RouteTable> set_site(const RouteTable& table, const std::string& ezone,
                            const HostPort& site) {
  const HostPort* current = table.site(ezone);
  if (current != nullptr && *current == site)
    return Status(Errc::conflict, "ezone '" + ezone + "' already has site " + site.to_string() +
                                      " at epoch " + std::to_string(table.epoch()));
  auto epoch = next_epoch(table);
  if (!epoch.ok()) return epoch.status();
  auto sites = table.sites();
  sites[ezone] = site;
  return RouteTable::create(*epoch, table.shards(), std::move(sites));
}

std::shared_ptr<const RouteTable> RouteTableHolder::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return table_;
}

Epoch RouteTableHolder::epoch() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return table_ ? table_->epoch() : 0;
}

bool RouteTableHolder::install(std::shared_ptr<const RouteTable> table) {
  // The old table may be the last reference; release it after unlocking so
  // a reader never waits for a 1024-shard destructor.
  std::shared_ptr<const RouteTable> old;
  std::lock_guard<std::mutex> lock(mutex_);
  if (!table || (table_ && table->epoch() <= table_->epoch())) {
    ++refused_;
    return false;
  }
  old = std::move(table_);
  table_ = std::move(table);
  return true;
}

uint64_t RouteTableHolder::refused_count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return refused_;
}

}  // namespace ezone
