#include "nmt/data/line_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "nmt/core/error.h"
#include "nmt/core/utf8.h"

namespace revnmt {

namespace {

constexpr size_t kChunk = size_t(1) << 17;

[[noreturn]] void fail_gzip(const std::string& name, int64_t lines, const char* why) {
  if (lines == 0) fail(name, ": corrupt gzip data at the start (", why, ")");
  fail(name, ": corrupt gzip data after line ", lines, " (", why, ")");
}

}  // namespace

struct LineReader::Inflater {
  z_stream stream{};
  std::string input = std::string(kChunk, '\0');
  bool in_member = true;  // inside a gzip member (its end not reached yet)

  Inflater() {
    if (::inflateInit2(&stream, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
  }
  ~Inflater() { ::inflateEnd(&stream); }
};

LineReader::LineReader(std::string path, BadBytes policy)
    : path_(std::move(path)), display_name_(path_ == "-" ? "<stdin>" : path_), policy_(policy) {
  if (path_ == "-") {
    fd_ = STDIN_FILENO;
  } else {
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      const int error = errno;
      if (error == ENOENT) fail(path_, ": no such file");
      fail(path_, ": cannot open: ", std::strerror(error));
    }
    struct stat st {};
    if (::fstat(fd_, &st) == 0 && S_ISDIR(st.st_mode)) {
      ::close(fd_);
      fail(path_, ": is a directory, expected a text file");
    }
  }
  try {
    buffer_.resize(kChunk);
    // Read until the two magic bytes are known (a pipe may deliver one byte at a time).
    while (end_ < 2 && !raw_eof_) end_ += read_raw(&buffer_[end_], kChunk - end_);
    if (end_ >= 2 && static_cast<unsigned char>(buffer_[0]) == 0x1F &&
        static_cast<unsigned char>(buffer_[1]) == 0x8B) {
      inflater_ = std::make_unique<Inflater>();
      std::memcpy(&inflater_->input[0], buffer_.data(), end_);
      inflater_->stream.next_in = reinterpret_cast<Bytef*>(&inflater_->input[0]);
      inflater_->stream.avail_in = static_cast<uInt>(end_);
      end_ = 0;
    }
  } catch (...) {
    if (fd_ != STDIN_FILENO) ::close(fd_);
    throw;
  }
}

LineReader::~LineReader() {
  if (fd_ >= 0 && fd_ != STDIN_FILENO) ::close(fd_);
}

// One read(2): returns as soon as some bytes are available; 0 (and raw_eof_) at the end.
size_t LineReader::read_raw(char* data, size_t size) {
  for (;;) {
    const ssize_t n = ::read(fd_, data, size);
    if (n > 0) return static_cast<size_t>(n);
    if (n == 0) {
      raw_eof_ = true;
      return 0;
    }
    if (errno != EINTR) fail(display_name_, ": read error: ", std::strerror(errno));
  }
}

// Decompresses into `out`; returns the bytes produced, 0 only at the end of the input.
size_t LineReader::inflate_into(char* out, size_t size) {
  z_stream& z = inflater_->stream;
  z.next_out = reinterpret_cast<Bytef*>(out);
  z.avail_out = static_cast<uInt>(size);
  while (z.avail_out == size) {
    if (z.avail_in == 0 && !raw_eof_) {
      z.avail_in = static_cast<uInt>(read_raw(&inflater_->input[0], kChunk));
      z.next_in = reinterpret_cast<Bytef*>(&inflater_->input[0]);
    }
    if (!inflater_->in_member) {
      if (z.avail_in == 0) break;  // clean end after the last member
      // Concatenated members are one stream (as gzip -d does); zero padding is tolerated.
      if (z.next_in[0] == 0) {
        const Bytef* begin = z.next_in;
        const Bytef* end = begin + z.avail_in;
        if (std::find_if(begin, end, [](Bytef b) { return b != 0; }) != end)
          fail_gzip(display_name_, line_number_, "trailing garbage after the compressed data");
        z.avail_in = 0;
        continue;
      }
      if (z.next_in[0] != 0x1F)
        fail_gzip(display_name_, line_number_, "trailing garbage after the compressed data");
      ::inflateReset(&z);
      inflater_->in_member = true;
    }
    if (z.avail_in == 0) {
      fail_gzip(display_name_, line_number_, "unexpected end of file: truncated?");
    }
    const int status = ::inflate(&z, Z_NO_FLUSH);
    if (status == Z_STREAM_END) {
      inflater_->in_member = false;
    } else if (status != Z_OK && status != Z_BUF_ERROR) {
      if (status == Z_MEM_ERROR) throw std::bad_alloc();
      fail_gzip(display_name_, line_number_, z.msg != nullptr ? z.msg : "inflate failed");
    }
  }
  return size - z.avail_out;
}

// Moves the unconsumed bytes to the front and appends more. Returns false at the end.
bool LineReader::fill() {
  if (eof_) return false;
  if (pos_ > 0) {
    std::memmove(&buffer_[0], buffer_.data() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (buffer_.size() - end_ < kChunk) buffer_.resize(end_ + kChunk);
  const size_t n = inflater_ != nullptr ? inflate_into(&buffer_[end_], kChunk)
                                        : (raw_eof_ ? 0 : read_raw(&buffer_[end_], kChunk));
  if (n == 0) {
    eof_ = true;
    return false;
  }
  end_ += n;
  return true;
}

bool LineReader::next(std::string& line) {
  line.clear();
  // Bytes before `scanned` hold no '\n': a multi-megabyte line is scanned once, not per read.
  size_t scanned = pos_;
  size_t newline;
  for (;;) {
    const void* hit = std::memchr(buffer_.data() + scanned, '\n', end_ - scanned);
    if (hit != nullptr) {
      newline = static_cast<size_t>(static_cast<const char*>(hit) - buffer_.data());
      break;
    }
    const size_t pending = end_ - pos_;
    if (!fill()) {
      if (pos_ == end_) return false;
      newline = end_;  // last line without a final newline
      break;
    }
    scanned = pending;  // fill() moved the pending bytes to the front
  }
  size_t length = newline - pos_;
  if (length > 0 && buffer_[pos_ + length - 1] == '\r') --length;
  line.assign(buffer_, pos_, length);
  pos_ = std::min(newline + 1, end_);
  ++line_number_;
  // A byte-order mark at the very start marks the encoding; it is not text.
  if (line_number_ == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);

  line_replacements_ = 0;
  const Utf8Problem problem = find_utf8_problem(line);
  if (problem.kind != Utf8Problem::none) {
    if (policy_ == BadBytes::reject) {
      if (problem.kind == Utf8Problem::nul)
        fail(display_name_, ":", line_number_, ": NUL byte at byte ", problem.offset + 1,
             " (expected UTF-8 text)");
      fail(display_name_, ":", line_number_, ": invalid UTF-8 at byte ", problem.offset + 1,
           " (expected UTF-8 text)");
    }
    line_replacements_ = repair_utf8(line);
    replacements_ += line_replacements_;
  }
  return true;
}

std::vector<std::string> read_lines(const std::string& path, BadBytes policy) {
  LineReader reader(path, policy);
  std::vector<std::string> lines;
  for (std::string line; reader.next(line);) lines.push_back(line);
  return lines;
}

}  // namespace revnmt
