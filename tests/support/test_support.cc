#include "tests/support/test_support.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace revnmt::testing {

namespace {
std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? value : fallback;
}
}  // namespace

std::string test_data_dir() { return env_or("REVNMT_TEST_DATA", REVNMT_DEFAULT_TEST_DATA); }
std::string revnmt_binary() { return env_or("REVNMT_BINARY", REVNMT_DEFAULT_BINARY); }
std::string source_dir() { return env_or("REVNMT_SOURCE_DIR", REVNMT_DEFAULT_SOURCE_DIR); }

TempDir::TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "revnmt-test-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

CommandResult run_revnmt(const std::string& args, const std::string& stdin_text,
                         int timeout_seconds) {
  TempDir dir;
  const std::string in = dir.file("stdin"), out = dir.file("stdout"), err = dir.file("stderr");
  write_text(in, stdin_text);
  const std::string limit =
      timeout_seconds > 0 ? "timeout -s KILL " + std::to_string(timeout_seconds) + " " : "";
  const std::string command =
      limit + revnmt_binary() + " " + args + " <" + in + " >" + out + " 2>" + err;
  const int status = std::system(command.c_str());
  CommandResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  result.out = read_text(out);
  result.err = read_text(err);
  return result;
}

pid_t spawn_revnmt(const std::vector<std::string>& args, const std::string& err_path,
                   bool append_err) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int err = ::open(err_path.c_str(),
                           O_WRONLY | O_CREAT | (append_err ? O_APPEND : O_TRUNC), 0644);
    const int null = ::open("/dev/null", O_RDWR);
    ::dup2(null, 0);
    ::dup2(null, 1);
    ::dup2(err, 2);
    std::vector<std::string> all = {revnmt_binary()};
    all.insert(all.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace revnmt::testing
