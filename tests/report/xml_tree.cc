#include "tests/report/xml_tree.h"

#include <cctype>
#include <functional>
#include <set>

#include "nmt/core/utf8.h"

namespace revnmt::testing {

std::string XmlElement::attr(const std::string& key) const {
  auto it = attributes.find(key);
  return it == attributes.end() ? "" : it->second;
}

std::vector<const XmlElement*> XmlElement::find_all(const std::string& tag) const {
  std::vector<const XmlElement*> out;
  std::function<void(const XmlElement&)> visit = [&](const XmlElement& e) {
    if (tag.empty() || e.name == tag) out.push_back(&e);
    for (const auto& child : e.children) visit(*child);
  };
  visit(*this);
  return out;
}

std::vector<const XmlElement*> XmlElement::find_all(const std::string& tag, const std::string& key,
                                                    const std::string& value) const {
  std::vector<const XmlElement*> out;
  for (const XmlElement* e : find_all(tag))
    if (e->attributes.count(key) && e->attr(key) == value) out.push_back(e);
  return out;
}

std::string XmlElement::all_text() const {
  std::string out = text;
  for (const auto& child : children) out += child->all_text();
  return out;
}

namespace {

class Reader {
 public:
  Reader(const std::string& text, bool html) : s_(text), html_(html) {}

  std::unique_ptr<XmlElement> document() {
    skip_space();
    if (s_.compare(i_, 5, "<?xml") == 0) {
      const size_t end = s_.find("?>", i_);
      if (end == std::string::npos) error("unterminated XML declaration");
      i_ = end + 2;
    }
    skip_space();
    if (html_) {
      if (s_.compare(i_, 15, "<!DOCTYPE html>") != 0) error("expected <!DOCTYPE html>");
      i_ += 15;
      skip_space();
    }
    if (peek() != '<') error("expected the root element");
    auto root = element();
    skip_space();
    if (i_ != s_.size()) error("text after the root element");
    return root;
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    size_t line = 1;
    for (size_t k = 0; k < i_ && k < s_.size(); ++k) line += s_[k] == '\n';
    throw XmlParseError("line " + std::to_string(line) + ": " + what + " near '" +
                        s_.substr(i_, 40) + "'");
  }
  char peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void skip_space() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  std::string name() {
    const size_t start = i_;
    while (i_ < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[i_])) || s_[i_] == '-' ||
                              s_[i_] == '_' || s_[i_] == ':' || s_[i_] == '.'))
      ++i_;
    if (i_ == start) error("expected a name");
    return s_.substr(start, i_ - start);
  }

  // Decodes text up to `stop`, checking entities.
  std::string decode(const std::string& raw) {
    std::string out;
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] == '<') error("bare '<' in text");
      if (raw[k] != '&') {
        out += raw[k];
        continue;
      }
      const size_t end = raw.find(';', k);
      if (end == std::string::npos || end - k > 10) error("bare '&' (not an entity)");
      const std::string entity = raw.substr(k + 1, end - k - 1);
      static const std::map<std::string, std::string> named = {
          {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"}};
      if (named.count(entity)) {
        out += named.at(entity);
      } else if (entity.size() > 1 && entity[0] == '#') {
        const bool hex = entity[1] == 'x';
        const std::string digits = entity.substr(hex ? 2 : 1);
        if (digits.empty() || digits.find_first_not_of(hex ? "0123456789abcdefABCDEF"
                                                           : "0123456789") != std::string::npos)
          error("bad character reference &" + entity + ";");
        const unsigned long code = std::stoul(digits, nullptr, hex ? 16 : 10);
        if (code == 0 || code > 0x10FFFF) error("bad character reference &" + entity + ";");
        append_utf8(static_cast<char32_t>(code), out);
      } else {
        error("unknown entity &" + entity + ";");
      }
      k = end;
    }
    return out;
  }

  std::unique_ptr<XmlElement> element() {
    ++i_;  // '<'
    auto e = std::make_unique<XmlElement>();
    e->name = name();
    while (true) {
      const size_t before = i_;
      skip_space();
      if (s_.compare(i_, 2, "/>") == 0) {
        i_ += 2;
        return e;
      }
      if (peek() == '>') {
        ++i_;
        break;
      }
      if (i_ == before) error("expected whitespace before an attribute");
      const std::string key = name();
      if (peek() != '=') error("attribute " + key + " without a value");
      ++i_;
      const char quote = peek();
      if (quote != '"' && quote != '\'') error("attribute " + key + " is not quoted");
      const size_t end = s_.find(quote, i_ + 1);
      if (end == std::string::npos) error("unterminated attribute value");
      if (e->attributes.count(key)) error("repeated attribute " + key);
      e->attributes[key] = decode(s_.substr(i_ + 1, end - i_ - 1));
      i_ = end + 1;
    }
    static const std::set<std::string> kVoid = {"meta", "link", "br", "hr", "img", "input"};
    if (html_ && kVoid.count(e->name)) return e;
    if (html_ && e->name == "style") {
      const size_t end = s_.find("</style>", i_);
      if (end == std::string::npos) error("unterminated <style>");
      e->text = s_.substr(i_, end - i_);
      i_ = end + 8;
      return e;
    }
    while (true) {
      const size_t lt = s_.find('<', i_);
      if (lt == std::string::npos) error("unclosed <" + e->name + ">");
      e->text += decode(s_.substr(i_, lt - i_));
      i_ = lt;
      if (s_.compare(i_, 4, "<!--") == 0) {
        const size_t end = s_.find("-->", i_);
        if (end == std::string::npos) error("unterminated comment");
        i_ = end + 3;
      } else if (s_.compare(i_, 2, "</") == 0) {
        i_ += 2;
        const std::string closing = name();
        if (closing != e->name) error("</" + closing + "> closes <" + e->name + ">");
        skip_space();
        if (peek() != '>') error("bad closing tag");
        ++i_;
        return e;
      } else {
        e->children.push_back(element());
      }
    }
  }

  const std::string& s_;
  bool html_;
  size_t i_ = 0;
};

}  // namespace

std::unique_ptr<XmlElement> parse_xml(const std::string& text) {
  return Reader(text, false).document();
}

std::unique_ptr<XmlElement> parse_html(const std::string& text) {
  return Reader(text, true).document();
}

}  // namespace revnmt::testing
