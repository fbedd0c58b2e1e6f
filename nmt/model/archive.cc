#include "nmt/model/archive.h"

#include <cstring>
#include <algorithm>

#include "nmt/core/error.h"
#include "nmt/core/file_io.h"

namespace revnmt {

namespace {

constexpr char kMagic[8] = {'R', 'E', 'V', 'N', 'M', 'T', '\r', '\n'};
constexpr int64_t kMaxElements = int64_t(1) << 40;

template <typename T>
void put(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof value);
}

void put_string(std::string& out, const std::string& s) {
  put<uint32_t>(out, uint32_t(s.size()));
  out += s;
}

// Bounds-checked reading; every failure names the file.
class Reader {
 public:
  Reader(std::string_view data, const std::string& path) : data_(data), path_(path) {}
  template <typename T>
  T get(const char* what) {
    need(sizeof(T), what);
    T value;
    std::memcpy(&value, data_.data() + at_, sizeof value);
    at_ += sizeof value;
    return value;
  }
  std::string_view take(uint64_t n, const char* what) {
    need(n, what);
    std::string_view out = data_.substr(at_, n);
    at_ += n;
    return out;
  }
  std::string get_string(const char* what) {
    const uint32_t n = get<uint32_t>(what);
    return std::string(take(n, what));
  }
  bool done() const { return at_ == data_.size(); }

 private:
  void need(uint64_t n, const char* what) const {
    if (n > data_.size() - at_)
      fail(path_, ": the file is truncated or malformed (", what, " runs past the end)");
  }
  std::string_view data_;
  size_t at_ = 0;
  const std::string& path_;
};

std::string serialize_tensors(const std::vector<NamedTensor>& tensors) {
  std::string out;
  put<uint32_t>(out, uint32_t(tensors.size()));
  for (const auto& [name, tensor] : tensors) {
    put_string(out, name);
    put<uint8_t>(out, uint8_t(tensor.dtype()));
    put<uint8_t>(out, uint8_t(tensor.ndim()));
    for (int i = 0; i < tensor.ndim(); ++i) put<int64_t>(out, tensor.dim(i));
    out.append(static_cast<const char*>(tensor.raw()), tensor.nbytes());
  }
  return out;
}

std::vector<NamedTensor> parse_tensors(std::string_view payload, const std::string& path,
                                       const std::string& section) {
  Reader in(payload, path);
  const uint32_t count = in.get<uint32_t>("tensor count");
  std::vector<NamedTensor> tensors;
  for (uint32_t i = 0; i < count; ++i) {
    NamedTensor named;
    named.name = in.get_string("tensor name");
    const uint8_t dtype = in.get<uint8_t>("tensor dtype");
    const uint8_t ndim = in.get<uint8_t>("tensor rank");
    if (dtype > uint8_t(DType::i64) || ndim < 1 || ndim > Shape::kMaxDims)
      fail(path, ": section '", section, "': tensor '", named.name, "' has an invalid header");
    int64_t dims[Shape::kMaxDims] = {0, 0, 0, 0};
    int64_t elements = 1;
    for (int d = 0; d < ndim; ++d) {
      dims[d] = in.get<int64_t>("tensor shape");
      // Divide before multiplying: the product of two valid dimensions may overflow.
      if (dims[d] < 0 || dims[d] > kMaxElements / elements)
        fail(path, ": section '", section, "': tensor '", named.name, "' has an invalid shape");
      elements *= std::max<int64_t>(dims[d], 1);
    }
    Shape shape = ndim == 1   ? Shape{dims[0]}
                  : ndim == 2 ? Shape{dims[0], dims[1]}
                  : ndim == 3 ? Shape{dims[0], dims[1], dims[2]}
                              : Shape{dims[0], dims[1], dims[2], dims[3]};
    const size_t bytes = size_t(shape.numel()) * dtype_size(DType(dtype));
    const std::string_view data = in.take(bytes, "tensor data");
    named.tensor.resize(shape, DType(dtype));
    if (bytes > 0) std::memcpy(named.tensor.raw(), data.data(), bytes);
    tensors.push_back(std::move(named));
  }
  if (!in.done()) fail(path, ": section '", section, "' has trailing bytes");
  return tensors;
}

}  // namespace

