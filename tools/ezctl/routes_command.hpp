// `ezctl routes` shows the route table a node holds; `ezctl move` makes a
// raw route change through the node (an epoch compare-and-swap in etcd).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "tools/ezctl/options.hpp"

namespace ezctl {

int run_routes(const Options& options);
int run_move(const Options& options);

// The readable table of a route-table JSON document; empty if malformed.
std::string format_routes_table(const nlohmann::json& table);

}  // namespace ezctl
