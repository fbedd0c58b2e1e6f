#include "nmt/eval/text.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "nmt/eval/tokenizer.h"
#include "tests/support/test_support.h"

namespace revnmt::eval {
namespace {

using unicode_tables::CharClass;

TEST(UnicodeText, DecodesWellFormedUtf8) {
  EXPECT_EQ(decode_utf8("a\xC3\xA4\xE4\xB8\xAD\xF0\x9F\x98\x80"),
            (std::u32string{U'a', 0xE4, 0x4E2D, 0x1F600}));
  EXPECT_EQ(encode_utf8(U"a\u00E4\u4E2D\U0001F600"), "a\xC3\xA4\xE4\xB8\xAD\xF0\x9F\x98\x80");
  EXPECT_TRUE(
      is_valid_utf8("Gr\xC3\xBC\xC3\x9F"
                    "e \xF0\x9F\x91\x8D"));
}

TEST(UnicodeText, EachInvalidByteIsOneReplacementCharacter) {
  const char32_t r = kReplacementChar;
  EXPECT_EQ(decode_utf8("a\xFF"
                        "b"),
            (std::u32string{U'a', r, U'b'}));
  EXPECT_EQ(decode_utf8("\xC3"), (std::u32string{r}));  // truncated
  EXPECT_EQ(decode_utf8("\xE2\x82"
                        "x"),
            (std::u32string{r, r, U'x'}));                                   // truncated
  EXPECT_EQ(decode_utf8("\xC0\xAF"), (std::u32string{r, r}));                // overlong
  EXPECT_EQ(decode_utf8("\xE0\x80\xAF"), (std::u32string{r, r, r}));         // overlong
  EXPECT_EQ(decode_utf8("\xED\xA0\x80"), (std::u32string{r, r, r}));         // surrogate
  EXPECT_EQ(decode_utf8("\xF4\x90\x80\x80"), (std::u32string{r, r, r, r}));  // > U+10FFFF
  EXPECT_EQ(decode_utf8("\x80"
                        "a"),
            (std::u32string{r, U'a'}));  // stray continuation
  EXPECT_FALSE(is_valid_utf8("a\xFF"));
  EXPECT_EQ(sanitize_utf8("a\xFF"
                          "b\xC3"),
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
  EXPECT_EQ(sanitize_utf8("ok \xC3\xA4"), "ok \xC3\xA4");
}

TEST(UnicodeText, WhitespaceIsPythonsStrIsspace) {
  const std::vector<char32_t> spaces = {0x09,   0x0A,   0x0B,   0x0C,   0x0D,   0x1C,   0x1D,
                                        0x1E,   0x1F,   0x20,   0x85,   0xA0,   0x1680, 0x2000,
                                        0x2005, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};
  for (char32_t cp : spaces) EXPECT_TRUE(is_space(cp)) << std::hex << cp;
  for (char32_t cp : {U'a', U'_', char32_t(0x200B), char32_t(0x180E), char32_t(0xFEFF),
                      char32_t(0x00AD), char32_t(0)})
    EXPECT_FALSE(is_space(cp)) << std::hex << cp;
  EXPECT_EQ(normalize_whitespace("  a\xC2\xA0"
                                 "b\t\xE3\x80\x80"
                                 "c \xE2\x80\xA8"),
            "a b c");
  EXPECT_EQ(rstrip_whitespace("x y \r\xC2\x85\xE3\x80\x80"), "x y");
  EXPECT_EQ(rstrip_whitespace(" \t "), "");
  EXPECT_EQ(split_whitespace(""), std::vector<std::string_view>{});
}

TEST(UnicodeText, GeneralCategoryClasses) {
  EXPECT_EQ(char_class(U'!'), CharClass::kPunctuation);
  EXPECT_EQ(char_class(U'-'), CharClass::kPunctuation);
  EXPECT_EQ(char_class(0x3002), CharClass::kPunctuation);  // 。
  EXPECT_EQ(char_class(0x201E), CharClass::kPunctuation);  // „
  EXPECT_EQ(char_class(U'$'), CharClass::kSymbol);
  EXPECT_EQ(char_class(U'+'), CharClass::kSymbol);
  EXPECT_EQ(char_class(0x20AC), CharClass::kSymbol);   // €
  EXPECT_EQ(char_class(0x1F600), CharClass::kSymbol);  // 😀
  EXPECT_EQ(char_class(U'7'), CharClass::kNumber);
  EXPECT_EQ(char_class(0xBD), CharClass::kNumber);    // ½
  EXPECT_EQ(char_class(0x663), CharClass::kNumber);   // Arabic-Indic three
  EXPECT_EQ(char_class(0x216B), CharClass::kNumber);  // Ⅻ
  EXPECT_EQ(char_class(U'a'), CharClass::kOther);
  EXPECT_EQ(char_class(0x4E2D), CharClass::kOther);  // 中
  EXPECT_EQ(char_class(U' '), CharClass::kOther);
  EXPECT_EQ(char_class(0x10FFFF), CharClass::kOther);
}

TEST(UnicodeText, LowercaseIsPythonsStrLower) {
  EXPECT_EQ(lowercase(std::string("Hello WORLD 123")), "hello world 123");
  EXPECT_EQ(lowercase(std::string("ÄÖÜ ẞ Ω K")), "äöü ß ω k");  // incl. U+2126, U+212A
  EXPECT_EQ(lowercase(std::string("İ")), "i\xCC\x87");          // the one 1 -> 2 mapping
  EXPECT_EQ(lowercase(std::string("ǅ ǈ")), "ǆ ǉ");              // titlecase digraphs
  // Final sigma: after a cased letter and not before one (case-ignorable marks skipped).
  EXPECT_EQ(lowercase(std::string("ΟΔΟΣ ΣΑΣ Σ")), "οδος σας σ");
  EXPECT_EQ(lowercase(std::string("ΟΔΟΣ.")), "οδος.");
  EXPECT_EQ(lowercase(std::string("Σ.Σ AΣ'")), "σ.ς aς'");
  EXPECT_EQ(lowercase(std::string("ΑΣ'Α")), "ασ'α");  // apostrophe is case-ignorable
  EXPECT_EQ(lowercase(std::string("a\xFF"
                                  "B")),
            "a\xEF\xBF\xBD"
            "b");
}

// Escapes of tokenizer_cases.txt (see tests/fixtures/eval/make_tokenizer_cases.py).
std::string unescape(const std::string& field) {
  std::string out;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] != '\\') {
      out.push_back(field[i]);
      continue;
    }
    const char next = field.at(++i);
    if (next == 'n') {
      out.push_back('\n');
    } else if (next == 't') {
      out.push_back('\t');
    } else if (next == 'r') {
      out.push_back('\r');
    } else if (next == '\\') {
      out.push_back('\\');
    } else if (next == 'u') {
      append_utf8(static_cast<char32_t>(std::stoul(field.substr(i + 1, 4), nullptr, 16)), out);
      i += 4;
    } else {
      ADD_FAILURE() << "bad escape in fixture: " << field;
    }
  }
  return out;
}

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab - start));
    if (tab == std::string::npos) break;
    start = tab + 1;
  }
  return fields;
}

