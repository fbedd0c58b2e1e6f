#include "nmt/train/train_log.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "nmt/core/error.h"
#include "nmt/core/json_text.h"

namespace revnmt {

namespace {

std::string timestamp() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  return stamp;
}

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::FILE* open_append(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "ab");
  if (file == nullptr) fail(path, ": cannot open for writing: ", std::strerror(errno));
  return file;
}

std::string group_digits(const std::string& digits) {
  std::string out;
  const size_t n = digits.size();
  for (size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

}  // namespace

std::string with_thousands(int64_t value) {
  const std::string digits = std::to_string(value < 0 ? -value : value);
  return (value < 0 ? "-" : "") + group_digits(digits);
}

std::string with_thousands(double value, int digits) {
  if (!std::isfinite(value)) return std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, std::fabs(value));
  std::string s = text;
  const size_t dot = s.find('.');
  const std::string integer = s.substr(0, dot);
  const std::string rest = dot == std::string::npos ? "" : s.substr(dot);
  return (value < 0 ? "-" : "") + group_digits(integer) + rest;
}

std::string format_duration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "?";
  const int64_t s = static_cast<int64_t>(std::llround(seconds));
  char text[48];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%lldh%02lldm%02llds", static_cast<long long>(s / 3600),
                  static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  else if (s >= 60)
    std::snprintf(text, sizeof text, "%lldm%02llds", static_cast<long long>(s / 60),
                  static_cast<long long>(s % 60));
  else
    std::snprintf(text, sizeof text, "%llds", static_cast<long long>(s));
  return text;
}

void JsonLine::key(std::string_view name) {
  if (!body_.empty()) body_ += ',';
  body_ += json_string(name);
  body_ += ':';
}

JsonLine& JsonLine::add(std::string_view name, int64_t value) {
  key(name);
  body_ += std::to_string(value);
  return *this;
}

JsonLine& JsonLine::add(std::string_view name, double value) {
  key(name);
  if (!std::isfinite(value)) {
    body_ += "null";
  } else {
    char text[40];
    std::snprintf(text, sizeof text, "%.10g", value);
    body_ += text;
  }
  return *this;
}

JsonLine& JsonLine::add(std::string_view name, bool value) {
  key(name);
  body_ += value ? "true" : "false";
  return *this;
}

JsonLine& JsonLine::add(std::string_view name, std::string_view value) {
  key(name);
  body_ += json_string(value);
  return *this;
}

JsonLine& JsonLine::add_raw(std::string_view name, const std::string& json) {
  key(name);
  body_ += json;
  return *this;
}

TrainLog::TrainLog(const std::string& run_dir, const Options& options) : options_(options) {
  tty_ = options_.progress && ::isatty(STDERR_FILENO) == 1;
  log_path_ = (std::filesystem::path(run_dir) / "train.log").string();
  metrics_path_ = (std::filesystem::path(run_dir) / "metrics.jsonl").string();
  log_ = open_append(log_path_);
  metrics_ = open_append(metrics_path_);
  struct stat st {};
  metrics_bytes_ = ::fstat(::fileno(metrics_), &st) == 0 ? int64_t(st.st_size) : 0;
}

TrainLog::~TrainLog() {
  clear_progress();
  if (log_ != nullptr) std::fclose(log_);
  if (metrics_ != nullptr) std::fclose(metrics_);
}

void TrainLog::write_line(const std::string& text, bool to_stderr) {
  const std::string line = "[" + timestamp() + "] " + text + "\n";
  if (to_stderr) {
    clear_progress();
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }
  std::fputs(line.c_str(), log_);
  std::fflush(log_);
}

void TrainLog::info(const std::string& text) { write_line(text, options_.echo); }

void TrainLog::warn(const std::string& text) { write_line("warning: " + text, true); }

void TrainLog::event(const JsonLine& record) {
  const std::string line = record.str() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), metrics_) != line.size() ||
      std::fflush(metrics_) != 0)
    fail(metrics_path_, ": write error: ", std::strerror(errno));
  metrics_bytes_ += static_cast<int64_t>(line.size());
}

int64_t TrainLog::truncate_metrics(int64_t bytes) {
  std::fflush(metrics_);
  if (metrics_bytes_ <= bytes) return 0;
  if (::ftruncate(::fileno(metrics_), bytes) != 0)
    fail(metrics_path_, ": cannot truncate: ", std::strerror(errno));
  const int64_t removed = metrics_bytes_ - bytes;
  metrics_bytes_ = bytes;
  return removed;
}

void TrainLog::progress(double fraction, const std::string& text) {
  if (!tty_ || !options_.echo) return;
  const double now = monotonic_seconds();
  if (bar_shown_ && now - last_bar_time_ < 0.25) return;
  last_bar_time_ = now;
  constexpr int kWidth = 30;
  fraction = std::min(1.0, std::max(0.0, fraction));
  const int filled = static_cast<int>(fraction * kWidth);
  std::string bar = "\r[" + std::string(filled, '#') + std::string(kWidth - filled, '.') + "] ";
  char percent[16];
  std::snprintf(percent, sizeof percent, "%3d%% ", static_cast<int>(fraction * 100));
  bar += percent + text + "\033[K";
  std::fputs(bar.c_str(), stderr);
  std::fflush(stderr);
  bar_shown_ = true;
}

void TrainLog::clear_progress() {
  if (!bar_shown_) return;
  std::fputs("\r\033[K", stderr);
  std::fflush(stderr);
  bar_shown_ = false;
}

}  // namespace revnmt
