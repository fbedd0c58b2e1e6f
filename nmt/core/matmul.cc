#include "nmt/core/matmul.h"

#include <cstring>
#include <dnnl.hpp>
#include <unordered_map>

#include "nmt/core/error.h"
#include "nmt/core/runtime.h"

namespace revnmt {

namespace {

struct Key {
  int64_t m, n, k, lda, ldb, ldc;
  bool trans_a, trans_b, accumulate;
  bool operator==(const Key& o) const {
    return m == o.m && n == o.n && k == o.k && lda == o.lda && ldb == o.ldb && ldc == o.ldc &&
           trans_a == o.trans_a && trans_b == o.trans_b && accumulate == o.accumulate;
  }
};

struct KeyHash {
  size_t operator()(const Key& key) const {
    uint64_t h = 1469598103934665603ull;
    for (int64_t v :
         {key.m, key.n, key.k, key.lda, key.ldb, key.ldc,
          int64_t(key.trans_a) | int64_t(key.trans_b) << 1 | int64_t(key.accumulate) << 2}) {
      h ^= static_cast<uint64_t>(v);
      h *= 1099511628211ull;
    }
    return static_cast<size_t>(h);
  }
};

struct Entry {
  dnnl::matmul primitive;
  dnnl::memory::desc a, b, c;
};

thread_local std::unordered_map<Key, Entry, KeyHash> cache;
thread_local MatmulStats stats;

Entry& lookup(const Key& key) {
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  using dnnl::memory;
  const auto f32 = memory::data_type::f32;
  // A logical [M,K] matrix stored row-major [M,lda], or transposed: stored [K,lda].
  memory::desc a({key.m, key.k}, f32,
                 key.trans_a ? memory::dims{1, key.lda} : memory::dims{key.lda, 1});
  memory::desc b({key.k, key.n}, f32,
                 key.trans_b ? memory::dims{1, key.ldb} : memory::dims{key.ldb, 1});
  memory::desc c({key.m, key.n}, f32, memory::dims{key.ldc, 1});
  dnnl::primitive_attr attr;
  if (key.accumulate) {
    dnnl::post_ops ops;
    ops.append_sum(1.0f);
    attr.set_post_ops(ops);
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), attr, dnnl_engine());
  ++stats.primitives_created;
  return cache.emplace(key, Entry{dnnl::matmul(pd), a, b, c}).first->second;
}

}  // namespace

void matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
            int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, bool accumulate) {
  if (m == 0 || n == 0) return;
  if (k == 0) {
    if (!accumulate)
      for (int64_t i = 0; i < m; ++i) std::memset(c + i * ldc, 0, sizeof(float) * n);
    return;
  }
  const Key key{m, n, k, lda, ldb, ldc, trans_a, trans_b, accumulate};
  Entry& entry = lookup(key);
  const auto& engine = dnnl_engine();
  // The memory objects only wrap the caller's pointers (about 0.15 us each).
  dnnl::memory am(entry.a, engine, const_cast<float*>(a));
  dnnl::memory bm(entry.b, engine, const_cast<float*>(b));
  dnnl::memory cm(entry.c, engine, c);
  auto& stream = dnnl_stream();
  entry.primitive.execute(stream, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
  stream.wait();
  ++stats.calls;
  stats.flops += 2.0 * double(m) * double(n) * double(k);
}

MatmulStats matmul_stats() { return stats; }
void reset_matmul_stats() { stats = MatmulStats{}; }

}  // namespace revnmt
