#include "core/json.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace ezone {
namespace {

std::string nested_arrays(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

}  // namespace

TEST(Json, ParsesOrdinaryDocuments) {
  auto j = parse_json(R"({"a": [1, {"b": "x[{"}], "c": null})");
  ASSERT_TRUE(j.ok()) << j.status().to_string();
  EXPECT_EQ((*j)["a"][1]["b"], "x[{");
}

TEST(Json, DepthCountsBracketsOutsideStringsOnly) {
  EXPECT_EQ(json_too_deep_at(nested_arrays(64)), std::string_view::npos);
  EXPECT_EQ(json_too_deep_at(nested_arrays(65)), 64u);
  EXPECT_EQ(json_too_deep_at("[[[", 2), 2u);
  // Brackets in strings, and escaped quotes inside them, do not count.
  const std::string in_string = "[\"" + std::string(100, '[') + "\\\"" + std::string(100, '{') + "\"]";
  EXPECT_EQ(json_too_deep_at(in_string, 2), std::string_view::npos);
  EXPECT_TRUE(parse_json(in_string).ok());
  // Siblings do not add up: depth is the nesting, not the count.
  std::string siblings = "[";
  for (int i = 0; i < 1000; ++i) siblings += "[[]],";
  siblings += "[]]";
  EXPECT_EQ(json_too_deep_at(siblings, 3), std::string_view::npos);
}

// Regression: a 1 MiB body of nested arrays parsed, then overflowed the
// stack of the thread that copied or quoted it (dump() recurses per level),
// killing ezoned from a single HTTP request.
TEST(Json, RefusesDeepNestingWithAClearErrorInsteadOfParsingIt) {
  for (const std::string& text : {nested_arrays(500000), "{\"phone\":" + nested_arrays(500000) + "}",
                                   std::string(500000, '{')}) {
    auto j = parse_json(text);
    ASSERT_FALSE(j.ok());
    EXPECT_EQ(j.status().code(), Errc::parse_error);
    EXPECT_NE(j.status().message().find("nested deeper than 64 levels at byte"), std::string::npos)
        << j.status().message();
    EXPECT_TRUE(parse_json_or_discarded(text).is_discarded());
  }
}

TEST(Json, MalformedTextGetsNlohmannsPositionWithoutItsExceptionId) {
  for (const char* text : {"", "{", "{\"a\":}", "[1,]", "nul", "\"unterminated", "{} {}"}) {
    auto j = parse_json(text);
    ASSERT_FALSE(j.ok()) << text;
    EXPECT_EQ(j.status().code(), Errc::parse_error);
    EXPECT_EQ(j.status().message().find("[json.exception"), std::string::npos) << j.status().message();
    EXPECT_NE(j.status().message().find("parse error"), std::string::npos) << j.status().message();
    EXPECT_TRUE(parse_json_or_discarded(text).is_discarded()) << text;
  }
}

}  // namespace ezone
