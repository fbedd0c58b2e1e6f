// The JSON reader behind `revnmt report`: values, escapes, and errors that name the place.

#include "nmt/report/json.h"

#include <gtest/gtest.h>

#include <cmath>

#include "nmt/core/error.h"

namespace revnmt::report {
namespace {

TEST(Json, ParsesEveryKindOfValue) {
  const JsonValue v = parse_json(
      R"( {"a": 1, "b": -2.5e3, "c": "x", "d": true, "e": false, "f": null,
            "g": [1, [2], {}], "h": {"i": 0.125}} )",
      "test");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.number_at("a"), 1.0);
  EXPECT_EQ(v.number_at("b"), -2500.0);
  EXPECT_EQ(v.string_at("c"), "x");
  EXPECT_TRUE(v.find("d")->boolean());
  EXPECT_FALSE(v.find("e")->boolean());
  EXPECT_TRUE(v.find("f")->is_null());
  EXPECT_FALSE(v.number_at("f").has_value());  // null is not a number
  ASSERT_EQ(v.find("g")->items().size(), 3u);
  EXPECT_TRUE(v.find("g")->items()[1].is_array());
  EXPECT_EQ(v.find("h")->number_at("i"), 0.125);
  EXPECT_EQ(v.find("missing"), nullptr);
  EXPECT_EQ(v.string_at("a", "fallback"), "fallback");  // a number is not a string
}

TEST(Json, DecodesEscapes) {
  const JsonValue v =
      parse_json(R"(["a\"b\\c\/d\n\t", "\u00e9\u20ac", "\ud83d\ude00", "\ud800"])", "test");
  EXPECT_EQ(v.items()[0].string(), "a\"b\\c/d\n\t");
  EXPECT_EQ(v.items()[1].string(), "\xC3\xA9\xE2\x82\xAC");  // é€
  EXPECT_EQ(v.items()[2].string(), "\xF0\x9F\x98\x80");      // U+1F600 from a pair
  EXPECT_EQ(v.items()[3].string(), "\xEF\xBF\xBD");          // a lone surrogate
}

TEST(Json, LastRepeatedMemberWins) {
  EXPECT_EQ(parse_json(R"({"a": 1, "a": 2})", "t").number_at("a"), 2.0);
}

TEST(Json, ErrorsNameTheSourceLineAndColumn) {
  auto message = [](const std::string& text) {
    try {
      parse_json(text, "metrics.jsonl:7");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(message("{\"a\": 1,\n  \"b\" 2}"),
            "metrics.jsonl:7:2:7: invalid JSON: expected ':' after a member name");
  EXPECT_NE(message("{\"a\": 1").find("unexpected end of input in an object"), std::string::npos);
  EXPECT_NE(message("[1, 2").find("unexpected end of input"), std::string::npos);
  EXPECT_NE(message("{\"a\": 01}").find("expected ',' or '}'"), std::string::npos);
  EXPECT_NE(message("\"tab\there\"").find("control character"), std::string::npos);
  EXPECT_NE(message("\"\\q\"").find("unknown escape"), std::string::npos);
  EXPECT_NE(message("{} x").find("unexpected text after the JSON value"), std::string::npos);
  EXPECT_NE(message("").find("unexpected end of input"), std::string::npos);
  EXPECT_NE(message("nul").find("expected a value"), std::string::npos);
  EXPECT_NE(message("1.").find("expected digits after '.'"), std::string::npos);
  EXPECT_NE(message(std::string(1000, '[')).find("nested too deeply"), std::string::npos);
}

TEST(Json, HugeNumbersBecomeInfinite) {
  EXPECT_TRUE(std::isinf(parse_json("1e999", "t").number()));
}

}  // namespace
}  // namespace revnmt::report
