// Loopback ports chosen at run time, so tests never collide on fixed ports.
#pragma once

#include <cstdint>

namespace ezone::test {

// A loopback port that could be bound a moment ago: below the kernel's
// ephemeral range (so no outgoing connection takes it before the caller
// binds it), from a slice of that range chosen by the process id (so test
// processes that run side by side rarely draw the same port), else any
// port the kernel picks. One process never gets the same port twice.
// Another process may still bind the port first, so callers that can
// retry with a new port should. Aborts if no socket can be bound at all
// (the test machine is broken).
uint16_t free_loopback_port();

}  // namespace ezone::test
