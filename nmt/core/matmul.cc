#include "nmt/core/matmul.h"

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dnnl.hpp>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "nmt/core/error.h"
#include "nmt/core/runtime.h"

namespace revnmt {

namespace {

struct Key {
  int64_t m, n, k, lda, ldb, ldc;
  bool trans_a, trans_b, accumulate, bf16;
  bool packed = false;  // B in the layout oneDNN prefers (format_tag::any); ldb, trans_b unused
  bool operator==(const Key& o) const {
    return m == o.m && n == o.n && k == o.k && lda == o.lda && ldb == o.ldb && ldc == o.ldc &&
           trans_a == o.trans_a && trans_b == o.trans_b && accumulate == o.accumulate &&
           bf16 == o.bf16 && packed == o.packed;
  }
};

struct KeyHash {
  size_t operator()(const Key& key) const {
    uint64_t h = 1469598103934665603ull;
    for (int64_t v :
         {key.m, key.n, key.k, key.lda, key.ldb, key.ldc,
          int64_t(key.trans_a) | int64_t(key.trans_b) << 1 | int64_t(key.accumulate) << 2 |
              int64_t(key.bf16) << 3 | int64_t(key.packed) << 4}) {
      h ^= static_cast<uint64_t>(v);
      h *= 1099511628211ull;
    }
    return static_cast<size_t>(h);
  }
};

struct Entry {
  dnnl::matmul primitive;
  dnnl::memory::desc a, b, c;
  dnnl::memory::desc scratchpad;
  int64_t calls = 0;  // with profiling on
  double seconds = 0;
};

// Primitives are cached per thread (row blocks multiply on several threads at once); the
// caches register themselves so that the profile covers every thread's products.
struct ThreadCache;
std::mutex registry_mutex;
std::vector<ThreadCache*> registry;

struct ThreadCache {
  std::unordered_map<Key, Entry, KeyHash> entries;
  ThreadCache() {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry.push_back(this);
  }
  ~ThreadCache() {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry.erase(std::find(registry.begin(), registry.end(), this));
  }
};
thread_local ThreadCache cache;

// Counters over all threads. FLOPs are whole numbers (2·M·N·K), so they add exactly.
std::atomic<int64_t> calls_made{0}, primitives_made{0}, flops_done{0};
std::atomic<bool> profiling{false};

Entry& lookup(const Key& key) {
  auto it = cache.entries.find(key);
  if (it != cache.entries.end()) return it->second;
  using dnnl::memory;
  const auto f32 = memory::data_type::f32;
  const auto in = key.bf16 ? memory::data_type::bf16 : f32;
  // A logical [M,K] matrix stored row-major [M,lda], or transposed: stored [K,lda].
  memory::desc a({key.m, key.k}, in,
                 key.trans_a ? memory::dims{1, key.lda} : memory::dims{key.lda, 1});
  memory::desc b =
      key.packed ? memory::desc({key.k, key.n}, in, memory::format_tag::any)
                 : memory::desc({key.k, key.n}, in,
                                key.trans_b ? memory::dims{1, key.ldb} : memory::dims{key.ldb, 1});
  memory::desc c({key.m, key.n}, f32, memory::dims{key.ldc, 1});
  dnnl::primitive_attr attr;
  // One scratchpad per thread shared by all primitives, instead of one per primitive (this
  // oneDNN build gives every primitive its own): hundreds of cached shapes stay cheap.
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  if (key.accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, dnnl_engine());
  ++primitives_made;
  return cache.entries
      .emplace(key, Entry{dnnl::matmul(pd), a, pd.weights_desc(), c, pd.scratchpad_desc()})
      .first->second;
}

// This thread's scratchpad, grown to at least `bytes` (64-byte aligned).
void* scratchpad(size_t bytes) {
  struct Free {
    void operator()(void* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<void, Free> buffer;
  thread_local size_t size = 0;
  if (bytes > size) {
    size = (bytes + 4095) / 4096 * 4096;
    buffer.reset(std::aligned_alloc(64, size));
    REVNMT_CHECK(buffer != nullptr, "out of memory for a ", size, "-byte matmul scratchpad");
  }
  return buffer.get();
}

// The product for a key whose operands are already in the key's data type (b: packed in
// entry.b's layout for packed keys).
void run(const Key& key, Entry& entry, const void* a, const void* b, float* c) {
  const auto& engine = dnnl_engine();
  // The memory objects only wrap the caller's pointers (about 0.15 us each).
  dnnl::memory am(entry.a, engine, const_cast<void*>(a));
  dnnl::memory bm(entry.b, engine, const_cast<void*>(b));
  dnnl::memory cm(entry.c, engine, c);
  // Argument maps reused across calls (building one allocates its nodes).
  thread_local std::unordered_map<int, dnnl::memory> plain_args, scratch_args;
  const size_t bytes = entry.scratchpad.get_size();
  auto& args = bytes > 0 ? scratch_args : plain_args;
  args[DNNL_ARG_SRC] = am;
  args[DNNL_ARG_WEIGHTS] = bm;
  args[DNNL_ARG_DST] = cm;
  if (bytes > 0)
    args[DNNL_ARG_SCRATCHPAD] = dnnl::memory(entry.scratchpad, engine, scratchpad(bytes));
  auto& stream = dnnl_stream();
  const auto start =
      profiling ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  entry.primitive.execute(stream, args);
  stream.wait();
  if (profiling) {
    ++entry.calls;
    // Inside a parallel region (row blocks) the team's threads multiply at the same time:
    // count each its share of the wall time.
    entry.seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
        omp_get_num_threads();
  }
  ++calls_made;
  flops_done += 2 * key.m * key.n * key.k;
}

// Handles the empty cases; returns true when there is nothing to multiply.
bool trivial(int64_t m, int64_t n, int64_t k, float* c, int64_t ldc, bool accumulate) {
  if (m == 0 || n == 0) return true;
  if (k == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i) std::memset(c + i * ldc, 0, sizeof(float) * n);
    return true;
  }
  return false;
}

inline bf16_t round_to_bf16(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  const bool nan = (bits & 0x7fffffffu) > 0x7f800000u;
  return bf16_t(nan ? (bits >> 16) | 0x40u : rounded);
}

// Conversions above this many values use the OpenMP team.
constexpr int64_t kParallelConvert = int64_t(1) << 16;

thread_local std::vector<bf16_t> scratch_a, scratch_b;

bf16_t* scratch(std::vector<bf16_t>& buffer, int64_t n) {
  if (buffer.size() < size_t(n)) buffer.resize(size_t(n));
  return buffer.data();
}

}  // namespace

const char* precision_name(Precision precision) {
  return precision == Precision::bf16 ? "bf16" : "fp32";
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  fail("precision must be fp32 or bf16, not '", name, "'");
}

namespace {

void convert_to_bf16(const float* x, int64_t n, bf16_t* out) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) out[i] = round_to_bf16(x[i]);
}

}  // namespace

