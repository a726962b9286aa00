// Loopback ports chosen at run time, so tests never collide on fixed ports.
#pragma once

#include <cstdint>

namespace ezone::test {

// Binds 127.0.0.1:0, reads the port the kernel picked and closes it again.
// One process never gets the same port twice. Another process may still
// grab the port before the caller binds it, so callers that start servers
// retry with a new port when binding fails. Aborts if no socket can be
// bound at all (the test machine is broken).
uint16_t free_loopback_port();

}  // namespace ezone::test
