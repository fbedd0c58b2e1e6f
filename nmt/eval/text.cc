#include "nmt/eval/text.h"

#include <algorithm>

namespace revnmt::eval {

namespace ut = unicode_tables;

namespace {

inline bool is_continuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// Binary search for the range containing `cp` in a sorted table of non-overlapping ranges.
template <typename Range>
const Range* find_range(const Range* table, size_t count, char32_t cp) {
  const Range* end = table + count;
  const Range* it =
      std::upper_bound(table, end, cp, [](char32_t c, const Range& r) { return c < r.first; });
  if (it == table) return nullptr;
  --it;
  return cp <= it->last ? it : nullptr;
}

ut::SigmaContext sigma_context(char32_t cp) {
  const auto* range = find_range(ut::kSigmaContextRanges, ut::kSigmaContextRangeCount, cp);
  return range != nullptr ? range->context : ut::SigmaContext::kNone;
}

// CPython's Final_Sigma test for the Σ at `i`: a cased letter before it and none after it,
// skipping case-ignorable code points in both directions.
bool is_final_sigma(std::u32string_view text, size_t i) {
  size_t j = i;
  ut::SigmaContext before = ut::SigmaContext::kNone;
  while (j > 0) {
    before = sigma_context(text[--j]);
    if (before != ut::SigmaContext::kCaseIgnorable) break;
  }
  if (before != ut::SigmaContext::kCased) return false;
  for (size_t k = i + 1; k < text.size(); ++k) {
    const ut::SigmaContext after = sigma_context(text[k]);
    if (after != ut::SigmaContext::kCaseIgnorable) return after != ut::SigmaContext::kCased;
  }
  return true;
}

char32_t simple_lower(char32_t cp) {
  const auto* run = find_range(ut::kLowerRuns, ut::kLowerRunCount, cp);
  if (run == nullptr || (cp - run->first) % run->stride != 0) return cp;
  return static_cast<char32_t>(static_cast<int64_t>(cp) + run->delta);
}

}  // namespace

size_t decode_utf8_char(const char* p, const char* end, char32_t& cp) {
  const auto* s = reinterpret_cast<const unsigned char*>(p);
  const size_t available = static_cast<size_t>(end - p);
  const unsigned char b0 = s[0];
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  cp = kReplacementChar;
  if (b0 < 0xC2 || b0 > 0xF4) return 1;  // continuation byte, overlong lead or beyond U+10FFFF
  if (b0 < 0xE0) {
    if (available < 2 || !is_continuation(s[1])) return 1;
    cp = (char32_t(b0 & 0x1F) << 6) | (s[1] & 0x3F);
    return 2;
  }
  if (b0 < 0xF0) {
    if (available < 3 || !is_continuation(s[1]) || !is_continuation(s[2])) return 1;
    if (b0 == 0xE0 && s[1] < 0xA0) return 1;   // overlong
    if (b0 == 0xED && s[1] >= 0xA0) return 1;  // UTF-16 surrogate
    cp = (char32_t(b0 & 0x0F) << 12) | (char32_t(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    return 3;
  }
  if (available < 4 || !is_continuation(s[1]) || !is_continuation(s[2]) || !is_continuation(s[3]))
    return 1;
  if (b0 == 0xF0 && s[1] < 0x90) return 1;   // overlong
  if (b0 == 0xF4 && s[1] >= 0x90) return 1;  // beyond U+10FFFF
  cp = (char32_t(b0 & 0x07) << 18) | (char32_t(s[1] & 0x3F) << 12) | (char32_t(s[2] & 0x3F) << 6) |
       (s[3] & 0x3F);
  return 4;
}

std::u32string decode_utf8(std::string_view bytes) {
  std::u32string out;
  out.reserve(bytes.size());
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end) {
    char32_t cp;
    p += decode_utf8_char(p, end, cp);
    out.push_back(cp);
  }
  return out;
}

std::string encode_utf8(std::u32string_view code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t cp : code_points) append_utf8(cp, out);
  return out;
}

bool is_valid_utf8(std::string_view bytes) {
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end) {
    if (static_cast<unsigned char>(*p) < 0x80) {
      ++p;
      continue;
    }
    char32_t cp;
    const size_t n = decode_utf8_char(p, end, cp);
    if (n == 1) return false;  // a non-ASCII byte decoded alone is always invalid
    p += n;
  }
  return true;
}