void to_bf16(const float* x, int64_t n, bf16_t* out) {
  if (n < kParallelConvert || omp_in_parallel()) return convert_to_bf16(x, n, out);
  constexpr int64_t kBlock = 4096;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < n; i += kBlock) convert_to_bf16(x + i, std::min(kBlock, n - i), out + i);
}

void to_bf16(const float* x, int64_t rows, int64_t cols, int64_t ld, bf16_t* out) {
  if (ld == cols) return to_bf16(x, rows * cols, out);
#pragma omp parallel for schedule(static) if (rows * cols >= kParallelConvert && !omp_in_parallel())
  for (int64_t r = 0; r < rows; ++r) convert_to_bf16(x + r * ld, cols, out + r * cols);
}

void matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
            int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (trivial(m, n, k, c, ldc, accumulate)) return;
  const Key key{m, n, k, lda, ldb, ldc, trans_a, trans_b, accumulate, false};
  run(key, lookup(key), a, b, c);
}

void matmul_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const bf16_t* a,
                 int64_t lda, const bf16_t* b, int64_t ldb, float* c, int64_t ldc,
                 bool accumulate) {
  if (trivial(m, n, k, c, ldc, accumulate)) return;
  const Key key{m, n, k, lda, ldb, ldc, trans_a, trans_b, accumulate, true};
  run(key, lookup(key), a, b, c);
}

void matmul_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (trivial(m, n, k, c, ldc, accumulate)) return;
  // The stored blocks, densely: A is [M, K] or (transposed) [K, M]; likewise B.
  const int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k;
  const int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n;
  bf16_t* a16 = scratch(scratch_a, a_rows * a_cols);
  bf16_t* b16 = scratch(scratch_b, b_rows * b_cols);
  to_bf16(a, a_rows, a_cols, lda, a16);
  to_bf16(b, b_rows, b_cols, ldb, b16);
  matmul_bf16(trans_a, trans_b, m, n, k, a16, a_cols, b16, b_cols, c, ldc, accumulate);
}

// ---- packed right-hand matrices

struct PackedMatrix::Impl {
  int64_t k = 0, n = 0;
  Precision precision = Precision::fp32;
  dnnl::memory::desc desc;  // the layout pack() chose
  dnnl::memory memory;
  // Copies in other layouts, made on demand if oneDNN ever asks for another one for some M.
  std::mutex mutex;
  std::vector<std::pair<dnnl::memory::desc, dnnl::memory>> others;

  const void* packed_for(const dnnl::memory::desc& want) {
    if (want == desc) return memory.get_data_handle();
    std::lock_guard<std::mutex> lock(mutex);
    for (const auto& [d, m] : others)
      if (d == want) return m.get_data_handle();
    dnnl::memory dst(want, dnnl_engine());
    auto& stream = dnnl_stream();
    dnnl::reorder(memory, dst).execute(stream, memory, dst);
    stream.wait();
    others.emplace_back(want, dst);
    return dst.get_data_handle();
  }
};

