#pragma once
// Process-wide compute runtime: the oneDNN CPU engine and stream (created once), and the
// thread count shared by oneDNN (OpenMP) and revnmt's own kernels.

#include <dnnl.hpp>

namespace revnmt {

const dnnl::engine& dnnl_engine();
dnnl::stream& dnnl_stream();

// Sets the OpenMP thread count once for the process (n <= 0: keep OMP_NUM_THREADS or the
// number of cores).
void set_num_threads(int n);
int num_threads();

}  // namespace revnmt
