#include "core/crc32c.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ezone {
namespace {

// Check values from RFC 3720 (iSCSI), appendix B.4, and the usual "123456789".
TEST(Crc32c, KnownValues) {
  EXPECT_EQ(crc32c(""), 0u);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending += static_cast<char>(i);
    descending += static_cast<char>(31 - i);
  }
  EXPECT_EQ(crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(crc32c(descending), 0x113FDB5Cu);
}

TEST(Crc32c, ContinuesAcrossPiecesAtEveryOffsetAndAlignment) {
  std::string data;
  for (int i = 0; i < 300; ++i) data += static_cast<char>((i * 131 + 7) & 0xff);
  const uint32_t whole = crc32c(data);
  EXPECT_EQ(crc32c_portable(data), whole);
  EXPECT_EQ(crc32c_portable("123456789"), 0xE3069283u);
  for (size_t cut = 0; cut <= data.size(); ++cut) {
    const std::string_view v(data);
    EXPECT_EQ(crc32c(v.substr(cut), crc32c(v.substr(0, cut))), whole) << cut;
    EXPECT_EQ(crc32c(v.substr(cut)), crc32c_portable(v.substr(cut))) << cut;
  }
  // One flipped bit anywhere changes it.
  for (size_t at = 0; at < data.size(); ++at) {
    std::string flipped = data;
    flipped[at] = static_cast<char>(flipped[at] ^ 0x04);
    EXPECT_NE(crc32c(flipped), whole) << at;
  }
}

}  // namespace
}  // namespace ezone
