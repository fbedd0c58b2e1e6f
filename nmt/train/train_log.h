#pragma once
// What a training run tells its user: timestamped lines in Marian's style on stderr and in
// <run_dir>/train.log (the same text), one JSON object per event in <run_dir>/metrics.jsonl
// for plotting, and a progress bar with ETA on stderr when stderr is a terminal (never in
// train.log).

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace revnmt {

// "1,234,567"
std::string with_thousands(int64_t value);
// "%.<digits>f" with thousands separators in the integer part: "5,123.4".
std::string with_thousands(double value, int digits);
// "1h02m03s", "4m05s", "12s".
std::string format_duration(double seconds);

// One metrics.jsonl record, built key by key: {"kind":"train","update":100,...}.
class JsonLine {
 public:
  JsonLine& add(std::string_view key, int64_t value);
  JsonLine& add(std::string_view key, int value) { return add(key, int64_t(value)); }
  JsonLine& add(std::string_view key, double value);  // non-finite -> null
  JsonLine& add(std::string_view key, bool value);
  JsonLine& add(std::string_view key, std::string_view value);
  JsonLine& add(std::string_view key, const char* value) {
    return add(key, std::string_view(value));
  }
  // A nested object: add_raw("encoder", other.str()).
  JsonLine& add_raw(std::string_view key, const std::string& json);
  std::string str() const { return "{" + body_ + "}"; }

 private:
  void key(std::string_view name);
  std::string body_;
};

class TrainLog {
 public:
  struct Options {
    bool echo = true;      // info lines on stderr (warnings always go there)
    bool progress = true;  // a progress bar when stderr is a terminal
  };

  // Opens train.log (append) and metrics.jsonl (append) in `run_dir`.
  TrainLog(const std::string& run_dir, const Options& options);
  ~TrainLog();
  TrainLog(const TrainLog&) = delete;
  TrainLog& operator=(const TrainLog&) = delete;

  void info(const std::string& text);
  void warn(const std::string& text);  // "warning: " + text
  // A line for train.log only (e.g. the error the CLI prints on stderr itself).
  void file_only(const std::string& text) { write_line(text, false); }

  // Appends one line to metrics.jsonl and flushes it.
  void event(const JsonLine& record);
  // Bytes in metrics.jsonl so far.
  int64_t metrics_bytes() const { return metrics_bytes_; }
  // Cuts metrics.jsonl back to `bytes` (events written after a checkpoint that a resume
  // repeats). Returns the bytes removed (0 when the file was not longer).
  int64_t truncate_metrics(int64_t bytes);

  // Redraws the progress bar (throttled): fraction in [0, 1] and a short text.
  void progress(double fraction, const std::string& text);
  void clear_progress();

  const std::string& log_path() const { return log_path_; }
  const std::string& metrics_path() const { return metrics_path_; }

 private:
  void write_line(const std::string& text, bool to_stderr);

  Options options_;
  bool tty_ = false;
  bool bar_shown_ = false;
  double last_bar_time_ = -1.0;
  std::string log_path_, metrics_path_;
  std::FILE* log_ = nullptr;
  std::FILE* metrics_ = nullptr;
  int64_t metrics_bytes_ = 0;
};

}  // namespace revnmt
