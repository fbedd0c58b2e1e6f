#pragma once
// The files revnmt-bench writes and tools/bench/pytorch/bench_torch.py reads, so both
// implementations see exactly the same batches, test sentences and (for translation)
// weights. All little-endian; every file starts with a 4-byte magic and a u32 version.
//
//   batches.bin  "RVBT" 1 u32 count, then per batch: i32 rows, src_steps, tgt_steps,
//                src[Ts*B], src_len[B], tgt_in[Tt*B], tgt_out[Tt*B], tgt_len[B]
//                (time-major, exactly revnmt's Batch)
//   test.bin     "RVTS" 1 u32 count, then per sentence: i32 n, ids[n] (no EOS)
//   hyps.bin     "RVHY" 1 the same layout as test.bin: best hypothesis ids per sentence
//   weights.bin  "RVWT" 1 u32 count, then per tensor: u32 name_len, name, u32 ndim,
//                i64 dims[ndim], f32 data

#include <cstdint>
#include <string>
#include <vector>

#include "nmt/core/params.h"
#include "nmt/data/batch.h"

namespace revnmt::bench {

void write_batches(const std::string& path, const std::vector<Batch>& batches);
std::vector<Batch> read_batches(const std::string& path);

void write_sentences(const std::string& path, const char magic[4],
                     const std::vector<std::vector<int32_t>>& sentences);
std::vector<std::vector<int32_t>> read_sentences(const std::string& path, const char magic[4]);

void write_weights(const std::string& path, const ParameterSet& params);

}  // namespace revnmt::bench
