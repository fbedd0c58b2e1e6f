#include "nmt/core/utf8.h"

#include <gtest/gtest.h>

namespace revnmt {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, AcceptsValidText) {
  for (const std::string text :
       {"", "plain ascii", "Mädchen läuft", "\xE2\x82\xAC 5", "emoji \xF0\x9F\x98\x80",
        "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF", "\xEE\x80\x80"}) {
    EXPECT_EQ(find_utf8_problem(text).kind, Utf8Problem::none) << text;
  }
}

TEST(Utf8, FindsFirstProblemAndItsOffset) {
  struct Case {
    std::string text;
    Utf8Problem::Kind kind;
    size_t offset;
  };
  const Case cases[] = {
      {"ab\xFF", Utf8Problem::invalid, 2},
      {"a\xC3(", Utf8Problem::invalid, 1},            // missing continuation
      {"\xC0\xAF", Utf8Problem::invalid, 0},          // overlong '/'
      {"xy\xE0\x80\x80", Utf8Problem::invalid, 2},    // overlong 3-byte
      {"\xED\xA0\x80", Utf8Problem::invalid, 0},      // surrogate U+D800
      {"\xF4\x90\x80\x80", Utf8Problem::invalid, 0},  // above U+10FFFF
      {"ok \xE2\x82", Utf8Problem::invalid, 3},       // truncated at the end
      {"\x80", Utf8Problem::invalid, 0},              // lone continuation
      {std::string("ab\0c", 4), Utf8Problem::nul, 2},
  };
  for (const auto& c : cases) {
    const Utf8Problem p = find_utf8_problem(c.text);
    EXPECT_EQ(p.kind, c.kind) << c.text;
    EXPECT_EQ(p.offset, c.offset) << c.text;
  }
}

TEST(Utf8, RepairReplacesMaximalSubparts) {
  struct Case {
    std::string in, out;
    int64_t count;
  };
  const Case cases[] = {
      {"clean", "clean", 0},
      {"a\xFF"
       "b",
       "a" + kFffd + "b", 1},
      {"\xE2\x82 x", kFffd + " x", 1},                 // one truncated sequence, one U+FFFD
      {"\xED\xA0\x80", kFffd + kFffd + kFffd, 3},      // surrogate: each byte
      {"\xC0\xAF", kFffd + kFffd, 2},                  // overlong: each byte
      {"end \xF0\x9F\x98", "end " + kFffd, 1},         // truncated 4-byte at the end
      {std::string("a\0b", 3), "a" + kFffd + "b", 1},  // NUL
      {"\xC3\xA4\xFF\xC3\xA4", "\xC3\xA4" + kFffd + "\xC3\xA4", 1},
  };
  for (const auto& c : cases) {
    std::string text = c.in;
    EXPECT_EQ(repair_utf8(text), c.count) << c.in;
    EXPECT_EQ(text, c.out) << c.in;
    EXPECT_EQ(find_utf8_problem(text).kind, Utf8Problem::none);
  }
}

TEST(Utf8, LengthAndTrim) {
  EXPECT_EQ(utf8_length("Mädchen \xF0\x9F\x98\x80"), 9u);
  EXPECT_EQ(trim_ascii_space(" \t a b \r\n"), "a b");
  EXPECT_EQ(trim_ascii_space(" \t\r "), "");
}

}  // namespace
}  // namespace revnmt
