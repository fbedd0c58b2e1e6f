#pragma once
// Streams text lines from a plain or gzip-compressed file (recognised by its magic bytes,
// whatever its name) or from stdin ("-"), in constant memory apart from the current line.
// Reads return as soon as a line is complete, so an interactive pipe is served line by line.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace revnmt {

// What to do with bytes that are not valid UTF-8 text (invalid sequences, NUL).
enum class BadBytes {
  reject,   // corpus files: InputError "PATH:LINE: invalid UTF-8 at byte N"
  replace,  // translation input: each bad sequence becomes U+FFFD and is counted
};

class LineReader {
 public:
  explicit LineReader(std::string path, BadBytes policy = BadBytes::reject);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // Reads the next line into `line` without its "\n" or "\r\n" (a final line without a
  // newline counts too). Returns false at the end of the input. Throws InputError naming
  // the path for read errors, corrupt gzip data and, under BadBytes::reject, bad bytes.
  bool next(std::string& line);

  // 1-based number of the line last returned by next() (0 before the first).
  int64_t line_number() const { return line_number_; }
  // U+FFFD substitutions made so far, and in the line last returned (BadBytes::replace).
  int64_t replacements() const { return replacements_; }
  int64_t line_replacements() const { return line_replacements_; }

  // The path as given; display_name() is "<stdin>" for "-".
  const std::string& path() const { return path_; }
  const std::string& display_name() const { return display_name_; }
  // True when the input is a gzip stream.
  bool compressed() const { return inflater_ != nullptr; }

 private:
  struct Inflater;

  size_t read_raw(char* data, size_t size);
  bool fill();
  size_t inflate_into(char* out, size_t size);

  std::string path_;
  std::string display_name_;
  BadBytes policy_;
  int fd_ = -1;
  bool raw_eof_ = false;
  std::unique_ptr<Inflater> inflater_;  // set for gzip input
  std::string buffer_;                  // text bytes; buffer_[pos_, end_) is not consumed yet
  size_t pos_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  int64_t line_number_ = 0;
  int64_t replacements_ = 0;
  int64_t line_replacements_ = 0;
};

// Every line of a plain or gzip file (or "-"), as next() returns them; InputError as next().
std::vector<std::string> read_lines(const std::string& path, BadBytes policy = BadBytes::reject);

}  // namespace revnmt