void Archive::set_bytes(const std::string& name, std::string bytes) {
  if (!has(name)) order_.push_back(name);
  Section& s = sections_[name];
  s.is_tensors = false;
  s.bytes = std::move(bytes);
  s.tensors.clear();
}

void Archive::set_tensors(const std::string& name, std::vector<NamedTensor> tensors) {
  if (!has(name)) order_.push_back(name);
  Section& s = sections_[name];
  s.is_tensors = true;
  s.bytes.clear();
  s.tensors = std::move(tensors);
}

bool Archive::has(const std::string& name) const { return sections_.count(name) > 0; }

const Archive::Section& Archive::section(const std::string& name) const {
  auto it = sections_.find(name);
  if (it == sections_.end()) fail(path_, ": no '", name, "' section in this file");
  return it->second;
}

const std::string& Archive::bytes(const std::string& name) const {
  const Section& s = section(name);
  if (s.is_tensors) fail(path_, ": section '", name, "' holds tensors, expected bytes");
  return s.bytes;
}

const std::vector<NamedTensor>& Archive::tensors(const std::string& name) const {
  const Section& s = section(name);
  if (!s.is_tensors) fail(path_, ": section '", name, "' holds bytes, expected tensors");
  return s.tensors;
}

std::string Archive::serialize() const {
  std::string out(kMagic, sizeof kMagic);
  put<uint32_t>(out, kFormatVersion);
  put<uint32_t>(out, uint32_t(order_.size()));
  for (const std::string& name : order_) {
    const Section& s = sections_.at(name);
    put_string(out, name);
    put<uint8_t>(out, s.is_tensors ? 1 : 0);
    const std::string payload = s.is_tensors ? serialize_tensors(s.tensors) : std::string();
    const std::string& body = s.is_tensors ? payload : s.bytes;
    put<uint64_t>(out, uint64_t(body.size()));
    out += body;
  }
  put<uint32_t>(out, crc32_of(out));
  return out;
}

Archive Archive::parse(std::string_view data, const std::string& path) {
  if (data.size() < sizeof kMagic || std::memcmp(data.data(), kMagic, sizeof kMagic) != 0)
    fail(path, ": not a revnmt model or checkpoint (unrecognized file header)");
  if (data.size() < sizeof kMagic + 12)
    fail(path, ": the file is truncated (", data.size(), " bytes)");
  uint32_t version;
  std::memcpy(&version, data.data() + sizeof kMagic, sizeof version);
  if (version != kFormatVersion)
    fail(path, ": model format version ", version, "; this revnmt reads version ", kFormatVersion);
  uint32_t stored_crc;
  std::memcpy(&stored_crc, data.data() + data.size() - 4, 4);
  if (crc32_of(data.substr(0, data.size() - 4)) != stored_crc)
    fail(path, ": checksum mismatch: the file is corrupted or truncated");

  Archive archive;
  archive.path_ = path;
  Reader in(data.substr(sizeof kMagic + 4, data.size() - sizeof kMagic - 8), path);
  const uint32_t count = in.get<uint32_t>("section count");
  for (uint32_t i = 0; i < count; ++i) {
    const std::string name = in.get_string("section name");
    const uint8_t kind = in.get<uint8_t>("section kind");
    const uint64_t length = in.get<uint64_t>("section length");
    const std::string_view payload = in.take(length, "section payload");
    if (kind > 1) fail(path, ": section '", name, "' has an unknown kind ", int(kind));
    if (archive.has(name)) fail(path, ": section '", name, "' appears twice");
    if (kind == 1)
      archive.set_tensors(name, parse_tensors(payload, path, name));
    else
      archive.set_bytes(name, std::string(payload));
  }
  if (!in.done()) fail(path, ": trailing bytes after the last section");
  return archive;
}

void Archive::save(const std::string& path) const { write_file_atomic(path, serialize()); }

Archive Archive::load(const std::string& path) { return parse(read_file(path), path); }

}  // namespace revnmt
