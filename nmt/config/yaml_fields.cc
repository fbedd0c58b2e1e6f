#include "nmt/config/yaml_fields.h"

#include "nmt/core/utf8.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <set>
#include <sstream>
#include <system_error>

namespace revnmt::config {

namespace {

std::string lowercase(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// yaml-cpp marks are 0-based; people count lines from 1.
std::string line_of(const std::string& source, const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return source;
  return source + ":" + std::to_string(mark.line + 1);
}

// Plain YAML scalars that another reader would not take as a string.
bool needs_quotes(const std::string& text) {
  if (text.empty()) return true;
  const std::string lower = lowercase(text);
  if (lower == "~" || lower == "null" || lower == "y" || lower == "n") return true;
  return parse_bool(text).has_value() || parse_real(text).has_value() || lower == ".inf" ||
         lower == "-.inf" || lower == ".nan";
}

// Checks that yaml-cpp's parser gets through `text`. yaml-cpp 0.7 (Debian 12) stops making
// progress at a ',' outside a flow collection (",a", "x: 1\n,"): every further call
// yields an empty document at the same position, so YAML::LoadAll never returns and fills
// the memory. A document starting where the previous one started is that loop.
class ProgressCheck : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { start_ = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

  static void run(const std::string& text, const std::string& source) {
    std::istringstream in(text);
    YAML::Parser parser(in);
    ProgressCheck check;
    bool first = true;
    YAML::Mark previous;
    while (parser.HandleNextDocument(check)) {
      if (!first && check.start_.pos == previous.pos)
        fail(source, ":", check.start_.line + 1, ":", check.start_.column + 1,
             ": YAML syntax error: unexpected character (a ',' outside [...] or {...}?)");
      first = false;
      previous = check.start_;
    }
  }

 private:
  YAML::Mark start_;
};

}  // namespace

// ---- scalar helpers ----

std::optional<long long> parse_integer(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  long long value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::optional<double> parse_real(std::string_view text) {
  if (!text.empty() && text.front() == '+') text.remove_prefix(1);
  if (text.empty()) return std::nullopt;
  // from_chars also takes "inf"/"nan"; recipes only hold finite numbers.
  double value = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::general);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  const std::string lower = lowercase(text);
  if (lower == "true" || lower == "yes" || lower == "on") return true;
  if (lower == "false" || lower == "no" || lower == "off") return false;
  return std::nullopt;
}

std::string format_real(double value) {
  // Shortest round-trip text in each notation; plain decimals unless they get much longer
  // ("0.0005", not "5e-04"; but "1e-08" and "1e+20").
  const auto shortest = [value](std::chars_format format) {
    char buffer[400];  // fixed notation of 1e308 has 309 digits
    const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, format);
    REVNMT_CHECK(ec == std::errc(), "to_chars failed");
    return std::string(buffer, end);
  };
  const std::string fixed = shortest(std::chars_format::fixed);
  const std::string scientific = shortest(std::chars_format::scientific);
  if (fixed.size() > scientific.size() + 3) return scientific;
  return fixed.find('.') == std::string::npos ? fixed + ".0" : fixed;  // "5" -> "5.0"
}

std::string describe_node(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) return "nothing";
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  return "'" + node.Scalar() + "'";
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string closest_match(std::string_view word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::string::npos;
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(lowercase(word), lowercase(candidate));
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  if (best_distance <= 1) return best;  // one typo
  // The right name in the wrong section ("train.beam" for "translate.beam").
  const auto leaf = [](std::string_view key) {
    const std::size_t dot = key.rfind('.');
    return dot == std::string_view::npos ? key : key.substr(dot + 1);
  };
  for (const auto& candidate : candidates)
    if (candidate != word && leaf(candidate) == leaf(word)) return candidate;
  // Otherwise close means two typos, or at most a third of the last name part changed.
  if (best_distance <= 2 || best_distance * 3 <= leaf(word).size()) return best;
  return "";
}

YAML::Node parse_yaml_document(const std::string& text, const std::string& source) {
  // YAML is Unicode text; yaml-cpp would pass stray bytes through into the values, and the
  // emitter would then write them back as U+FFFD (a recipe that changes when dumped).
  if (const Utf8Problem bad = find_utf8_problem(text); bad.kind != Utf8Problem::none) {
    const std::string_view before(text.data(), bad.offset);
    const std::size_t newline = before.rfind('\n');
    const std::size_t column =
        newline == std::string_view::npos ? bad.offset + 1 : bad.offset - newline;
    fail(source, ":", std::count(before.begin(), before.end(), '\n') + 1, ":", column,
         bad.kind == Utf8Problem::nul ? ": NUL byte" : ": invalid UTF-8",
         " (expected YAML text in UTF-8)");
  }
  std::vector<YAML::Node> documents;
  try {
    ProgressCheck::run(text, source);
    documents = YAML::LoadAll(text);
  } catch (const YAML::Exception& e) {
    fail(source, ":", e.mark.line + 1, ":", e.mark.column + 1, ": YAML syntax error: ", e.msg);
  }
  if (documents.empty()) return YAML::Node();  // empty file or only comments
  if (documents.size() > 1)
    fail(source, ": expected one YAML document, found ", documents.size(), " (separated by '---')");
  return documents.front();
}

// ---- codecs ----

bool StringCodec::read(const YAML::Node& node, std::string& out, std::string& error) const {
  if (node.IsNull()) {  // "key:" or "key: ~"
    out.clear();
    return true;
  }
  if (!node.IsScalar()) {
    error = "expected a string, got " + describe_node(node);
    return false;
  }
  // Escapes ("\\ud800", "\\0") can decode to what raw text may not contain.
  if (find_utf8_problem(node.Scalar()).kind != Utf8Problem::none) {
    error = "expected a string of UTF-8 text without NUL, got an escape sequence that is not";
    return false;
  }
  out = node.Scalar();
  return true;
}

void StringCodec::write(YAML::Emitter& out, const std::string& value) const {
  if (needs_quotes(value)) out << YAML::DoubleQuoted;
  out << value;
}

bool BoolCodec::read(const YAML::Node& node, bool& out, std::string& error) const {
  if (node.IsScalar()) {
    if (auto value = parse_bool(node.Scalar())) {
      out = *value;
      return true;
    }
  }
  error = "expected true or false, got " + describe_node(node);
  return false;
}

void BoolCodec::write(YAML::Emitter& out, bool value) const { out << (value ? "true" : "false"); }

bool RealCodec::read(const YAML::Node& node, double& out, std::string& error) const {
  if (node.IsScalar()) {
    if (auto value = parse_real(node.Scalar())) {
      out = *value;
      return true;
    }
  }
  error = "expected a number, got " + describe_node(node);
  return false;
}

void RealCodec::write(YAML::Emitter& out, double value) const { out << format_real(value); }

bool read_integer(const YAML::Node& node, long long low, long long high, long long& out,
                  std::string& error) {
  if (node.IsScalar()) {
    if (auto value = parse_integer(node.Scalar())) {
      if (*value < low || *value > high) {
        error = "expected an integer in " + std::to_string(low) + ".." + std::to_string(high) +
                ", got " + describe_node(node);
        return false;
      }
      out = *value;
      return true;
    }
  }
  error = "expected an integer, got " + describe_node(node);
  return false;
}

// ---- key table ----

void KeyTable::add_key(std::string key) {
  REVNMT_CHECK(!key.empty() && key.front() != '.' && key.back() != '.', key);
  REVNMT_CHECK(find(key) == std::string::npos && !is_section(key), "duplicate key ", key);
  // Sections must be contiguous so that to_yaml() opens each one once.
  for (std::size_t dot = key.find('.'); dot != std::string::npos; dot = key.find('.', dot + 1)) {
    const std::string section = key.substr(0, dot);
    REVNMT_CHECK(find(section) == std::string::npos, "key ", section, " is also a section");
    const auto it = std::find(sections_.begin(), sections_.end(), section);
    if (it == sections_.end()) {
      sections_.push_back(section);
    } else {
      REVNMT_CHECK(keys_.back().rfind(section + ".", 0) == 0, "section ", section,
                   " is not contiguous at ", key);
    }
  }
  keys_.push_back(std::move(key));
}

std::size_t KeyTable::find(std::string_view key) const {
  for (std::size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) return i;
  return std::string::npos;
}

bool KeyTable::is_section(std::string_view key) const {
  return std::find(sections_.begin(), sections_.end(), key) != sections_.end();
}

std::string KeyTable::unknown_key_message(const std::string& key) const {
  std::vector<std::string> candidates = keys_;
  candidates.insert(candidates.end(), sections_.begin(), sections_.end());
  const std::string guess = closest_match(key, candidates);
  std::string message = "unknown key '" + key + "'";
  if (!guess.empty()) message += " (did you mean '" + guess + "'?)";
  return message;
}

void KeyTable::walk(const YAML::Node& root, const std::string& source, const Assign& assign) const {
  if (!root.IsDefined() || root.IsNull()) return;
  if (!root.IsMap())
    fail(line_of(source, root), ": expected a map of keys (key: value) at the top level, got ",
         describe_node(root));
  walk_map(root, "", source, assign);
}

void KeyTable::walk_map(const YAML::Node& map, const std::string& prefix, const std::string& source,
                        const Assign& assign) const {
  // yaml-cpp keeps both entries of a repeated key (and node[key] returns the first), so
  // duplicates are found here instead of silently taking one of them.
  std::map<std::string, std::string> seen;
  for (auto it = map.begin(); it != map.end(); ++it) {
    const YAML::Node name = it->first;  // copies: operator-> returns a temporary proxy
    const YAML::Node value = it->second;
    const std::string where = line_of(source, name);
    if (!name.IsScalar()) fail(where, ": expected a key name, got ", describe_node(name));
    const std::string key = prefix + name.Scalar();
    if (const auto [first, inserted] = seen.emplace(key, where); !inserted)
      fail(where, ": key '", key, "' given twice (first at ", first->second, ")");

    if (const std::size_t index = find(key); index != std::string::npos) {
      assign(index, value, where);
    } else if (is_section(key)) {
      if (value.IsNull()) continue;  // a section with every key commented out
      if (!value.IsMap())
        fail(where, ": '", key, "' is a section: expected a map of its keys, got ",
             describe_node(value));
      walk_map(value, key + ".", source, assign);
    } else {
      fail(where, ": ", unknown_key_message(key));
    }
  }
}

void KeyTable::apply_override(const std::string& assignment, const Assign& assign) const {
  const std::string where = "--set " + assignment;
  const std::size_t equals = assignment.find('=');
  if (equals == std::string::npos) fail(where, ": expected key.path=value (e.g. train.lr=0.0005)");
  std::string key = assignment.substr(0, equals);
  key.erase(0, key.find_first_not_of(" \t"));
  key.erase(key.find_last_not_of(" \t") + 1);
  if (key.empty())
    fail(where, ": expected key.path=value (e.g. train.lr=0.0005), the key is empty");
  const std::size_t index = find(key);
  if (index == std::string::npos) {
    if (is_section(key))
      fail(where, ": '", key, "' is a section; set its keys one at a time (", key, ".<key>=value)");
    fail(where, ": ", unknown_key_message(key));
  }
  YAML::Node value;
  try {
    value = YAML::Load(assignment.substr(equals + 1));
  } catch (const YAML::Exception& e) {
    fail(where, ": cannot read the value as YAML: ", e.msg);
  }
  assign(index, value, where);
}

// ---- checker ----

void Checker::require(bool ok, const std::string& key, const std::string& value,
                      const std::string& rule) const {
  if (ok) return;
  const std::string full_key = prefix_ + key;
  std::string where = fallback_;
  std::string suffix;
  if (origins_ != nullptr) {  // else the struct was built in code: nothing to point at
    if (const auto it = origins_->find(full_key); it != origins_->end())
      where = it->second;
    else
      suffix = " (the default)";
  }
  fail(where, ": ", full_key, ": expected ", rule, ", got ", value, suffix);
}

void Checker::at_least(const std::string& key, long long value, long long low) const {
  require(value >= low, key, std::to_string(value), "an integer >= " + std::to_string(low));
}

void Checker::in_range(const std::string& key, long long value, long long low,
                       long long high) const {
  require(value >= low && value <= high, key, std::to_string(value),
          "an integer in " + std::to_string(low) + ".." + std::to_string(high));
}

void Checker::in_interval(const std::string& key, double value, double low, bool low_inclusive,
                          double high, bool high_inclusive) const {
  const bool above = low_inclusive ? value >= low : value > low;
  const bool below = high_inclusive ? value <= high : value < high;
  require(above && below, key, format_real(value),
          std::string("a number in ") + (low_inclusive ? "[" : "(") + format_real(low) + ", " +
              format_real(high) + (high_inclusive ? "]" : ")"));
}

void Checker::positive(const std::string& key, double value) const {
  require(value > 0, key, format_real(value), "a number > 0");
}

void Checker::non_negative(const std::string& key, double value) const {
  require(value >= 0, key, format_real(value), "a number >= 0");
}

void Checker::not_empty(const std::string& key, const std::string& value) const {
  require(!value.empty(), key, "\"\"", "a non-empty string");
}

}  // namespace revnmt::config
