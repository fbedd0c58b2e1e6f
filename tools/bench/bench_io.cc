#include "tools/bench/bench_io.h"

#include <cstdio>
#include <cstring>
#include <memory>

#include "nmt/core/error.h"

namespace revnmt::bench {

namespace {

constexpr uint32_t kVersion = 1;

struct File {
  std::FILE* f = nullptr;
  std::string path;
  File(const std::string& p, const char* mode) : f(std::fopen(p.c_str(), mode)), path(p) {
    if (f == nullptr) fail("cannot open ", p);
  }
  ~File() {
    if (f != nullptr) std::fclose(f);
  }
  void write(const void* data, size_t bytes) {
    if (bytes > 0 && std::fwrite(data, 1, bytes, f) != bytes) fail("cannot write ", path);
  }
  void read(void* data, size_t bytes) {
    if (bytes > 0 && std::fread(data, 1, bytes, f) != bytes) fail(path, ": truncated");
  }
  template <typename T>
  void put(T v) {
    write(&v, sizeof v);
  }
  template <typename T>
  T get() {
    T v;
    read(&v, sizeof v);
    return v;
  }
  template <typename T>
  void put_vector(const std::vector<T>& v) {
    write(v.data(), v.size() * sizeof(T));
  }
  template <typename T>
  std::vector<T> get_vector(size_t n) {
    std::vector<T> v(n);
    read(v.data(), n * sizeof(T));
    return v;
  }
  void header(const char magic[4], uint32_t count) {
    write(magic, 4);
    put(kVersion);
    put(count);
  }
  uint32_t check_header(const char magic[4]) {
    char m[4];
    read(m, 4);
    if (std::memcmp(m, magic, 4) != 0) fail(path, ": not a ", std::string(magic, 4), " file");
    if (get<uint32_t>() != kVersion) fail(path, ": unknown version");
    return get<uint32_t>();
  }
};

}  // namespace

void write_batches(const std::string& path, const std::vector<Batch>& batches) {
  File file(path, "wb");
  file.header("RVBT", uint32_t(batches.size()));
  for (const Batch& b : batches) {
    file.put<int32_t>(b.rows);
    file.put<int32_t>(b.src_steps);
    file.put<int32_t>(b.tgt_steps);
    file.put_vector(b.src);
    file.put_vector(b.src_len);
    file.put_vector(b.tgt_in);
    file.put_vector(b.tgt_out);
    file.put_vector(b.tgt_len);
  }
}

std::vector<Batch> read_batches(const std::string& path) {
  File file(path, "rb");
  const uint32_t count = file.check_header("RVBT");
  std::vector<Batch> batches(count);
  for (Batch& b : batches) {
    b.rows = file.get<int32_t>();
    b.src_steps = file.get<int32_t>();
    b.tgt_steps = file.get<int32_t>();
    const size_t rows = size_t(b.rows);
    b.src = file.get_vector<int32_t>(size_t(b.src_steps) * rows);
    b.src_len = file.get_vector<int32_t>(rows);
    b.tgt_in = file.get_vector<int32_t>(size_t(b.tgt_steps) * rows);
    b.tgt_out = file.get_vector<int32_t>(size_t(b.tgt_steps) * rows);
    b.tgt_len = file.get_vector<int32_t>(rows);
    b.index.resize(rows);
    for (size_t i = 0; i < rows; ++i) b.index[i] = int64_t(i);
  }
  return batches;
}

void write_sentences(const std::string& path, const char magic[4],
                     const std::vector<std::vector<int32_t>>& sentences) {
  File file(path, "wb");
  file.header(magic, uint32_t(sentences.size()));
  for (const auto& s : sentences) {
    file.put<int32_t>(int32_t(s.size()));
    file.put_vector(s);
  }
}

std::vector<std::vector<int32_t>> read_sentences(const std::string& path, const char magic[4]) {
  File file(path, "rb");
  const uint32_t count = file.check_header(magic);
  std::vector<std::vector<int32_t>> sentences(count);
  for (auto& s : sentences) s = file.get_vector<int32_t>(size_t(file.get<int32_t>()));
  return sentences;
}

void write_weights(const std::string& path, const ParameterSet& params) {
  File file(path, "wb");
  file.header("RVWT", uint32_t(params.size()));
  for (size_t i = 0; i < params.size(); ++i) {
    const Parameter& p = params[i];
    file.put<uint32_t>(uint32_t(p.name.size()));
    file.write(p.name.data(), p.name.size());
    const Shape& shape = p.value.shape();
    file.put<uint32_t>(uint32_t(shape.ndim()));
    for (int d = 0; d < shape.ndim(); ++d) file.put<int64_t>(shape[d]);
    file.write(p.data(), size_t(p.numel()) * sizeof(float));
  }
}

}  // namespace revnmt::bench
