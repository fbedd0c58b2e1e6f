#include "nmt/eval/score_report.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <system_error>

#include "nmt/core/error.h"
#include "nmt/core/json_text.h"

namespace revnmt::eval {

namespace {

size_t code_point_count(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

}  // namespace

std::string format_signature(const std::vector<SignatureField>& fields, bool short_form) {
  std::string out;
  for (const SignatureField& field : fields) {
    if (!out.empty()) out.push_back('|');
    out += short_form ? field.short_key : field.key;
    out.push_back(':');
    out += field.value;
  }
  return out;
}

std::string nrefs_value(int num_refs) {
  return num_refs == kVariableRefs ? std::string("var") : std::to_string(num_refs);
}

std::string format_fixed(double value, int decimals) {
  // glibc's printf rounds the exact binary value half-to-even, exactly like Python's format().
  char buffer[512];
  const int n = std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  REVNMT_CHECK(n > 0 && static_cast<size_t>(n) < sizeof buffer, "number too long to format");
  return std::string(buffer, static_cast<size_t>(n));
}

std::string python_float_repr(double value) {
  if (std::isnan(value)) return "NaN";  // json.dumps spelling
  if (std::isinf(value)) return value > 0 ? "Infinity" : "-Infinity";
  if (value == 0.0) return std::signbit(value) ? "-0.0" : "0.0";
  // Shortest round-trip digits, as "d.ddde±XX".
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  REVNMT_CHECK(result.ec == std::errc(), "to_chars failed");
  const std::string_view sci(buffer, static_cast<size_t>(result.ptr - buffer));
  const size_t e_pos = sci.find('e');
  std::string_view mantissa = sci.substr(0, e_pos);
  const int exponent = std::atoi(std::string(sci.substr(e_pos + 1)).c_str());
  std::string sign;
  if (!mantissa.empty() && mantissa[0] == '-') {
    sign = "-";
    mantissa.remove_prefix(1);
  }
  std::string digits;
  for (char c : mantissa)
    if (c != '.') digits.push_back(c);
  // Python's repr switches to exponent notation outside 1e-4 <= |x| < 1e16.
  if (exponent < -4 || exponent >= 16) {
    std::string out = sign + digits.substr(0, 1);
    if (digits.size() > 1) out += "." + digits.substr(1);
    char exp_text[16];
    std::snprintf(exp_text, sizeof exp_text, "e%c%02d", exponent < 0 ? '-' : '+',
                  std::abs(exponent));
    return out + exp_text;
  }
  std::string out = sign;
  if (exponent < 0) {
    out += "0." + std::string(static_cast<size_t>(-exponent - 1), '0') + digits;
  } else {
    const size_t int_digits = static_cast<size_t>(exponent) + 1;
    if (digits.size() <= int_digits) {
      out += digits + std::string(int_digits - digits.size(), '0') + ".0";
    } else {
      out += digits.substr(0, int_digits) + "." + digits.substr(int_digits);
    }
  }
  return out;
}

std::string ScoreReport::to_text(int width, bool score_only, bool short_signature) const {
  const std::string score_text = format_fixed(score, width);
  if (score_only) return score_text;
  std::string line = name;
  if (!signature.empty()) line += "|" + format_signature(signature, short_signature);
  line += " = " + score_text;
  if (!verbose.empty()) line += " " + verbose;
  return line;
}

std::string ScoreReport::to_json(int width, bool compact) const {
  // Python: 'score': float(f'{score:.{width}f}'), then json.dumps(d, indent=1).
  const double rounded = std::strtod(format_fixed(score, width).c_str(), nullptr);
  std::vector<std::pair<std::string, std::string>> items = {
      {"name", json_string(name)},
      {"score", python_float_repr(rounded)},
      {"signature", json_string(format_signature(signature))},
  };
  if (!verbose.empty()) items.emplace_back("verbose_score", json_string(verbose));
  for (const SignatureField& field : signature)
    items.emplace_back(field.key, json_string(field.value));
  std::string out = compact ? "{" : "{\n";
  for (size_t i = 0; i < items.size(); ++i) {
    if (!compact) out += " ";
    out += json_string(items[i].first) + ": " + items[i].second;
    if (i + 1 < items.size()) out += compact ? ", " : ",";
    if (!compact) out += "\n";
  }
  out += "}";
  return out;
}

std::string align_text_lines(const std::vector<std::string>& lines) {
  std::string out;
  if (lines.size() == 1) return lines[0] + "\n";
  std::vector<size_t> left_widths;
  std::vector<const std::string*> aligned;
  size_t width = 0;
  for (const std::string& line : lines) {
    const size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) {
      out += line + "\n";
      continue;
    }
    left_widths.push_back(eq - 1);
    aligned.push_back(&line);
    width = std::max(width, code_point_count(std::string_view(line).substr(0, eq - 1)));
  }
  for (size_t i = 0; i < aligned.size(); ++i) {
    const std::string_view line = *aligned[i];
    const std::string_view left = line.substr(0, left_widths[i]);
    out += std::string(width - code_point_count(left), ' ');
    out += std::string(line);
    out += "\n";
  }
  return out;
}

std::string join_json_objects(const std::vector<std::string>& objects) {
  if (objects.size() == 1) return objects[0] + "\n";
  std::string out = "[\n";
  for (size_t i = 0; i < objects.size(); ++i) {
    out += objects[i];
    out += i + 1 < objects.size() ? ",\n" : "\n";
  }
  return out + "]\n";
}

}  // namespace revnmt::eval
