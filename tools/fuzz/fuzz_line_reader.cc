// libFuzzer target: the corpus reader. The input bytes are read with LineReader under both
// bad-byte policies, as they are (a gzip stream when they start with the gzip magic) and,
// when they are not gzip, also gzip-compressed. Checked for every input: only InputError
// escapes; a replaced line is valid UTF-8 without NUL, CR-LF or LF; rejection happens
// exactly when some line is bad; the gzip copy reads as the same lines with the same error.

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nmt/core/error.h"
#include "nmt/data/line_reader.h"
#include "nmt/core/utf8.h"
#include "tools/fuzz/fuzz_common.h"

namespace {

// A memory file reached through /proc/self/fd, so LineReader opens a path as usual.
class MemoryFile {
 public:
  MemoryFile() : fd_(::memfd_create("fuzz-corpus", MFD_CLOEXEC)) { FUZZ_ASSERT(fd_ >= 0); }
  std::string write(std::string_view bytes) {
    FUZZ_ASSERT(::ftruncate(fd_, 0) == 0);
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::pwrite(fd_, bytes.data() + done, bytes.size() - done, off_t(done));
      FUZZ_ASSERT(n > 0);
      done += size_t(n);
    }
    return "/proc/self/fd/" + std::to_string(fd_);
  }

 private:
  int fd_;
};

std::string gzip(std::string_view bytes) {
  z_stream z{};
  FUZZ_ASSERT(::deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(::deflateBound(&z, uLong(bytes.size())) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  z.avail_in = uInt(bytes.size());
  z.next_out = reinterpret_cast<Bytef*>(&out[0]);
  z.avail_out = uInt(out.size());
  FUZZ_ASSERT(::deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  ::deflateEnd(&z);
  return out;
}

struct Reading {
  std::vector<std::string> lines;
  std::string error;  // the InputError message with the path removed, "" when none
  int64_t replacements = 0;
};

Reading read_all(const std::string& path, revnmt::BadBytes policy) {
  Reading r;
  try {
    revnmt::LineReader reader(path, policy);
    std::string line;
    while (reader.next(line)) {
      FUZZ_ASSERT(reader.line_number() == int64_t(r.lines.size()) + 1);
      FUZZ_ASSERT(line.find('\n') == std::string::npos);
      if (policy == revnmt::BadBytes::replace)
        FUZZ_ASSERT(revnmt::find_utf8_problem(line).kind == revnmt::Utf8Problem::none);
      r.lines.push_back(line);
    }
    r.replacements = reader.replacements();
  } catch (const revnmt::InputError& e) {
    r.error = e.what();
    FUZZ_ASSERT(r.error.compare(0, path.size(), path) == 0);  // the message names the file
    r.error.erase(0, path.size());
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static MemoryFile file;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string path = file.write(bytes);
  const Reading replaced = read_all(path, revnmt::BadBytes::replace);
  const Reading rejected = read_all(path, revnmt::BadBytes::reject);
  const bool is_gzip = size >= 2 && data[0] == 0x1F && data[1] == 0x8B;
  if (!is_gzip) {
    // Plain text cannot fail under the replace policy, and rejects exactly what it replaces.
    FUZZ_ASSERT(replaced.error.empty());
    FUZZ_ASSERT(rejected.error.empty() == (replaced.replacements == 0));
    if (rejected.error.empty()) FUZZ_ASSERT(rejected.lines == replaced.lines);

    const std::string gz_path = file.write(gzip(bytes));
    const Reading gz_replaced = read_all(gz_path, revnmt::BadBytes::replace);
    const Reading gz_rejected = read_all(gz_path, revnmt::BadBytes::reject);
    FUZZ_ASSERT(gz_replaced.error.empty() && gz_replaced.lines == replaced.lines);
    FUZZ_ASSERT(gz_rejected.error == rejected.error && gz_rejected.lines == rejected.lines);
  }
  return 0;
}