PackedMatrix::PackedMatrix() = default;
PackedMatrix::~PackedMatrix() = default;
PackedMatrix::PackedMatrix(PackedMatrix&&) noexcept = default;
PackedMatrix& PackedMatrix::operator=(PackedMatrix&&) noexcept = default;

void PackedMatrix::pack(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb,
                        Precision precision) {
  REVNMT_CHECK(k > 0 && n > 0, "packing a ", k, "x", n, " matrix");
  // The layout oneDNN picks is the same for every M (tests/core checks it): use M = 64's.
  const Key key{64, n, k, k, 0, n, false, false, false, precision == Precision::bf16, true};
  const dnnl::memory::desc desc = lookup(key).b;
  // Packing again into the same layout reuses the memory (no allocator churn per batch).
  if (!impl_ || !(impl_->desc == desc)) {
    impl_ = std::make_unique<Impl>();
    impl_->desc = desc;
    impl_->memory = dnnl::memory(desc, dnnl_engine());
  }
  Impl& p = *impl_;
  p.k = k;
  p.n = n;
  p.precision = precision;
  p.others.clear();
  // op(B) [K, N] as stored; the reorder transposes and (bf16) rounds to nearest even.
  using dnnl::memory;
  dnnl::memory src(memory::desc({k, n}, memory::data_type::f32,
                                trans_b ? memory::dims{1, ldb} : memory::dims{ldb, 1}),
                   dnnl_engine(), const_cast<float*>(b));
  auto& stream = dnnl_stream();
  dnnl::reorder(src, p.memory).execute(stream, src, p.memory);
  stream.wait();
}

int64_t PackedMatrix::k() const { return impl_ ? impl_->k : 0; }
int64_t PackedMatrix::n() const { return impl_ ? impl_->n : 0; }
Precision PackedMatrix::precision() const { return impl_ ? impl_->precision : Precision::fp32; }

// a_is_bf16: A is bf16 already (else f32, rounded here when B is bf16).
void matmul_packed(int64_t m, const void* a, bool a_is_bf16, int64_t lda, const PackedMatrix& b,
                   float* c, int64_t ldc, bool accumulate) {
  REVNMT_CHECK(!b.empty(), "multiplying by a matrix that was never packed");
  PackedMatrix::Impl& p = *b.impl_;
  const int64_t k = p.k, n = p.n;
  if (trivial(m, n, k, c, ldc, accumulate)) return;
  const bool bf16 = p.precision == Precision::bf16;
  REVNMT_CHECK(bf16 || !a_is_bf16, "bf16 rows times an fp32 packed matrix");
  const void* a_data = a;
  int64_t ld = lda;
  if (bf16 && !a_is_bf16) {
    bf16_t* a16 = scratch(scratch_a, m * k);
    to_bf16(static_cast<const float*>(a), m, k, lda, a16);
    a_data = a16;
    ld = k;
  }
  const Key key{m, n, k, ld, 0, ldc, false, false, accumulate, bf16, true};
  Entry& entry = lookup(key);
  run(key, entry, a_data, p.packed_for(entry.b), c);
}

void matmul_packed(int64_t m, const float* a, int64_t lda, const PackedMatrix& b, float* c,
                   int64_t ldc, bool accumulate) {
  matmul_packed(m, a, false, lda, b, c, ldc, accumulate);
}

void matmul_packed(int64_t m, const bf16_t* a, int64_t lda, const PackedMatrix& b, float* c,
                   int64_t ldc, bool accumulate) {
  matmul_packed(m, a, true, lda, b, c, ldc, accumulate);
}

MatmulStats matmul_stats() {
  MatmulStats stats;
  stats.calls = calls_made;
  stats.primitives_created = primitives_made;
  stats.flops = double(flops_done);
  return stats;
}

void reset_matmul_stats() {
  calls_made = primitives_made = flops_done = 0;
  std::lock_guard<std::mutex> lock(registry_mutex);
  for (ThreadCache* thread : registry)
    for (auto& [key, entry] : thread->entries) entry.calls = 0, entry.seconds = 0;
}

void set_matmul_profiling(bool on) { profiling = on; }

std::vector<MatmulShapeProfile> matmul_profile() {
  std::vector<MatmulShapeProfile> out;
  std::lock_guard<std::mutex> lock(registry_mutex);
  for (const ThreadCache* thread : registry)
    for (const auto& [key, entry] : thread->entries) {
      if (entry.calls == 0) continue;
      MatmulShapeProfile p;
      p.m = key.m, p.k = key.k, p.n = key.n;
      p.kind = std::string(key.trans_a ? "t" : "n") + (key.trans_b ? "t" : "n") +
               (key.bf16 ? " bf16" : "") + (key.accumulate ? " +=" : "");
      p.calls = entry.calls;
      p.seconds = entry.seconds;
      p.flops = 2.0 * double(key.m) * double(key.n) * double(key.k) * double(entry.calls);
      out.push_back(p);
    }
  std::sort(out.begin(), out.end(), [](const MatmulShapeProfile& a, const MatmulShapeProfile& b) {
    return a.seconds > b.seconds;
  });
  return out;
}

}  // namespace revnmt