// Differential test: the hand-written scanners against Python's re/regex engines running the
// published mteval patterns, and against Python's str.lower/rstrip/split, on 700 random
// mixed-script lines (HTML entities, <skipped>, line breaks, Unicode spaces, CJK, emoji, Greek
// sigma, numbers with separators...).
TEST(TokenizerCases, MatchPythonOnRandomMixedScriptLines) {
  std::ifstream in(testing::test_data_dir() + "/eval/tokenizer_cases.txt", std::ios::binary);
  ASSERT_TRUE(in) << "missing fixture tokenizer_cases.txt";
  std::string line;
  int cases = 0;
  while (std::getline(in, line)) {
    const std::vector<std::string> fields = split_tabs(line);
    ASSERT_EQ(fields.size(), 6u) << line;
    const std::string input = unescape(fields[0]);
    EXPECT_EQ(tokenize_13a(input), unescape(fields[1])) << "13a of: " << fields[0];
    EXPECT_EQ(tokenize_intl(input), unescape(fields[2])) << "intl of: " << fields[0];
    EXPECT_EQ(lowercase(input), unescape(fields[3])) << "lower of: " << fields[0];
    EXPECT_EQ(rstrip_whitespace(input), unescape(fields[4])) << "rstrip of: " << fields[0];
    EXPECT_EQ(normalize_whitespace(input), unescape(fields[5])) << "split of: " << fields[0];
    ++cases;
  }
  EXPECT_EQ(cases, 700);
}

}  // namespace
}  // namespace revnmt::eval
