#pragma once
// Timestamped log lines on stderr, in the style of Marian: "[2026-11-27 05:52:27] text".

#include <sstream>
#include <string>
#include <utility>

namespace revnmt {

enum class LogLevel { quiet = 0, warn = 1, info = 2 };
void set_log_level(LogLevel level);
LogLevel log_level();

void log_line(LogLevel level, const std::string& text);

template <typename... Parts>
void log_info(Parts&&... parts) {
  if (log_level() < LogLevel::info) return;
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  log_line(LogLevel::info, out.str());
}

template <typename... Parts>
void log_warn(Parts&&... parts) {
  if (log_level() < LogLevel::warn) return;
  std::ostringstream out;
  out << "warning: ";
  (out << ... << std::forward<Parts>(parts));
  log_line(LogLevel::warn, out.str());
}

}  // namespace revnmt
