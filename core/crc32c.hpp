// CRC-32C (Castagnoli, the checksum of iSCSI, ext4 and LevelDB): guards
// replicated bytes against corruption on disk, in memory and on the wire.
// On x86-64 with SSE4.2 it uses the crc32 instruction; elsewhere a table,
// eight bytes per step.
#pragma once

#include <cstdint>
#include <string_view>

namespace ezone {

// The CRC-32C of data, continuing from crc (the CRC of the bytes before it;
// 0 to start): crc32c(b, crc32c(a)) == crc32c(a + b).
uint32_t crc32c(std::string_view data, uint32_t crc = 0);
// The table version alone (the fallback), for tests on a machine that has
// the instruction.
uint32_t crc32c_portable(std::string_view data, uint32_t crc = 0);

}  // namespace ezone
