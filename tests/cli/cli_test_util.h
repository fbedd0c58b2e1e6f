#pragma once
// Helpers of the command-line tests: background processes, lines, one-line errors.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace revnmt::testing {

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Runs `revnmt <args>` like run_revnmt, killed after `seconds` (exit code 128 + 9 then).
inline CommandResult run_cli(const std::string& args, const std::string& stdin_text = "",
                             int seconds = 120) {
  return run_revnmt(args, stdin_text, seconds);
}

// The files of a directory (names only), sorted.
inline std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace revnmt::testing