std::string sanitize_utf8(std::string_view bytes) {
  if (is_valid_utf8(bytes)) return std::string(bytes);
  std::string out;
  out.reserve(bytes.size() + 8);
  const char* p = bytes.data();
  const char* end = p + bytes.size();
  while (p < end) {
    char32_t cp;
    const size_t n = decode_utf8_char(p, end, cp);
    if (cp == kReplacementChar && n == 1)
      append_utf8(kReplacementChar, out);
    else
      out.append(p, n);
    p += n;
  }
  return out;
}

ut::CharClass char_class(char32_t cp) {
  const auto* range = find_range(ut::kClassRanges, ut::kClassRangeCount, cp);
  return range != nullptr ? range->cls : ut::CharClass::kOther;
}

bool is_space(char32_t cp) {
  if (cp < 0x80) return cp == ' ' || (cp >= 0x09 && cp <= 0x0D) || (cp >= 0x1C && cp <= 0x1F);
  return find_range(ut::kSpaceRanges, ut::kSpaceRangeCount, cp) != nullptr;
}

std::vector<std::string_view> split_whitespace(std::string_view text) {
  std::vector<std::string_view> tokens;
  const char* p = text.data();
  const char* end = p + text.size();
  const char* start = nullptr;  // start of the current token, if inside one
  while (p < end) {
    char32_t cp;
    const size_t n = decode_utf8_char(p, end, cp);
    if (is_space(cp)) {
      if (start != nullptr) tokens.emplace_back(start, static_cast<size_t>(p - start));
      start = nullptr;
    } else if (start == nullptr) {
      start = p;
    }
    p += n;
  }
  if (start != nullptr) tokens.emplace_back(start, static_cast<size_t>(end - start));
  return tokens;
}

std::string_view rstrip_whitespace(std::string_view text) {
  // Walk forward (UTF-8 cannot be decoded backwards without care) and remember where the
  // last non-space code point ended.
  const char* p = text.data();
  const char* end = p + text.size();
  size_t keep = 0;
  while (p < end) {
    char32_t cp;
    const size_t n = decode_utf8_char(p, end, cp);
    p += n;
    if (!is_space(cp)) keep = static_cast<size_t>(p - text.data());
  }
  return text.substr(0, keep);
}

std::string normalize_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::string_view token : split_whitespace(text)) {
    if (!out.empty()) out.push_back(' ');
    out.append(token);
  }
  return out;
}

std::u32string lowercase(std::u32string_view text) {
  std::u32string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char32_t cp = text[i];
    if (cp < 0x80) {
      out.push_back(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else if (cp == 0x3A3) {  // GREEK CAPITAL LETTER SIGMA: context dependent
      out.push_back(is_final_sigma(text, i) ? 0x3C2 : 0x3C3);
    } else if (cp == 0x130) {  // LATIN CAPITAL LETTER I WITH DOT ABOVE: the only 1->2 mapping
      out.push_back('i');
      out.push_back(0x307);
    } else {
      out.push_back(simple_lower(cp));
    }
  }
  return out;
}

std::string lowercase(std::string_view text) {
  bool ascii = true;
  for (char c : text) ascii = ascii && static_cast<unsigned char>(c) < 0x80;
  if (ascii) {
    std::string out(text);
    for (char& c : out)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
  }
  return encode_utf8(lowercase(decode_utf8(text)));
}

}  // namespace revnmt::eval
