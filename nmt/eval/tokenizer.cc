#include "nmt/eval/tokenizer.h"

#include "nmt/core/error.h"
#include "nmt/eval/text.h"

namespace revnmt::eval {

namespace {

// Python's str.replace(from, to): one left-to-right pass over non-overlapping occurrences
// (text produced by a replacement is not searched again).
std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  for (;;) {
    const size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_period_or_comma(char c) { return c == '.' || c == ','; }

// The class of mteval-v13a's first regex, [\{-\~\[-\` -\&\(-\+\:-\@\/]: the ASCII ranges
// {|}~  [\]^_`  space!"#$%&  ()*+  :;<=>?@  and '/'. Not in it: ' , - . digits letters.
inline bool is_13a_split_char(char c) {
  const unsigned char u = static_cast<unsigned char>(c);
  return (u >= 0x7B && u <= 0x7E) || (u >= 0x5B && u <= 0x60) || (u >= 0x20 && u <= 0x26) ||
         (u >= 0x28 && u <= 0x2B) || (u >= 0x3A && u <= 0x40) || u == 0x2F;
}

// The four regex substitutions of mteval-v13a, each as one left-to-right scan with the
// semantics of Python's re.sub: at each position try to match, on success emit the
// replacement and continue after the match (matches never overlap), otherwise copy one unit.
// They work on UTF-8 bytes: every character a pattern names is ASCII and [^0-9] matches any
// byte that is not an ASCII digit, so a multi-byte character can never take part in a match
// except as a [^0-9] whose bytes come out unchanged and in order -- the output equals
// running the patterns over code points.
//
//   1. ([\{-\~\[-\` -\&\(-\+\:-\@\/])  ->  ' \1 '
//   2. ([^0-9])([\.,])                 ->  '\1 \2 '
//   3. ([\.,])([^0-9])                 ->  ' \1 \2'
//   4. ([0-9])(-)                      ->  '\1 \2 '
void pad_punctuation(const std::string& in, std::string& out) {
  out.clear();
  for (char c : in) {
    if (is_13a_split_char(c)) {
      out.push_back(' ');
      out.push_back(c);
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
}

void split_period_comma_after_non_digit(const std::string& in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size();) {
    if (i + 1 < in.size() && !is_digit(in[i]) && is_period_or_comma(in[i + 1])) {
      out.push_back(in[i]);
      out.push_back(' ');
      out.push_back(in[i + 1]);
      out.push_back(' ');
      i += 2;
    } else {
      out.push_back(in[i++]);
    }
  }
}

void split_period_comma_before_non_digit(const std::string& in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size();) {
    if (i + 1 < in.size() && is_period_or_comma(in[i]) && !is_digit(in[i + 1])) {
      out.push_back(' ');
      out.push_back(in[i]);
      out.push_back(' ');
      out.push_back(in[i + 1]);
      i += 2;
    } else {
      out.push_back(in[i++]);
    }
  }
}

void split_dash_after_digit(const std::string& in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size();) {
    if (i + 1 < in.size() && is_digit(in[i]) && in[i + 1] == '-') {
      out.push_back(in[i]);
      out.append(" - ");
      i += 2;
    } else {
      out.push_back(in[i++]);
    }
  }
}

inline void append_padded(std::u32string& out, char32_t cp) {
  out.push_back(' ');
  out.push_back(cp);
  out.push_back(' ');
}

}  // namespace

const char* tokenizer_name(Tokenizer tokenizer) {
  switch (tokenizer) {
    case Tokenizer::k13a:
      return "13a";
    case Tokenizer::kNone:
      return "none";
    case Tokenizer::kIntl:
      return "intl";
    case Tokenizer::kChar:
      return "char";
  }
  return "?";
}

Tokenizer parse_tokenizer(std::string_view name) {
  for (Tokenizer t : {Tokenizer::k13a, Tokenizer::kNone, Tokenizer::kIntl, Tokenizer::kChar})
    if (name == tokenizer_name(t)) return t;
  fail("unknown tokenizer '", name, "' (expected one of: 13a, none, intl, char)");
}

std::string tokenize_13a(std::string_view line) {
  // Language-independent part, in mteval-v13a's order.
  std::string text = sanitize_utf8(line);
  if (text.find("<skipped>") != std::string::npos) text = replace_all(text, "<skipped>", "");
  if (text.find('\n') != std::string::npos) {
    text = replace_all(text, "-\n", "");
    text = replace_all(text, "\n", " ");
  }
  if (text.find('&') != std::string::npos) {
    text = replace_all(text, "&quot;", "\"");
    text = replace_all(text, "&amp;", "&");
    text = replace_all(text, "&lt;", "<");
    text = replace_all(text, "&gt;", ">");
  }
  // mteval pads the line with spaces, so a trailing '.' or ',' is always followed by a
  // non-digit and gets split off (this is what distinguishes 13a from intl's behaviour).
  std::string a = " " + text + " ";
  std::string b;
  pad_punctuation(a, b);
  split_period_comma_after_non_digit(b, a);
  split_period_comma_before_non_digit(a, b);
  split_dash_after_digit(b, a);
  return normalize_whitespace(a);
}

std::string tokenize_intl(std::string_view line) {
  // mteval-v14 international tokenization: three passes with re.sub semantics over code points.
  //   1. (\P{N})(\p{P})  ->  '\1 \2 '   punctuation preceded by a non-number
  //   2. (\p{P})(\P{N})  ->  ' \1 \2'   punctuation followed by a non-number
  //   3. (\p{S})         ->  ' \1 '     every symbol
  // Unlike 13a the line is not padded, so "in 2019." keeps its final period attached.
  const std::u32string in = decode_utf8(line);
  std::u32string pass1;
  pass1.reserve(in.size() + 16);
  for (size_t i = 0; i < in.size();) {
    if (i + 1 < in.size() && !is_number(in[i]) && is_punctuation(in[i + 1])) {
      pass1.push_back(in[i]);
      pass1.push_back(' ');
      pass1.push_back(in[i + 1]);
      pass1.push_back(' ');
      i += 2;
    } else {
      pass1.push_back(in[i++]);
    }
  }
  std::u32string pass2;
  pass2.reserve(pass1.size() + 16);
  for (size_t i = 0; i < pass1.size();) {
    if (i + 1 < pass1.size() && is_punctuation(pass1[i]) && !is_number(pass1[i + 1])) {
      pass2.push_back(' ');
      pass2.push_back(pass1[i]);
      pass2.push_back(' ');
      pass2.push_back(pass1[i + 1]);
      i += 2;
    } else {
      pass2.push_back(pass1[i++]);
    }
  }
  std::u32string pass3;
  pass3.reserve(pass2.size() + 16);
  for (char32_t cp : pass2) {
    if (is_symbol(cp))
      append_padded(pass3, cp);
    else
      pass3.push_back(cp);
  }
  return normalize_whitespace(encode_utf8(pass3));
}

std::string tokenize_char(std::string_view line) {
  std::string out;
  out.reserve(line.size() * 2);
  const char* p = line.data();
  const char* end = p + line.size();
  while (p < end) {
    char32_t cp;
    p += decode_utf8_char(p, end, cp);
    if (!out.empty()) out.push_back(' ');
    append_utf8(cp, out);
  }
  return out;
}

std::string tokenize(Tokenizer tokenizer, std::string_view line) {
  switch (tokenizer) {
    case Tokenizer::k13a:
      return tokenize_13a(line);
    case Tokenizer::kIntl:
      return tokenize_intl(line);
    case Tokenizer::kChar:
      return tokenize_char(line);
    case Tokenizer::kNone:
      break;
  }
  return sanitize_utf8(line);
}

}  // namespace revnmt::eval
