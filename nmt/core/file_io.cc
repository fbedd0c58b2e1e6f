#include "nmt/core/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "nmt/core/error.h"

namespace revnmt {

namespace {

std::string errno_text() { return std::strerror(errno); }

void fsync_directory_of(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

std::string temp_path_for(const std::string& path) {
  return path + ".tmp." + std::to_string(::getpid());
}

}  // namespace

void require_readable_file(const std::string& path, std::string_view what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) fail(path, ": cannot open ", what, ": ", errno_text());
  if (S_ISDIR(st.st_mode)) fail(path, ": expected ", what, " but this is a directory");
  if (::access(path.c_str(), R_OK) != 0) fail(path, ": cannot read ", what, ": ", errno_text());
}

std::string read_file(const std::string& path) {
  require_readable_file(path, "a file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) fail(path, ": cannot open: ", errno_text());
  std::string bytes;
  char chunk[1 << 16];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) bytes.append(chunk, n);
  const bool error = std::ferror(f) != 0;
  std::fclose(f);
  if (error) fail(path, ": read error");
  return bytes;
}

bool file_exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

void make_directories(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) fail(path, ": cannot create directory: ", ec.message());
}

void write_file_atomic(const std::string& path, std::string_view bytes) {
  AtomicFileWriter writer(path);
  writer.write(bytes);
  writer.commit();
}

AtomicFileWriter::AtomicFileWriter(std::string path) : path_(std::move(path)) {
  if (path_ == "-") {
    to_stdout_ = true;
    file_ = stdout;
    return;
  }
  struct stat st {};
  if (::stat(path_.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    fail(path_, ": expected an output file but this is a directory");
  temp_path_ = temp_path_for(path_);
  file_ = std::fopen(temp_path_.c_str(), "wb");
  if (file_ == nullptr) fail(path_, ": cannot write: ", errno_text());
}

AtomicFileWriter::~AtomicFileWriter() {
  if (to_stdout_) {
    std::fflush(stdout);
    return;
  }
  if (!committed_ && file_ != nullptr) {
    std::fclose(file_);
    std::remove(temp_path_.c_str());
  }
}

void AtomicFileWriter::write(std::string_view bytes) {
  if (bytes.empty()) return;
  if (std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size())
    fail(path_, ": write error: ", errno_text());
}

void AtomicFileWriter::flush() { std::fflush(file_); }

void AtomicFileWriter::commit() {
  if (to_stdout_) {
    std::fflush(stdout);
    committed_ = true;
    return;
  }
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
    const std::string why = errno_text();
    std::fclose(file_);
    file_ = nullptr;
    std::remove(temp_path_.c_str());
    fail(path_, ": write error: ", why);
  }
  std::fclose(file_);
  file_ = nullptr;
  if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const std::string why = errno_text();
    std::remove(temp_path_.c_str());
    fail(path_, ": cannot rename temporary file into place: ", why);
  }
  fsync_directory_of(path_);
  committed_ = true;
}

uint32_t crc32_of(std::string_view bytes, uint32_t crc) {
  uLong value = crc;
  constexpr size_t kPiece = size_t(1) << 30;  // zlib takes 32-bit lengths
  for (size_t at = 0; at < bytes.size(); at += kPiece) {
    const size_t n = std::min(kPiece, bytes.size() - at);
    value = ::crc32(value, reinterpret_cast<const Bytef*>(bytes.data() + at), static_cast<uInt>(n));
  }
  return static_cast<uint32_t>(value);
}

}  // namespace revnmt
