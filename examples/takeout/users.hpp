// POST /v1/users: registering a user. Users live in a global-zone table, so
// every registration is served at the table's master ezone (the router
// forwards it there from anywhere) and replicated to the other sites.
//
//   body {"phone": "+86 138 0000 0000", "name": "Li Lei"}
//   201  {"id": N, "phone": ..., "name": ..., "created_ms": T, "served_by": EZONE}
//   409  {"error": "phone P is already registered"}
//   400  a malformed body (counted per endpoint)
//
// Ids come from the users table's INTEGER PRIMARY KEY at the master: only the
// master writes the table, so they are unique without coordination. (After
// a master change the new master continues from the largest id it has
// applied; ids are unique only if it had applied all of the old master's.)
#pragma once

#include <memory>
#include <string>

#include "actors/router/endpoint.hpp"
#include "examples/takeout/service.hpp"

namespace ezone::takeout {

constexpr size_t kPhoneBytesMax = 32;
constexpr size_t kNameBytesMax = 100;

// master: the users table's master ezone (from the DAL's schema).
Endpoint create_user_endpoint(std::shared_ptr<const Service> service, const std::string& master);

}  // namespace ezone::takeout
