// `ezctl soa`: the SOA proxy as this node sees it (GET /admin/v1/soa): each
// service with its mode and fallback, and each instance, in every zone,
// with its health (up or DOWN, since when, failures in a row, last error)
// and the calls this node sent it. `ezctl soa register` keeps an instance
// registered with the node until it is stopped (SIGINT, SIGTERM), then
// deregisters it: a sidecar for a service that cannot register itself
// (actors/soa/soa_registrant.hpp). `ezctl soa deregister LEASE` ends a
// registration.
#pragma once

#include <string>

#include "tools/ezctl/options.hpp"

namespace ezctl {

// Returns the process exit code: 0 ok, 1 unreachable or bad answer.
int run_soa(const Options& options);

// The readable table for a /admin/v1/soa document at wall time now_ms;
// empty on a document of another shape.
std::string format_soa_table(const std::string& soa_json, int64_t now_ms);

}  // namespace ezctl
