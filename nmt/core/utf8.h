#pragma once
// UTF-8 validation and repair (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF). NUL is valid UTF-8 but never valid in a text line, so both functions treat it
// as a bad byte.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace revnmt {

struct Utf8Problem {
  enum Kind { none, invalid, nul };
  Kind kind = none;
  size_t offset = 0;  // 0-based byte offset of the first bad byte
};

// The first invalid sequence or NUL byte in `text`, or kind == none.
Utf8Problem find_utf8_problem(std::string_view text);

// Replaces every NUL byte and every maximal invalid subsequence (the Unicode "maximal
// subpart" practice, as in ICU and the WHATWG decoder) with U+FFFD. Returns the number of
// replacements; 0 leaves `text` untouched.
int64_t repair_utf8(std::string& text);

// Appends code point `cp` (at most U+10FFFF) to `out` as UTF-8.
void append_utf8(char32_t cp, std::string& out);

// Number of code points in valid UTF-8 text.
size_t utf8_length(std::string_view text);

// `text` without leading and trailing ASCII whitespace.
std::string_view trim_ascii_space(std::string_view text);

extern const char kReplacementCharacter[];  // U+FFFD as UTF-8 ("\xEF\xBF\xBD")

}  // namespace revnmt
