#pragma once
// Text primitives with Python's semantics, because sacreBLEU's scores are defined by Python
// string operations: str.split() / str.rstrip() split and strip on Unicode whitespace (not just
// ASCII), str.lower() is the full Unicode lowercase mapping (İ -> i + U+0307, and Σ becomes ς at
// the end of a word). We decode UTF-8 ourselves; a byte that does not start a well-formed UTF-8
// sequence stands for U+FFFD, so malformed input is scored, never a crash.

#include <string>
#include <string_view>
#include <vector>

#include "nmt/core/utf8.h"  // append_utf8
#include "nmt/eval/unicode_tables.h"

namespace revnmt::eval {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the code point at `p` (p < end). Returns the number of bytes it used: the length of a
// well-formed sequence, or 1 for an invalid byte, in which case `cp` is U+FFFD.
size_t decode_utf8_char(const char* p, const char* end, char32_t& cp);

std::u32string decode_utf8(std::string_view bytes);
std::string encode_utf8(std::u32string_view code_points);

bool is_valid_utf8(std::string_view bytes);
// `bytes` with every invalid byte replaced by U+FFFD (EF BF BD).
std::string sanitize_utf8(std::string_view bytes);

unicode_tables::CharClass char_class(char32_t cp);
inline bool is_punctuation(char32_t cp) {
  return char_class(cp) == unicode_tables::CharClass::kPunctuation;
}
inline bool is_symbol(char32_t cp) { return char_class(cp) == unicode_tables::CharClass::kSymbol; }
inline bool is_number(char32_t cp) { return char_class(cp) == unicode_tables::CharClass::kNumber; }

// Python's str.isspace() for one code point.
bool is_space(char32_t cp);

// Python's str.split() (no arguments) on valid UTF-8: the views point into `text`.
std::vector<std::string_view> split_whitespace(std::string_view text);
// Python's str.rstrip() (no arguments) on valid UTF-8.
std::string_view rstrip_whitespace(std::string_view text);
// Python's ' '.join(text.split()).
std::string normalize_whitespace(std::string_view text);

// Python's str.lower().
std::u32string lowercase(std::u32string_view text);
// Python's str.lower() on UTF-8 (invalid bytes become U+FFFD).
std::string lowercase(std::string_view text);

}  // namespace revnmt::eval
