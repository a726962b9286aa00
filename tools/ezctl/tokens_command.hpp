// `ezctl tokens reload [--all]`: asks a node to re-read its token files
// (POST /admin/v1/tokens/reload, actors/node/admin_tokens.hpp), or with
// --all that node and every peer it lists with an admin address
// (GET /admin/v1/cluster), one step of a token rotation in one command.
// Prints each node's outcome per token (or the answers as JSON with
// --json). Exit 1 when a node cannot be reached or a token file could not
// be used; the nodes that did reload keep their new tokens.
#pragma once

#include "tools/ezctl/options.hpp"

namespace ezctl {

int run_tokens(const Options& options);

}  // namespace ezctl
