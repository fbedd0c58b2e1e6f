#pragma once
// Hand-written SVG charts for the run report: line charts (linear or log y) and grouped bar
// charts, with axes, ticks, labels and a legend. Every piece of text is XML-escaped. The
// output is a standalone <svg> element that is also valid inline in HTML5.

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace revnmt::report {

// & < > " ' as entities: safe in XML/HTML text and attribute values.
std::string xml_escape(std::string_view text);

// Compact number text for ticks and labels: "0", "0.25", "12", "1,500", "25k", "2.5M", "1.2G".
std::string format_number(double value);
// Bytes as "512 B", "1.5 KiB", "12.3 MiB".
std::string format_bytes(double bytes);

// A data -> pixel mapping of one axis, with its tick values.
class Scale {
 public:
  // Linear over [lo, hi] widened to "nice" tick multiples (1, 2, 5 × 10^k); `zero` forces 0
  // into the domain. Log10 over [lo, hi] widened to decades (values must be > 0).
  static Scale linear(double lo, double hi, double pixel_lo, double pixel_hi, bool zero = false);
  static Scale log10(double lo, double hi, double pixel_lo, double pixel_hi);

  double operator()(double value) const;
  bool is_log() const { return log_; }
  double domain_lo() const { return lo_; }
  double domain_hi() const { return hi_; }
  // Tick values inside the domain, increasing.
  const std::vector<double>& ticks() const { return ticks_; }

 private:
  bool log_ = false;
  double lo_ = 0, hi_ = 1, pixel_lo_ = 0, pixel_hi_ = 1;
  std::vector<double> ticks_;
};

using NumberFormat = std::function<std::string(double)>;

struct LineSeries {
  std::string name;
  std::string color;  // any SVG color ("#1f77b4")
  std::vector<double> x, y;
  bool markers = false;  // a dot per point (sparse series such as validations)
  bool dashed = false;
};

struct LineChart {
  std::string id;  // element id prefix; also the SVG file stem
  std::string title, x_label, y_label;
  bool log_y = false;
  bool y_from_zero = false;  // linear y only
  std::vector<LineSeries> series;
  NumberFormat y_format;  // default format_number
  std::string empty_message = "no data yet";
  int width = 760, height = 400;
};

// Points with a non-finite coordinate (or y <= 0 on a log axis) are left out; a chart with
// nothing to draw says so in its plot area.
std::string render_line_chart(const LineChart& chart);

struct BarSeries {
  std::string name;
  std::string color;
  std::vector<double> values;      // one per group; NaN = no bar
  std::vector<std::string> notes;  // optional second label line per group (e.g. "5.1× less")
};

struct BarChart {
  std::string id;
  std::string title, y_label;
  std::vector<std::string> groups;
  std::vector<BarSeries> series;
  NumberFormat value_format;  // ticks, and labels unless label_format; default format_number
  NumberFormat label_format;  // the value printed above each bar
  std::string empty_message = "no data yet";
  int width = 760, height = 400;
};

std::string render_bar_chart(const BarChart& chart);

// The standalone file form of a rendered chart: an XML declaration, then the <svg>.
std::string svg_document(const std::string& svg);

}  // namespace revnmt::report
