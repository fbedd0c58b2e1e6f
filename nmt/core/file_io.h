#pragma once
// Files are read with errors that name the path, and written atomically: into a temporary
// file beside the target, flushed to disk (fsync), then renamed over the target, so a
// crash at any moment leaves either the old file or the complete new one.

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace revnmt {

// Whole file as bytes. Throws InputError naming the path (missing, directory, unreadable).
std::string read_file(const std::string& path);

// Throws InputError unless `path` is an existing readable regular file.
void require_readable_file(const std::string& path, std::string_view what);

bool file_exists(const std::string& path);
void make_directories(const std::string& path);

// Writes `bytes` to `path` atomically.
void write_file_atomic(const std::string& path, std::string_view bytes);

// Streams into "<path>.tmp.<pid>" and renames it to `path` on commit(). If the writer is
// destroyed without commit() (an exception, a signal handler's exit), the temporary file
// is removed and `path` is untouched. path "-" writes to stdout directly.
class AtomicFileWriter {
 public:
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(std::string_view bytes);
  void flush();
  void commit();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
  bool to_stdout_ = false;
  bool committed_ = false;
};

// CRC-32 (zlib polynomial) of a byte range; `crc` chains calls.
uint32_t crc32_of(std::string_view bytes, uint32_t crc = 0);

}  // namespace revnmt
