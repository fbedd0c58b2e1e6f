#pragma once
// A strict little XML reader for the tests: parses SVG documents (and the report page, with
// HTML's void elements and raw-text <style>) into a tree, throwing on anything that is not
// well-formed: unbalanced or mismatched tags, unquoted or repeated attributes, a bare '&' or
// '<', unknown entities, text after the root.

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace revnmt::testing {

struct XmlElement {
  std::string name;
  std::map<std::string, std::string> attributes;  // values with entities decoded
  std::vector<std::unique_ptr<XmlElement>> children;
  std::string text;  // the decoded text directly inside this element, concatenated

  // The attribute, or "" when absent.
  std::string attr(const std::string& key) const;
  // Every descendant (depth first, this element included) named `name` ("" = any).
  std::vector<const XmlElement*> find_all(const std::string& name) const;
  // Descendants named `name` whose attribute `key` equals `value`.
  std::vector<const XmlElement*> find_all(const std::string& name, const std::string& key,
                                          const std::string& value) const;
  // All text inside, descendants included.
  std::string all_text() const;
};

struct XmlParseError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// An XML document: optional <?xml ...?> declaration, one root element.
std::unique_ptr<XmlElement> parse_xml(const std::string& text);
// An HTML5 page written in XML style: <!DOCTYPE html>, void elements without '/>' allowed
// (meta, link, br, hr, img, input), <style> content as raw text; everything else as XML.
std::unique_ptr<XmlElement> parse_html(const std::string& text);

}  // namespace revnmt::testing
