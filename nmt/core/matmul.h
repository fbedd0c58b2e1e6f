#pragma once
// Dense matrix multiply on oneDNN's matmul primitive, one primitive per shape, created
// once and cached. Row-major, with leading dimensions, so strided column blocks of larger
// matrices can be multiplied in place.
//
// Why the matmul primitive and not dnnl_sgemm: with a fixed (K, N) the primitive computes
// every output row with the same instruction sequence whatever M is, so a row's result
// does not depend on which other rows share the call. Translation relies on this to be
// batch-invariant; tests/core checks it. dnnl_sgemm with a transposed B is not.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace revnmt {

// Arithmetic of the multiplies that may run in reduced precision (the input projections,
// attention and the output layer): fp32, or bf16 operands (rounded to nearest even) with f32
// accumulation and f32 results (oneDNN's avx512_core_bf16 kernels).
enum class Precision { fp32, bf16 };
const char* precision_name(Precision precision);
// "fp32" or "bf16"; InputError otherwise.
Precision parse_precision(const std::string& name);

// A bfloat16 number: the upper 16 bits of an IEEE float.
using bf16_t = uint16_t;

// out[i] = x[i] rounded to the nearest bf16, ties to even (NaN stays NaN). The result
// depends only on x[i], so conversions are deterministic and batch-invariant.
void to_bf16(const float* x, int64_t n, bf16_t* out);
// A rows × cols block of a row-major matrix with leading dimension ld, to a dense
// [rows, cols] bf16 matrix.
void to_bf16(const float* x, int64_t rows, int64_t cols, int64_t ld, bf16_t* out);
inline float bf16_to_float(bf16_t v) {
  const uint32_t bits = uint32_t(v) << 16;
  float f;
  __builtin_memcpy(&f, &bits, sizeof f);
  return f;
}

struct MatmulStats {
  int64_t calls = 0;
  int64_t primitives_created = 0;
  double flops = 0;
};

// C[M,N] = op(A)[M,K] · op(B)[K,N]  (accumulate: C += ...).
// op(A) = A (A stored [M, lda]) or Aᵀ (A stored [K, lda]); likewise for B.
void matmul(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
            int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
            bool accumulate = false);

// The same product with bf16 operands (f32 accumulation, f32 C). The row results are
// independent of M for a fixed (K, N), as for f32.
void matmul_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const bf16_t* a,
                 int64_t lda, const bf16_t* b, int64_t ldb, float* c, int64_t ldc,
                 bool accumulate = false);
// f32 operands rounded to bf16 (into internal scratch) first.
void matmul_bf16(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, const float* a,
                 int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,
                 bool accumulate = false);
// matmul() or the converting matmul_bf16(), by precision.
inline void matmul(Precision precision, bool trans_a, bool trans_b, int64_t m, int64_t n,
                   int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                   int64_t ldc, bool accumulate = false) {
  if (precision == Precision::bf16)
    matmul_bf16(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
  else
    matmul(trans_a, trans_b, m, n, k, a, lda, b, ldb, c, ldc, accumulate);
}

// A constant right-hand matrix (a layer's weights during translation) copied once into the
// blocked layout oneDNN's matmul prefers (format_tag::any): multiplies by it are faster,
// above all with few rows (a 1..16-row product with the 300x8000 output layer runs 2-6x
// faster than from the plain transposed weights). Row results do not depend on M (as for
// matmul()), but are not bit-identical to matmul()'s. Pack again whenever the weights change.
class PackedMatrix {
 public:
  PackedMatrix();
  ~PackedMatrix();
  PackedMatrix(PackedMatrix&&) noexcept;
  PackedMatrix& operator=(PackedMatrix&&) noexcept;

  // op(B) [K, N] as in matmul(): B stored [K, ldb], or (trans_b) [N, ldb]. With bf16 the
  // values are rounded to bf16 once here.
  void pack(bool trans_b, int64_t k, int64_t n, const float* b, int64_t ldb,
            Precision precision = Precision::fp32);
  bool empty() const { return impl_ == nullptr; }
  int64_t k() const;
  int64_t n() const;
  Precision precision() const;

 private:
  friend void matmul_packed(int64_t, const void*, bool, int64_t, const PackedMatrix&, float*,
                            int64_t, bool);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// C[M,N] (+)= A[M,K] (stored [M, lda]) · B (packed). In bf16, A is rounded to bf16 first.
void matmul_packed(int64_t m, const float* a, int64_t lda, const PackedMatrix& b, float* c,
                   int64_t ldc, bool accumulate = false);
// The same with A already in bf16 (B must have been packed in bf16).
void matmul_packed(int64_t m, const bf16_t* a, int64_t lda, const PackedMatrix& b, float* c,
                   int64_t ldc, bool accumulate = false);

// Plain contiguous forms.
// C[M,N] (+)= A[M,K] · B[K,N]
inline void matmul_nn(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c,
                      bool accumulate = false) {
  matmul(false, false, m, n, k, a, k, b, n, c, n, accumulate);
}
// C[M,N] (+)= A[M,K] · B[N,K]ᵀ
inline void matmul_nt(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c,
                      bool accumulate = false) {
  matmul(false, true, m, n, k, a, k, b, k, c, n, accumulate);
}
// C[M,N] (+)= A[K,M]ᵀ · B[K,N]
inline void matmul_tn(int64_t m, int64_t n, int64_t k, const float* a, const float* b, float* c,
                      bool accumulate = false) {
  matmul(true, false, m, n, k, a, m, b, n, c, n, accumulate);
}

MatmulStats matmul_stats();
void reset_matmul_stats();

// Optional per-shape timing (for benchmarks; off by default, costs two clock reads per call).
struct MatmulShapeProfile {
  int64_t m = 0, k = 0, n = 0;
  std::string kind;  // "nt bf16 +=": transposes, precision, accumulation
  int64_t calls = 0;
  double seconds = 0;
  double flops = 0;
};
void set_matmul_profiling(bool on);
// Every thread's shapes (a shape multiplied on several threads appears once per thread),
// most time first.
std::vector<MatmulShapeProfile> matmul_profile();

}  // namespace revnmt
