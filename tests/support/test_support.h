#pragma once
// Helpers shared by the test suites: paths handed in by ctest, temporary directories,
// running the revnmt binary, thread counts.

#include <omp.h>
#include <sys/types.h>

#include <string>
#include <vector>

namespace revnmt::testing {

// Directory of committed test fixtures (tests/fixtures).
std::string test_data_dir();
// The built revnmt executable.
std::string revnmt_binary();
// The repository's top directory.
std::string source_dir();

// OpenMP's thread count set for a scope, restored when the object dies.
class ThreadScope {
 public:
  explicit ThreadScope(int threads) : before_(omp_get_max_threads()) {
    omp_set_num_threads(threads);
  }
  ~ThreadScope() { omp_set_num_threads(before_); }
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;

 private:
  int before_;
};

// A fresh empty directory, removed with its contents when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `revnmt <args>` through /bin/sh (args are passed verbatim, quote as needed), with
// optional stdin text. With timeout_seconds > 0 the command is killed (SIGKILL, exit code
// 128 + 9) after that long: a command that hangs fails its test instead of stalling the suite.
CommandResult run_revnmt(const std::string& args, const std::string& stdin_text = "",
                         int timeout_seconds = 0);

// Starts `revnmt args...` in the background, stdin and stdout on /dev/null, stderr into
// `err_path` (truncated, or appended to with append_err). Returns the child's pid.
pid_t spawn_revnmt(const std::vector<std::string>& args, const std::string& err_path,
                   bool append_err = false);

void write_text(const std::string& path, const std::string& text);
std::string read_text(const std::string& path);

}  // namespace revnmt::testing
