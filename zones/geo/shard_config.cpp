#include "zones/geo/shard_config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <toml++/toml.h>

namespace ezone::geo {
namespace {

constexpr size_t kShardFileBytesMax = 4 << 20;  // a shard config is a few KB

Status shard_error(const std::string& where, const std::string& problem, const std::string& fix) {
  return Status(Errc::invalid_argument, where + ": " + problem + ". Fix: " + fix);
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

Status read_string_array(const toml::node* node, const std::string& where,
                         std::vector<std::string>* out) {
  const toml::array* array = node ? node->as_array() : nullptr;
  if (!array) return shard_error(where, "must be an array of strings", "write [\"a\", \"b\"]");
  for (const toml::node& item : *array) {
    auto text = item.value<std::string>();
    if (!text || item.type() != toml::node_type::string)
      return shard_error(where, "must be an array of strings", "quote every element");
    out->push_back(*text);
  }
  return Status::ok();
}

Status read_ezones(const toml::table& root, const std::string& source, ShardConfig* c) {
  const std::string where = source + ": key 'ezones'";
  if (!root.get("ezones"))
    return shard_error(where, "missing", "list the ezones that may own shards, e.g. ezones = [\"bj\", \"sh\"]");
  if (Status s = read_string_array(root.get("ezones"), where, &c->ezones); !s) return s;
  if (c->ezones.empty()) return shard_error(where, "is empty", "name at least one ezone");
  for (const std::string& z : c->ezones)
    if (!valid_name(z)) return shard_error(where, "'" + z + "' is not a valid ezone name", "use [a-z0-9_-]");
  return Status::ok();
}

Status check_keys(const toml::table& table, const std::string& where, const std::set<std::string>& allowed) {
  for (const auto& [key, value] : table) {
    std::string k(key.str());
    if (!allowed.count(k)) {
      std::vector<std::string> names(allowed.begin(), allowed.end());
      return shard_error(where + ": key '" + k + "'", "unknown key",
                         "remove it or correct its spelling; keys allowed here: " + join(names));
    }
  }
  return Status::ok();
}

Status read_shard_id(const toml::table& t, const std::string& where, ShardSpec* s) {
  const toml::node* node = t.get("id");
  auto id = node ? node->value<int64_t>() : std::nullopt;
  if (!id || node->type() != toml::node_type::integer)
    return shard_error(where + ": key 'id'", node ? "must be an integer" : "missing",
                       "give every shard a unique id in 0.." + std::to_string(kShardIdMax));
  if (*id < 0 || *id > static_cast<int64_t>(kShardIdMax))
    return shard_error(where + ": key 'id'", std::to_string(*id) + " is out of range",
                       "use an id in 0.." + std::to_string(kShardIdMax) + " (order ids carry it in 10 bits)");
  s->id = static_cast<ShardId>(*id);
  return Status::ok();
}

Status read_text(const toml::table& t, const std::string& where, const char* key, bool required,
                 std::string* out) {
  const toml::node* node = t.get(key);
  if (!node) return required ? shard_error(where + ": key '" + key + "'", "missing", "set it") : Status::ok();
  auto text = node->value<std::string>();
  if (!text || node->type() != toml::node_type::string)
    return shard_error(where + ": key '" + key + "'", "must be a string", "quote the value");
  *out = *text;
  return Status::ok();
}

Status read_shard(const toml::table& t, const std::string& where, const ShardConfig& c, ShardSpec* s) {
  if (Status st = check_keys(t, where, {"id", "name", "owner", "prefix", "fences"}); !st) return st;
  if (Status st = read_shard_id(t, where, s); !st) return st;
  if (Status st = read_text(t, where, "name", true, &s->name); !st) return st;
  if (!valid_name(s->name))
    return shard_error(where + ": key 'name'", "'" + s->name + "' is not a valid shard name", "use [a-z0-9_-]");
  if (Status st = read_text(t, where, "owner", true, &s->owner); !st) return st;
  if (std::find(c.ezones.begin(), c.ezones.end(), s->owner) == c.ezones.end())
    return shard_error(where + ": key 'owner'", "'" + s->owner + "' is not one of the ezones [" + join(c.ezones) + "]",
                       "use one of them, or add it to ezones");
  if (Status st = read_text(t, where, "prefix", false, &s->prefix); !st) return st;
  if (t.get("fences"))
    if (Status st = read_string_array(t.get("fences"), where + ": key 'fences'", &s->fences); !st) return st;
  if (s->prefix.empty() && s->fences.empty())
    return shard_error(where, "has neither 'prefix' nor 'fences'", "say which fences form the shard");
  return Status::ok();
}

// Cross-shard rules: unique ids and names, each fence listed once, and no
// prefix that is a prefix of another (so a name matches at most one prefix).
Status check_unique(const ShardConfig& c) {
  std::map<ShardId, std::string> ids;
  std::map<std::string, std::string> names, listed;
  for (const ShardSpec& s : c.shards) {
    const std::string where = c.source + ": shard '" + s.name + "'";
    if (!ids.emplace(s.id, s.name).second)
      return shard_error(where, "id " + std::to_string(s.id) + " is also used by shard '" + ids[s.id] + "'",
                         "give every shard its own id");
    if (!names.emplace(s.name, s.name).second)
      return shard_error(where, "the name is used twice", "give every shard its own name");
    for (const std::string& f : s.fences)
      if (!listed.emplace(f, s.name).second)
        return shard_error(where, "fence '" + f + "' is also listed in shard '" + listed[f] + "'",
                           "list each fence in one shard only");
  }
  for (const ShardSpec& a : c.shards)
    for (const ShardSpec& b : c.shards)
      if (&a != &b && !a.prefix.empty() && !b.prefix.empty() && b.prefix.rfind(a.prefix, 0) == 0)
        return shard_error(c.source + ": shard '" + b.name + "'",
                           "prefix '" + b.prefix + "' starts with prefix '" + a.prefix + "' of shard '" + a.name + "'",
                           "make the prefixes distinct (end them with '_')");
  return Status::ok();
}

Status read_shards(const toml::table& root, ShardConfig* c) {
  const toml::node* node = root.get("shard");
  const toml::array* array = node ? node->as_array() : nullptr;
  if (!array || array->empty())
    return shard_error(c->source + ": key 'shard'", node ? "must be an array of tables" : "missing",
                       "add at least one [[shard]] table");
  for (size_t i = 0; i < array->size(); ++i) {
    const toml::table* t = array->get(i)->as_table();
    std::string where = c->source + ": shard[" + std::to_string(i) + "]";
    if (!t) return shard_error(where, "must be a table", "write [[shard]]");
    ShardSpec s;
    if (const toml::node* n = t->get("name"); n && n->value<std::string>())
      where += " ('" + *n->value<std::string>() + "')";
    if (Status st = read_shard(*t, where, *c, &s); !st) return st;
    c->shards.push_back(std::move(s));
  }
  return check_unique(*c);
}

}  // namespace

Result<ShardId> ShardConfig::shard_for(const std::string& fence_name) const {
  const ShardSpec* match = nullptr;
  for (const ShardSpec& s : shards) {
    bool listed = std::find(s.fences.begin(), s.fences.end(), fence_name) != s.fences.end();
    bool prefixed = !s.prefix.empty() && fence_name.rfind(s.prefix, 0) == 0;
    if (!listed && !prefixed) continue;
    if (match)
      return Status(Errc::invalid_argument,
                    "fence '" + fence_name + "' matches shards '" + match->name + "' and '" + s.name + "' in " +
                        source + ". Fix: make it match one shard only");
    match = &s;
  }
  if (!match)
    return Status(Errc::invalid_argument,
                  "fence '" + fence_name + "' belongs to no shard in " + source +
                      ". Fix: add it to a shard's 'fences', or give its group a 'prefix'");
  return match->id;
}

const ShardSpec* ShardConfig::find(ShardId id) const {
  for (const ShardSpec& s : shards)
    if (s.id == id) return &s;
  return nullptr;
}

Status ShardConfig::check_all_used(const std::vector<std::string>& fence_names) const {
  for (const ShardSpec& s : shards) {
    for (const std::string& f : s.fences)
      if (std::find(fence_names.begin(), fence_names.end(), f) == fence_names.end())
        return shard_error(source + ": shard '" + s.name + "'", "lists fence '" + f + "', which was not loaded",
                           "correct the name or add the fence file");
    if (s.prefix.empty()) continue;
    bool used = std::any_of(fence_names.begin(), fence_names.end(),
                            [&](const std::string& n) { return n.rfind(s.prefix, 0) == 0; });
    if (!used)
      return shard_error(source + ": shard '" + s.name + "'", "prefix '" + s.prefix + "' matches no loaded fence",
                         "correct the prefix or remove the shard");
  }
  return Status::ok();
}

Result<ShardConfig> parse_shard_config(const std::string& text, const std::string& source) {
  ShardConfig c;
  c.source = source;
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    return Status(Errc::parse_error, source + ": not valid TOML at " + where.str() + ": " +
                                         std::string(e.description()) + ". Fix: correct the syntax there");
  }
  if (Status s = check_keys(root, source, {"ezones", "shard"}); !s) return s;
  if (Status s = read_ezones(root, source, &c); !s) return s;
  if (Status s = read_shards(root, &c); !s) return s;
  return c;
}

Result<ShardConfig> load_shard_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return Status(Errc::not_found, path + ": cannot read the shard config (" + std::string(std::strerror(errno)) +
                                       "). Fix: point gzs.shards_file at an existing file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status(Errc::io_error, path + ": read failed");
  if (text.str().size() > kShardFileBytesMax)
    return Status(Errc::invalid_argument, path + ": larger than " + std::to_string(kShardFileBytesMax) +
                                              " bytes; is this really a shard config?");
  return parse_shard_config(text.str(), path);
}

}  // namespace ezone::geo
