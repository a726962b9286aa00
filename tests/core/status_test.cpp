#include "core/status.hpp"

#include <gtest/gtest.h>

#include <string>
#include <type_traits>

namespace ezone {
namespace {

// `status.ok()` names the static Status::ok(): always ok. It must not be
// usable as a truth value, or EXPECT_FALSE(check(x).ok()) would compile
// and never fail (a test setup did, until this).
static_assert(!std::is_constructible_v<bool, OkStatus>, "Status::ok() must have no truth value");
static_assert(std::is_convertible_v<OkStatus, Status>, "return Status::ok(); must still work");

TEST(Result, HoldsAValueOrTheErrorItWasGiven) {
  Result<int> value = 7;
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 7);
  EXPECT_TRUE(value.status().is_ok());
  Result<int> error = Status(Errc::not_found, "no such thing");
  EXPECT_FALSE(error.ok());
  EXPECT_EQ(error.status().to_string(), "not_found: no such thing");
}

TEST(Result, BuiltFromAnOkStatusIsAnInternalErrorThatSaysSo) {
  // A caller that wrote Result<T> r = check(); (an ok Status) got a failure
  // whose message was empty.
  Result<std::string> r = Status();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::internal);
  EXPECT_NE(r.status().message().find("built from an ok Status"), std::string::npos) << r.status().to_string();
}

}  // namespace
}  // namespace ezone
