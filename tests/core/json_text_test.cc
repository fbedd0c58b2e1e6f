#include "nmt/core/json_text.h"

#include <gtest/gtest.h>

#include <string>

namespace revnmt {
namespace {

// The expected literals are what Python's json.dumps(text, ensure_ascii=False) prints.
TEST(JsonText, EscapesAsPythonJsonDumps) {
  EXPECT_EQ(json_string(""), "\"\"");
  EXPECT_EQ(json_string("plain text"), "\"plain text\"");
  EXPECT_EQ(json_string("a\"b\\c\n\r\t\b\f"), "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(json_string("\x01\x1f"), "\"\\u0001\\u001f\"");
  // DEL, '/' and UTF-8 pass through unchanged.
  EXPECT_EQ(json_string("\x7f/\xc3\xa9\xe2\x82\xac"), "\"\x7f/\xc3\xa9\xe2\x82\xac\"");
}

TEST(JsonText, KeepsEmbeddedNulBytesEscaped) {
  EXPECT_EQ(json_string(std::string("a\0b", 3)), "\"a\\u0000b\"");
}

}  // namespace
}  // namespace revnmt
