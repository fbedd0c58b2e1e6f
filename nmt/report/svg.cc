#include "nmt/report/svg.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

namespace revnmt::report {

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        // Control characters other than tab/newline are not allowed in XML 1.0 at all.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n' && c != '\r')
          out += "\xEF\xBF\xBD";  // U+FFFD
        else
          out += c;
    }
  }
  return out;
}

namespace {

std::string printf_text(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

// "%.3g" without an exponent for the magnitudes used here.
std::string three_digits(double value) {
  const double a = std::fabs(value);
  if (a >= 100) return printf_text("%.0f", value);
  if (a >= 10) return printf_text("%.1f", value);
  if (a >= 1) return printf_text("%.2f", value);
  return printf_text("%.3g", value);
}

// Removes trailing zeros of a fixed-point text: "1.50" -> "1.5", "2.00" -> "2".
std::string trim_zeros(std::string text) {
  if (text.find('.') == std::string::npos || text.find('e') != std::string::npos) return text;
  while (!text.empty() && text.back() == '0') text.pop_back();
  if (!text.empty() && text.back() == '.') text.pop_back();
  return text;
}

std::string thousands(long long value) {
  std::string digits = std::to_string(value < 0 ? -value : value);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return value < 0 ? "-" + out : out;
}

std::string coord(double value) { return trim_zeros(printf_text("%.2f", value)); }

}  // namespace

std::string format_number(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "n/a" : (value > 0 ? "∞" : "-∞");
  const double a = std::fabs(value);
  if (a == 0) return "0";
  if (a >= 1e9) return trim_zeros(three_digits(value / 1e9)) + "G";
  if (a >= 1e6) return trim_zeros(three_digits(value / 1e6)) + "M";
  if (a >= 1e4) return trim_zeros(three_digits(value / 1e3)) + "k";
  if (a >= 1000 || std::nearbyint(value) == value) return thousands(std::llround(value));
  return trim_zeros(three_digits(value));
}

std::string format_bytes(double bytes) {
  if (!std::isfinite(bytes)) return format_number(bytes);
  const double a = std::fabs(bytes);
  if (a < 1024) return printf_text("%.0f", bytes) + " B";
  if (a < 1024.0 * 1024) return trim_zeros(three_digits(bytes / 1024)) + " KiB";
  if (a < 1024.0 * 1024 * 1024) return trim_zeros(three_digits(bytes / 1048576.0)) + " MiB";
  return trim_zeros(three_digits(bytes / 1073741824.0)) + " GiB";
}

Scale Scale::linear(double lo, double hi, double pixel_lo, double pixel_hi, bool zero) {
  Scale s;
  if (zero) {
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
  }
  if (!(hi > lo)) {  // one value (or none): a unit-wide window around it
    const double pad = lo == 0 ? 1.0 : std::fabs(lo) * 0.5;
    lo -= pad;
    hi += pad;
    if (zero && lo < 0 && hi - pad >= 0) lo = 0;
  }
  const double raw = (hi - lo) / 5.0;
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  const double norm = raw / magnitude;
  const double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * magnitude;
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  s.lo_ = first * step;
  s.hi_ = last * step;
  for (double k = first; k <= last + 0.5; k += 1) {
    const double t = k * step;
    s.ticks_.push_back(std::fabs(t) < step * 1e-9 ? 0.0 : t);
  }
  s.pixel_lo_ = pixel_lo;
  s.pixel_hi_ = pixel_hi;
  return s;
}

Scale Scale::log10(double lo, double hi, double pixel_lo, double pixel_hi) {
  Scale s;
  s.log_ = true;
  if (!(lo > 0)) lo = hi > 0 ? hi : 1.0;
  if (!(hi >= lo)) hi = lo;
  // Bounds on the 1-2-5 ladder around the data (a hair of tolerance keeps an exact 100 as
  // the bound instead of widening past it).
  auto ladder = [](double exponent, int step) {
    return std::array<double, 3>{1, 2, 5}[step] * std::pow(10.0, exponent);
  };
  double e_lo = std::floor(std::log10(lo) + 1e-9);
  int k_lo = 0;
  for (int k = 2; k >= 0; --k)
    if (ladder(e_lo, k) <= lo * (1 + 1e-9)) {
      k_lo = k;
      break;
    }
  double e_hi = std::floor(std::log10(hi) + 1e-9);
  int k_hi = -1;
  for (int k = 0; k <= 2; ++k)
    if (ladder(e_hi, k) >= hi * (1 - 1e-9)) {
      k_hi = k;
      break;
    }
  if (k_hi < 0) {
    e_hi += 1;
    k_hi = 0;
  }
  s.lo_ = ladder(e_lo, k_lo);
  s.hi_ = ladder(e_hi, k_hi);
  if (!(s.hi_ > s.lo_)) s.hi_ = s.lo_ * 10;  // one value on the ladder: a decade above it
  // Ticks: the 1-2-5 ladder when the domain spans at most two decades, else decades only
  // (every other one beyond eight).
  const double decades = std::log10(s.hi_ / s.lo_);
  const int every = decades > 8 ? 2 : 1;
  for (double e = e_lo; e <= std::ceil(std::log10(s.hi_)) + 0.5; e += 1) {
    for (int k = 0; k <= 2; ++k) {
      if (k > 0 && decades > 2) break;
      if (k == 0 && int(e - e_lo) % every != 0) continue;
      const double t = ladder(e, k);
      if (t >= s.lo_ * (1 - 1e-9) && t <= s.hi_ * (1 + 1e-9)) s.ticks_.push_back(t);
    }
  }
  s.pixel_lo_ = pixel_lo;
  s.pixel_hi_ = pixel_hi;
  return s;
}

double Scale::operator()(double value) const {
  double f;
  if (log_)
    f = (std::log10(value) - std::log10(lo_)) / (std::log10(hi_) - std::log10(lo_));
  else
    f = (value - lo_) / (hi_ - lo_);
  return pixel_lo_ + f * (pixel_hi_ - pixel_lo_);
}

namespace {

constexpr int kMarginLeft = 84, kMarginRight = 24, kMarginBottom = 56, kTitleHeight = 30;
constexpr int kLegendRow = 20;

struct Frame {
  double left, right, top, bottom;
};

struct LegendItem {
  std::string name, color;
  bool dashed = false, marker = false, bar = false;
};

// Width of a legend entry: the swatch, a gap and the name (~7 px per character at 12 px).
double legend_item_width(const LegendItem& item) { return 48.0 + 7.2 * double(item.name.size()); }

// Legend rows needed at this width (entries laid out left to right, wrapping).
int legend_rows(const std::vector<LegendItem>& items, double width) {
  if (items.empty()) return 0;
  int rows = 1;
  double x = 0;
  for (const auto& item : items) {
    const double w = legend_item_width(item);
    if (x > 0 && x + w > width) {
      ++rows;
      x = 0;
    }
    x += w;
  }
  return rows;
}

void draw_legend(std::string& out, const std::vector<LegendItem>& items, double left, double top,
                 double width) {
  if (items.empty()) return;
  out += "<g class=\"legend\">";
  double x = 0, y = top;
  for (const auto& item : items) {
    const double w = legend_item_width(item);
    if (x > 0 && x + w > width) {
      x = 0;
      y += kLegendRow;
    }
    const double cx = left + x, cy = y + kLegendRow / 2.0;
    const std::string color = xml_escape(item.color);
    if (item.bar) {
      out += "<rect x=\"" + coord(cx) + "\" y=\"" + coord(cy - 6) +
             "\" width=\"22\" height=\"12\" fill=\"" + color + "\"/>";
    } else {
      out += "<line x1=\"" + coord(cx) + "\" y1=\"" + coord(cy) + "\" x2=\"" + coord(cx + 22) +
             "\" y2=\"" + coord(cy) + "\" stroke=\"" + color + "\" stroke-width=\"2\"" +
             (item.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>";
      if (item.marker)
        out += "<circle cx=\"" + coord(cx + 11) + "\" cy=\"" + coord(cy) + "\" r=\"3.5\" fill=\"" +
               color + "\"/>";
    }
    out += "<text x=\"" + coord(cx + 28) + "\" y=\"" + coord(cy + 4) + "\">" +
           xml_escape(item.name) + "</text>";
    x += w;
  }
  out += "</g>\n";
}

std::string svg_open(const std::string& id, const std::string& title, int width, int height) {
  const std::string w = std::to_string(width), h = std::to_string(height);
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"" + xml_escape(id) +
                    "\" width=\"" + w + "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " + h +
                    "\" role=\"img\" font-family=\"DejaVu Sans, Arial, Helvetica, sans-serif\" "
                    "font-size=\"12\" fill=\"#222\">\n";
  out += "<title>" + xml_escape(title) + "</title>\n";
  out += "<rect width=\"" + w + "\" height=\"" + h + "\" fill=\"#ffffff\"/>\n";
  out += "<text class=\"chart-title\" x=\"" + coord(width / 2.0) +
         "\" y=\"20\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">" +
         xml_escape(title) + "</text>\n";
  return out;
}

// Grid lines, axis lines, y ticks with labels, axis titles.
void draw_y_axis(std::string& out, const Scale& y, const Frame& f, const NumberFormat& format,
                 const std::string& label) {
  out += "<g class=\"y-axis\">";
  for (double t : y.ticks()) {
    const double py = y(t);
    out += "<line x1=\"" + coord(f.left) + "\" y1=\"" + coord(py) + "\" x2=\"" + coord(f.right) +
           "\" y2=\"" + coord(py) + "\" stroke=\"#e3e3e3\"/>";
    out += "<line x1=\"" + coord(f.left - 5) + "\" y1=\"" + coord(py) + "\" x2=\"" + coord(f.left) +
           "\" y2=\"" + coord(py) + "\" stroke=\"#444\"/>";
    out += "<text class=\"tick\" x=\"" + coord(f.left - 8) + "\" y=\"" + coord(py + 4) +
           "\" text-anchor=\"end\">" + xml_escape(format(t)) + "</text>";
  }
  out += "<line x1=\"" + coord(f.left) + "\" y1=\"" + coord(f.top) + "\" x2=\"" + coord(f.left) +
         "\" y2=\"" + coord(f.bottom) + "\" stroke=\"#444\"/>";
  const double cy = (f.top + f.bottom) / 2;
  out += "<text class=\"axis-label\" x=\"16\" y=\"" + coord(cy) +
         "\" text-anchor=\"middle\" transform=\"rotate(-90 16 " + coord(cy) + ")\">" +
         xml_escape(label + (y.is_log() ? " (log scale)" : "")) + "</text>";
  out += "</g>\n";
}

void draw_no_data(std::string& out, const Frame& f, const std::string& message) {
  out += "<text class=\"no-data\" x=\"" + coord((f.left + f.right) / 2) + "\" y=\"" +
         coord((f.top + f.bottom) / 2) + "\" text-anchor=\"middle\" fill=\"#888\">" +
         xml_escape(message) + "</text>\n";
}

}  // namespace

std::string render_line_chart(const LineChart& chart) {
  const NumberFormat y_format = chart.y_format ? chart.y_format : NumberFormat(format_number);
  std::vector<LegendItem> legend;
  for (const auto& s : chart.series)
    legend.push_back({s.name, s.color, s.dashed, s.markers, false});
  const double legend_width = chart.width - kMarginLeft - kMarginRight;
  const int rows = legend_rows(legend, legend_width);

  Frame f;
  f.left = kMarginLeft;
  f.right = chart.width - kMarginRight;
  f.top = kTitleHeight + rows * kLegendRow + 10;
  f.bottom = chart.height - kMarginBottom;

  // The points that can be drawn, and their extent.
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!chart.log_y || y > 0);
  };
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  size_t points = 0;
  for (const auto& s : chart.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      ++points;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  std::string out = svg_open(chart.id, chart.title, chart.width, chart.height);
  draw_legend(out, legend, f.left, kTitleHeight, legend_width);
  if (points == 0) {
    x_lo = 0;
    x_hi = 1;
    y_lo = chart.log_y ? 1 : 0;
    y_hi = chart.log_y ? 10 : 1;
  }
  const Scale x = Scale::linear(x_lo, x_hi, f.left, f.right, /*zero=*/true);
  const Scale y = chart.log_y ? Scale::log10(y_lo, y_hi, f.bottom, f.top)
                              : Scale::linear(y_lo, y_hi, f.bottom, f.top, chart.y_from_zero);

  draw_y_axis(out, y, f, y_format, chart.y_label);
  out += "<g class=\"x-axis\">";
  for (double t : x.ticks()) {
    const double px = x(t);
    out += "<line x1=\"" + coord(px) + "\" y1=\"" + coord(f.bottom) + "\" x2=\"" + coord(px) +
           "\" y2=\"" + coord(f.bottom + 5) + "\" stroke=\"#444\"/>";
    out += "<text class=\"tick\" x=\"" + coord(px) + "\" y=\"" + coord(f.bottom + 19) +
           "\" text-anchor=\"middle\">" + xml_escape(format_number(t)) + "</text>";
  }
  out += "<line x1=\"" + coord(f.left) + "\" y1=\"" + coord(f.bottom) + "\" x2=\"" +
         coord(f.right) + "\" y2=\"" + coord(f.bottom) + "\" stroke=\"#444\"/>";
  out += "<text class=\"axis-label\" x=\"" + coord((f.left + f.right) / 2) + "\" y=\"" +
         coord(chart.height - 12.0) + "\" text-anchor=\"middle\">" + xml_escape(chart.x_label) +
         "</text>";
  out += "</g>\n";

  if (points == 0) {
    draw_no_data(out, f, chart.empty_message);
  } else {
    for (const auto& s : chart.series) {
      std::string coords;
      std::vector<std::pair<double, double>> drawn;
      for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
        if (!usable(s.x[i], s.y[i])) continue;
        drawn.emplace_back(x(s.x[i]), y(s.y[i]));
        coords += (coords.empty() ? "" : " ") + coord(drawn.back().first) + "," +
                  coord(drawn.back().second);
      }
      if (drawn.empty()) continue;
      const std::string color = xml_escape(s.color);
      out += "<g class=\"series\" data-series=\"" + xml_escape(s.name) + "\">";
      if (drawn.size() > 1)
        out += "<polyline fill=\"none\" stroke=\"" + color +
               "\" stroke-width=\"2\" stroke-linejoin=\"round\"" +
               (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + " points=\"" + coords + "\"/>";
      if (s.markers || drawn.size() == 1)
        for (const auto& [px, py] : drawn)
          out += "<circle cx=\"" + coord(px) + "\" cy=\"" + coord(py) + "\" r=\"3.5\" fill=\"" +
                 color + "\"/>";
      out += "</g>\n";
    }
  }
  out += "</svg>\n";
  return out;
}

std::string render_bar_chart(const BarChart& chart) {
  const NumberFormat format = chart.value_format ? chart.value_format : NumberFormat(format_number);
  const NumberFormat label = chart.label_format ? chart.label_format : format;
  std::vector<LegendItem> legend;
  for (const auto& s : chart.series) legend.push_back({s.name, s.color, false, false, true});
  const double legend_width = chart.width - kMarginLeft - kMarginRight;
  const int rows = legend_rows(legend, legend_width);
  Frame f;
  f.left = kMarginLeft;
  f.right = chart.width - kMarginRight;
  f.top = kTitleHeight + rows * kLegendRow + 10;
  f.bottom = chart.height - kMarginBottom + 16;  // group names only, no axis title below

  double hi = -INFINITY;
  bool any_note = false;
  for (const auto& s : chart.series) {
    for (double v : s.values)
      if (std::isfinite(v)) hi = std::max(hi, v);
    for (const auto& note : s.notes) any_note = any_note || !note.empty();
  }
  const bool empty = !std::isfinite(hi);
  // Head room above the tallest bar for its labels.
  const double headroom = any_note ? 1.22 : 1.12;
  const Scale y = Scale::linear(0, empty ? 1.0 : std::max(hi, 0.0) * headroom, f.bottom, f.top,
                                /*zero=*/true);

  std::string out = svg_open(chart.id, chart.title, chart.width, chart.height);
  draw_legend(out, legend, f.left, kTitleHeight, legend_width);
  draw_y_axis(out, y, f, format, chart.y_label);
  out += "<line x1=\"" + coord(f.left) + "\" y1=\"" + coord(f.bottom) + "\" x2=\"" +
         coord(f.right) + "\" y2=\"" + coord(f.bottom) + "\" stroke=\"#444\"/>\n";

  const size_t groups = chart.groups.size(), series = chart.series.size();
  const double group_width = groups > 0 ? (f.right - f.left) / double(groups) : 0;
  const double bar_width = series > 0 ? std::min(90.0, group_width * 0.8 / double(series)) : 0;
  for (size_t g = 0; g < groups; ++g) {
    const double center = f.left + group_width * (double(g) + 0.5);
    out += "<text class=\"group\" x=\"" + coord(center) + "\" y=\"" + coord(f.bottom + 20) +
           "\" text-anchor=\"middle\" font-weight=\"bold\">" + xml_escape(chart.groups[g]) +
           "</text>\n";
    const double first = center - bar_width * double(series) / 2.0;
    for (size_t s = 0; s < series; ++s) {
      const BarSeries& bar = chart.series[s];
      const double v = g < bar.values.size() ? bar.values[g] : NAN;
      if (!std::isfinite(v)) continue;
      const double x0 = first + bar_width * double(s), top = y(std::max(v, 0.0));
      const double cx = x0 + bar_width / 2;
      out += "<g class=\"bar\" data-series=\"" + xml_escape(bar.name) + "\" data-group=\"" +
             xml_escape(chart.groups[g]) + "\">";
      out += "<rect x=\"" + coord(x0 + 2) + "\" y=\"" + coord(top) + "\" width=\"" +
             coord(std::max(bar_width - 4, 1.0)) + "\" height=\"" + coord(f.bottom - top) +
             "\" fill=\"" + xml_escape(bar.color) + "\"/>";
      out += "<text class=\"value\" x=\"" + coord(cx) + "\" y=\"" + coord(top - 5) +
             "\" text-anchor=\"middle\" font-size=\"11\">" + xml_escape(label(v)) + "</text>";
      if (g < bar.notes.size() && !bar.notes[g].empty())
        out += "<text class=\"note\" x=\"" + coord(cx) + "\" y=\"" + coord(top - 19) +
               "\" text-anchor=\"middle\" font-size=\"11\" font-weight=\"bold\">" +
               xml_escape(bar.notes[g]) + "</text>";
      out += "</g>\n";
    }
  }
  if (empty || groups == 0) draw_no_data(out, f, chart.empty_message);
  out += "</svg>\n";
  return out;
}

std::string svg_document(const std::string& svg) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg;
}

}  // namespace revnmt::report
