// ShardConfig: which fences form which shard, and which ezone owns each shard
// at start-up (the route table, with its epochs, is the authority after that).
//
// File format (TOML; config/shards/china-cities.toml is the full example):
//
//   ezones = ["bj", "sh"]        # every owner must be one of these
//
//   [[shard]]
//   id = 7                       # 0..1023, unique; encoded in order ids
//   name = "hebei"               # [a-z0-9_-], unique
//   owner = "bj"                 # the initial owner ezone
//   prefix = "he2_bei3_"         # fences whose name starts with this, and/or
//   fences = ["beijing"]         # fences named exactly so
//
// Rules, all checked on load with an error naming the file, the shard and the
// key: unknown keys are errors (a typo never passes silently); a shard needs
// a prefix or a non-empty fences list; no fence name is listed twice; no
// prefix is a prefix of another (so at most one prefix matches any name).
// When fences are assigned (assign below), every fence must match exactly one
// shard and every shard must match at least one fence.
#pragma once

#include <string>
#include <vector>

#include "core/ids.hpp"
#include "core/status.hpp"

namespace ezone::geo {

struct ShardSpec {
  ShardId id = 0;
  std::string name;
  std::string owner;                 // initial owner ezone
  std::string prefix;                // empty = none
  std::vector<std::string> fences;   // exact fence names
};

struct ShardConfig {
  std::string source;                // the file it came from, for messages
  std::vector<std::string> ezones;
  std::vector<ShardSpec> shards;     // in file order

  // The shard a fence belongs to. Errors (invalid_argument, naming the
  // fence and the config file): no shard matches, or two shards do.
  Result<ShardId> shard_for(const std::string& fence_name) const;
  // nullptr if no shard has that id.
  const ShardSpec* find(ShardId id) const;
  // Checks that every shard matches at least one of the names (config typos
  // would otherwise leave a shard silently empty).
  Status check_all_used(const std::vector<std::string>& fence_names) const;
};

// Parses TOML text; `source` names it in messages. Errors: parse_error for
// bad TOML, invalid_argument for a rule above, each naming file, shard and key.
Result<ShardConfig> parse_shard_config(const std::string& text, const std::string& source);

// Reads and parses a file. Errors as above, plus not_found / io_error.
Result<ShardConfig> load_shard_config(const std::string& path);

}  // namespace ezone::geo
