// recipes/README.md documents every recipe key with its default and meaning. The key tables
// are generated from recipe_keys(); this test fails when the README and the code disagree.
// To regenerate the tables after changing a key:
//   REVNMT_UPDATE_README=1 ./config_test --gtest_filter='RecipesReadme.*'

#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "nmt/config/recipe.h"
#include "tests/config/config_test_util.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

const char* const kBegin =
    "<!-- BEGIN KEYS: generated from recipe_keys() by tests/config/readme_test.cc -->\n";
const char* const kEnd = "<!-- END KEYS -->\n";

std::string readme_path() { return revnmt::testing::source_dir() + "/recipes/README.md"; }

std::string escape_cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

// One table per section, in dump order.
std::string keys_markdown() {
  std::ostringstream out;
  std::string section = "?";
  for (const auto& info : recipe_keys()) {
    const std::size_t dot = info.key.find('.');
    const std::string this_section = dot == std::string::npos ? "" : info.key.substr(0, dot);
    if (this_section != section) {
      section = this_section;
      out << "\n### " << (section.empty() ? "top level" : "`" + section + ":`") << "\n\n"
          << "| key | default | meaning |\n|---|---|---|\n";
    }
    out << "| `" << info.key << "` | `" << info.default_value << "` | " << escape_cell(info.doc)
        << " |\n";
  }
  out << "\n";
  return out.str();
}

struct Row {
  std::string default_value;
  std::string doc;
};

// Splits "| a | b \| c | d |" into cells on unescaped bars, unescaping "\|".
std::vector<std::string> split_row(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (std::size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (line[i] == '|') {
      cells.push_back(cell.substr(1, cell.size() - 2));  // drop the padding spaces
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

std::string unquote_code(const std::string& cell) {
  if (cell.size() >= 2 && cell.front() == '`' && cell.back() == '`')
    return cell.substr(1, cell.size() - 2);
  return cell;
}

TEST(RecipesReadme, ListsEveryKeyWithItsDefaultAndMeaning) {
  const std::string path = readme_path();
  std::string text = testing::read_text(path);
  ASSERT_FALSE(text.empty()) << "cannot read " << path;

  if (std::getenv("REVNMT_UPDATE_README") != nullptr) {
    const std::size_t begin = text.find(kBegin), end = text.find(kEnd);
    ASSERT_TRUE(begin != std::string::npos && end != std::string::npos && begin < end)
        << path << " lacks the BEGIN/END KEYS markers";
    text = text.substr(0, begin + std::string(kBegin).size()) + keys_markdown() + text.substr(end);
    testing::write_text(path, text);
  }

  // Parse the README's key rows: "| `key` | `default` | meaning |".
  std::map<std::string, Row> readme;
  std::vector<std::string> order;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("| `", 0) != 0) continue;
    const auto cells = split_row(line);
    ASSERT_EQ(cells.size(), 3u) << "malformed row: " << line;
    const std::string key = unquote_code(cells[0]);
    EXPECT_EQ(readme.count(key), 0u) << key << " is listed twice";
    readme[key] = Row{unquote_code(cells[1]), cells[2]};
    order.push_back(key);
  }

  std::vector<std::string> code_order;
  for (const auto& info : recipe_keys()) {
    code_order.push_back(info.key);
    const auto it = readme.find(info.key);
    if (it == readme.end()) {
      ADD_FAILURE() << path << " does not list " << info.key;
      continue;
    }
    EXPECT_EQ(it->second.default_value, info.default_value) << "default of " << info.key;
    EXPECT_EQ(it->second.doc, info.doc) << "meaning of " << info.key;
    readme.erase(it);
  }
  for (const auto& [key, row] : readme)
    ADD_FAILURE() << path << " lists " << key << ", which the code does not know";
  EXPECT_EQ(order, code_order) << "keys are listed in another order than the code's";

  // The generated block is exactly what the code produces (regenerate with
  // REVNMT_UPDATE_README=1). Compared last: the row checks above give the readable diff.
  if (HasFailure()) return;
  const std::size_t begin = text.find(kBegin), end = text.find(kEnd);
  ASSERT_TRUE(begin != std::string::npos && end != std::string::npos && begin < end);
  EXPECT_EQ(
      text.substr(begin + std::string(kBegin).size(), end - begin - std::string(kBegin).size()),
      keys_markdown());
}

}  // namespace
}  // namespace revnmt
