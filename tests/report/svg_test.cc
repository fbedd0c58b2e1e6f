// Hand-written SVG charts: escaping, number formats, scales, and charts that are well-formed
// XML with every point where its value says.

#include "nmt/report/svg.h"

#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "tests/report/xml_tree.h"

namespace revnmt::report {
namespace {

using testing::parse_xml;
using testing::XmlElement;

TEST(Svg, EscapesTextAndAttributes) {
  EXPECT_EQ(xml_escape("a<b>&\"c\"'d'"), "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;");
  EXPECT_EQ(xml_escape("ok \xC3\xA9"), "ok \xC3\xA9");             // UTF-8 passes through
  EXPECT_EQ(xml_escape(std::string("a\x01z")), "a\xEF\xBF\xBDz");  // not allowed in XML
}

TEST(Svg, FormatsNumbersCompactly) {
  EXPECT_EQ(format_number(0), "0");
  EXPECT_EQ(format_number(0.25), "0.25");
  EXPECT_EQ(format_number(12), "12");
  EXPECT_EQ(format_number(1500), "1,500");
  EXPECT_EQ(format_number(25000), "25k");
  EXPECT_EQ(format_number(1163264), "1.16M");
  EXPECT_EQ(format_number(2.5e9), "2.5G");
  EXPECT_EQ(format_number(33.333), "33.3");
  EXPECT_EQ(format_number(NAN), "n/a");
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(12.5 * 1048576), "12.5 MiB");
}

TEST(Svg, LinearScaleHasNiceTicksCoveringTheData) {
  const Scale s = Scale::linear(3, 97, 0, 100);
  EXPECT_EQ(s.domain_lo(), 0);
  EXPECT_EQ(s.domain_hi(), 100);
  EXPECT_EQ(s.ticks(), (std::vector<double>{0, 20, 40, 60, 80, 100}));
  EXPECT_DOUBLE_EQ(s(50), 50);
  const Scale flat = Scale::linear(5, 5, 0, 10);  // one value: a window around it
  EXPECT_LT(flat.domain_lo(), 5);
  EXPECT_GT(flat.domain_hi(), 5);
  const Scale zero = Scale::linear(12, 14, 0, 10, /*zero=*/true);
  EXPECT_EQ(zero.domain_lo(), 0);
}

TEST(Svg, LogScaleUsesTheOneTwoFiveLadder) {
  const Scale s = Scale::log10(18, 101, 300, 0);  // pixels upwards, as for a y axis
  EXPECT_EQ(s.domain_lo(), 10);
  EXPECT_EQ(s.domain_hi(), 200);
  EXPECT_EQ(s.ticks(), (std::vector<double>{10, 20, 50, 100, 200}));
  EXPECT_DOUBLE_EQ(s(10), 300);
  EXPECT_DOUBLE_EQ(s(200), 0);
  EXPECT_NEAR(s(100) - s(10), s(200) - s(20), 1e-9);  // equal ratios, equal distances
  const Scale wide = Scale::log10(1, 1e6, 0, 1);
  EXPECT_EQ(wide.ticks(), (std::vector<double>{1, 10, 100, 1e3, 1e4, 1e5, 1e6}));
  const Scale exact = Scale::log10(100, 100, 0, 1);
  EXPECT_EQ(exact.domain_lo(), 100);
  EXPECT_EQ(exact.domain_hi(), 1000);
}

// The y pixel of a tick label's anchor (labels sit 4px below their tick line).
double tick_y(const XmlElement& svg, const std::string& label) {
  for (const XmlElement* g : svg.find_all("g", "class", "y-axis"))
    for (const XmlElement* t : g->find_all("text", "class", "tick"))
      if (t->text == label) return std::stod(t->attr("y")) - 4;
  ADD_FAILURE() << "no y tick labelled " << label;
  return NAN;
}

double tick_x(const XmlElement& svg, const std::string& label) {
  for (const XmlElement* g : svg.find_all("g", "class", "x-axis"))
    for (const XmlElement* t : g->find_all("text", "class", "tick"))
      if (t->text == label) return std::stod(t->attr("x"));
  ADD_FAILURE() << "no x tick labelled " << label;
  return NAN;
}

std::vector<std::pair<double, double>> points_of(const XmlElement& polyline) {
  std::vector<std::pair<double, double>> points;
  std::istringstream in(polyline.attr("points"));
  for (std::string pair; in >> pair;) {
    const size_t comma = pair.find(',');
    points.emplace_back(std::stod(pair.substr(0, comma)), std::stod(pair.substr(comma + 1)));
  }
  return points;
}

TEST(Svg, LineChartPlacesPointsOnTheirTicks) {
  LineChart chart;
  chart.id = "ppl";
  chart.title = "Perplexity <log> & \"more\"";
  chart.x_label = "updates";
  chart.y_label = "perplexity";
  chart.log_y = true;
  chart.series = {{"train & co", "#00f", {100, 200, 300, 400}, {1000, 100, 10, NAN}, false, false},
                  {"valid", "#f00", {200, 400}, {50, 20}, true, false}};
  const std::string svg = render_line_chart(chart);
  const auto root = parse_xml(svg_document(svg));
  EXPECT_EQ(root->name, "svg");
  EXPECT_EQ(root->attr("xmlns"), "http://www.w3.org/2000/svg");
  EXPECT_EQ(root->find_all("title")[0]->text, "Perplexity <log> & \"more\"");
  EXPECT_NE(svg.find("(log scale)"), std::string::npos);

  const auto train = root->find_all("g", "data-series", "train & co");
  ASSERT_EQ(train.size(), 1u);
  const auto lines = train[0]->find_all("polyline");
  ASSERT_EQ(lines.size(), 1u);
  const auto p = points_of(*lines[0]);
  ASSERT_EQ(p.size(), 3u);  // the NaN point is left out
  EXPECT_NEAR(p[0].second, tick_y(*root, "1,000"), 0.01);
  EXPECT_NEAR(p[1].second, tick_y(*root, "100"), 0.01);
  EXPECT_NEAR(p[2].second, tick_y(*root, "10"), 0.01);
  EXPECT_NEAR(p[0].first, tick_x(*root, "100"), 0.01);
  EXPECT_NEAR(p[2].first, tick_x(*root, "300"), 0.01);

  const auto valid = root->find_all("g", "data-series", "valid");
  ASSERT_EQ(valid.size(), 1u);
  const auto dots = valid[0]->find_all("circle");
  ASSERT_EQ(dots.size(), 2u);  // markers
  EXPECT_NEAR(std::stod(dots[0]->attr("cx")), tick_x(*root, "200"), 0.01);
  // 50 lies between the 20 and 100 ticks, at log10 distance.
  const double y50 = std::stod(dots[0]->attr("cy"));
  const double y10 = tick_y(*root, "10"), y100 = tick_y(*root, "100");
  EXPECT_NEAR(y50, y10 + (y100 - y10) * std::log10(5.0), 0.02);
  // The legend names both series, escaped.
  EXPECT_NE(svg.find(">train &amp; co</text>"), std::string::npos);
}

TEST(Svg, EmptyLineChartSaysSo) {
  LineChart chart;
  chart.id = "empty";
  chart.title = "Nothing";
  chart.series = {{"a", "#000", {}, {}, false, false}, {"b", "#000", {1}, {NAN}, false, false}};
  chart.empty_message = "no data <yet>";
  const auto root = parse_xml(render_line_chart(chart));
  const auto note = root->find_all("text", "class", "no-data");
  ASSERT_EQ(note.size(), 1u);
  EXPECT_EQ(note[0]->text, "no data <yet>");
  EXPECT_TRUE(root->find_all("polyline").empty());
}

TEST(Svg, LogChartSkipsNonPositiveValues) {
  LineChart chart;
  chart.log_y = true;
  chart.series = {{"s", "#000", {1, 2, 3}, {0, -1, 5}, false, false}};
  const auto root = parse_xml(render_line_chart(chart));
  EXPECT_EQ(root->find_all("circle").size(), 1u);  // one point left: drawn as a dot
}

TEST(Svg, BarHeightsAreProportionalToValues) {
  BarChart chart;
  chart.id = "bits";
  chart.title = "Bits";
  chart.groups = {"encoder", "decoder"};
  chart.series = {{"baseline", "#888", {1000, 800}, {}},
                  {"held", "#00f", {250, 100}, {"4.0× less", "8.0× less"}},
                  {"optimal", "#0a0", {100, NAN}, {}}};
  const auto root = parse_xml(render_bar_chart(chart));
  auto rect = [&](const std::string& series, const std::string& group) {
    for (const XmlElement* g : root->find_all("g", "data-series", series))
      if (g->attr("data-group") == group) return g;
    return static_cast<const XmlElement*>(nullptr);
  };
  const XmlElement* base = rect("baseline", "encoder");
  const XmlElement* held = rect("held", "encoder");
  ASSERT_NE(base, nullptr);
  ASSERT_NE(held, nullptr);
  auto height = [](const XmlElement* g) {
    return std::stod(g->find_all("rect")[0]->attr("height"));
  };
  auto bottom = [&](const XmlElement* g) {
    const XmlElement* r = g->find_all("rect")[0];
    return std::stod(r->attr("y")) + height(g);
  };
  EXPECT_NEAR(height(held) / height(base), 0.25, 0.001);
  EXPECT_NEAR(height(rect("baseline", "decoder")) / height(base), 0.8, 0.001);
  EXPECT_NEAR(bottom(held), bottom(base), 0.01);   // all bars stand on the axis
  EXPECT_EQ(rect("optimal", "decoder"), nullptr);  // NaN: no bar
  EXPECT_EQ(held->find_all("text", "class", "value")[0]->text, "250");
  EXPECT_EQ(held->find_all("text", "class", "note")[0]->text, "4.0× less");
  // The baseline bar of 1000 reaches the tick labelled 1,000 exactly.
  EXPECT_NEAR(std::stod(base->find_all("rect")[0]->attr("y")), tick_y(*root, "1,000"), 0.01);
}

}  // namespace
}  // namespace revnmt::report
