#include "nmt/core/utf8.h"

namespace revnmt {

const char kReplacementCharacter[] = "\xEF\xBF\xBD";

namespace {

// Length of the valid sequence starting at text[i] (1-4), or 0 if it is invalid; in that case
// `*bad_length` is the length of the maximal subpart to replace (at least 1). NUL counts as
// invalid with a subpart of 1.
size_t valid_sequence_length(std::string_view text, size_t i, size_t* bad_length) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = byte(i);
  *bad_length = 1;
  if (lead == 0) return 0;
  if (lead < 0x80) return 1;
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0) lo = 0xA0;  // overlong
    if (lead == 0xED) hi = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0) lo = 0x90;  // overlong
    if (lead == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // continuation byte, C0/C1 or F5..FF as a lead
  }
  for (size_t k = 1; k <= need; ++k) {
    if (i + k >= text.size()) {
      *bad_length = k;
      return 0;
    }
    const unsigned char c = byte(i + k);
    const bool ok = k == 1 ? (c >= lo && c <= hi) : (c >= 0x80 && c <= 0xBF);
    if (!ok) {
      *bad_length = k;
      return 0;
    }
  }
  return need + 1;
}

}  // namespace

void append_utf8(char32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

Utf8Problem find_utf8_problem(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    // Fast path over ASCII.
    while (i < text.size() && static_cast<unsigned char>(text[i]) - 1u < 0x7Fu) ++i;
    if (i >= text.size()) break;
    size_t bad = 0;
    const size_t n = valid_sequence_length(text, i, &bad);
    if (n == 0) return {text[i] == '\0' ? Utf8Problem::nul : Utf8Problem::invalid, i};
    i += n;
  }
  return {};
}

int64_t repair_utf8(std::string& text) {
  if (find_utf8_problem(text).kind == Utf8Problem::none) return 0;
  std::string out;
  out.reserve(text.size() + 16);
  int64_t replaced = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t bad = 0;
    const size_t n = valid_sequence_length(text, i, &bad);
    if (n > 0) {
      out.append(text, i, n);
      i += n;
    } else {
      out += kReplacementCharacter;
      ++replaced;
      i += bad;
    }
  }
  text.swap(out);
  return replaced;
}

size_t utf8_length(std::string_view text) {
  size_t count = 0;
  for (const char c : text)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  return count;
}

std::string_view trim_ascii_space(std::string_view text) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  };
  size_t begin = 0, end = text.size();
  while (begin < end && space(text[begin])) ++begin;
  while (end > begin && space(text[end - 1])) --end;
  return text.substr(begin, end - begin);
}

}  // namespace revnmt
