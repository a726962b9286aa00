// `ezctl status`: reads GET /admin/v1/cluster from a node and prints it as a
// table (or the JSON itself with --json), then the node's live incident
// grade (GET /admin/v1/incident) and its row cache (GET /admin/v1/cache).
#pragma once

#include <string>

#include "tools/ezctl/options.hpp"

namespace ezctl {

// Returns the process exit code: 0 ok, 1 unreachable or bad answer.
int run_status(const Options& options);

// The readable table for a /admin/v1/cluster document; empty on bad JSON.
std::string format_status_table(const std::string& cluster_json);

// The incident line for a /admin/v1/incident document; empty on bad JSON.
std::string format_incident_line(const std::string& incident_json);

// The row-cache line for a /admin/v1/cache document; empty on bad JSON.
std::string format_cache_line(const std::string& cache_json);

}  // namespace ezctl
