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

namespace revnmt {

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

}  // namespace revnmt
