#pragma once
// The container of model files and checkpoints: named sections of bytes or of named
// tensors, a format version, and a CRC-32 over everything, written atomically.
//
//   "REVNMT\r\n"                       magic (the CR LF catches text-mode mangling)
//   u32 format version, u32 section count
//   per section: u32 name length, name, u8 kind (0 bytes, 1 tensors), u64 length, payload
//   u32 CRC-32 of all preceding bytes
// A tensors payload: u32 count; per tensor: u32 name length, name, u8 dtype, u8 ndim,
// i64 dims[ndim], raw little-endian data.
//
// Reading validates every length against the bytes that remain, so a truncated,
// corrupted or foreign file is a clear InputError naming the path, never a crash.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "nmt/core/tensor.h"

namespace revnmt {

struct NamedTensor {
  std::string name;
  Tensor tensor;
};

class Archive {
 public:
  static constexpr uint32_t kFormatVersion = 1;

  void set_bytes(const std::string& section, std::string bytes);
  void set_tensors(const std::string& section, std::vector<NamedTensor> tensors);

  bool has(const std::string& section) const;
  // Throw InputError naming the file and the missing section.
  const std::string& bytes(const std::string& section) const;
  const std::vector<NamedTensor>& tensors(const std::string& section) const;

  std::string serialize() const;
  // `path` names the source in error messages.
  static Archive parse(std::string_view data, const std::string& path);

  void save(const std::string& path) const;  // atomic: temp file, fsync, rename
  static Archive load(const std::string& path);

  const std::string& path() const { return path_; }

 private:
  struct Section {
    bool is_tensors = false;
    std::string bytes;
    std::vector<NamedTensor> tensors;
  };
  const Section& section(const std::string& name) const;

  std::vector<std::string> order_;  // sections in insertion order
  std::map<std::string, Section> sections_;
  std::string path_ = "<memory>";
};

}  // namespace revnmt
