// `ezctl locate KEY` (geo=LAT,LON, merchant=ID or order=ID) and
// `ezctl locate --file F`: who owns this key? Fence, shard, owner, state and
// epoch, from the node's current snapshot.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tools/ezctl/options.hpp"

namespace ezctl {

int run_locate(const Options& options);

// One readable line for one answer of /admin/v1/locate.
std::string format_location(const nlohmann::json& answer);

}  // namespace ezctl
