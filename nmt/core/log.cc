#include "nmt/core/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace revnmt {

namespace {
std::atomic<LogLevel> level{LogLevel::info};
std::mutex mutex;
}  // namespace

void set_log_level(LogLevel new_level) { level = new_level; }
LogLevel log_level() { return level; }

void log_line(LogLevel, const std::string& text) {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
  std::lock_guard<std::mutex> lock(mutex);
  std::fprintf(stderr, "[%s] %s\n", stamp, text.c_str());
  std::fflush(stderr);
}

}  // namespace revnmt
