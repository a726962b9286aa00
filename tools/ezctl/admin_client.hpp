// A call to a node's admin API from ezctl: one HTTP exchange with a bounded
// timeout, the answer parsed as JSON.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.hpp"
#include "tools/ezctl/options.hpp"

namespace ezctl {

struct AdminReply {
  int status = 0;
  nlohmann::json body;  // the parsed answer; {"error": ...} for 4xx/5xx
};

// Returns unavailable/timeout ("cannot reach node ...") when the node does not
// answer, parse_error when the answer is not JSON. A non-2xx status is not
// an error here: the caller prints body["error"].
ezone::Result<AdminReply> admin_call(const Options& options, const std::string& method,
                                     const std::string& target, const std::string& body = "");

// Prints "ezctl: <what>: <error>" to stderr and returns exit code 1.
int fail(const std::string& what, const std::string& error);
// The error text of a non-2xx reply.
std::string reply_error(const AdminReply& reply);

// The admin addresses of the --node and of every peer it lists (GET
// /admin/v1/cluster), as (ezone, HOST:PORT), the node first.
// invalid_argument naming a peer without an admin address in its config.
ezone::Result<std::vector<std::pair<std::string, std::string>>> cluster_admins(const Options& options);

// "a,b,,c" -> {"a", "b", "c"}.
std::vector<std::string> split_commas(const std::string& text);

// Wall-clock milliseconds now, and a short "how long ago" ("12s", "5m",
// "3h"; "-" for 0) for tables.
int64_t now_ms();
std::string ago(int64_t since_ms, int64_t now_ms);

}  // namespace ezctl
