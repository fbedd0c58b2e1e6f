#pragma once
// One padded, time-major mini-batch: element (t, b) of a [T, B] array is at t * rows + b.

#include <cstdint>
#include <numeric>
#include <vector>

namespace revnmt {

struct Batch {
  int rows = 0;                  // B sentences
  int src_steps = 0;             // Ts: longest source incl. its EOS
  int tgt_steps = 0;             // Tt: longest target + 1 (BOS/EOS shifted)
  std::vector<int32_t> src;      // [Ts, B] source ids followed by EOS, then pad
  std::vector<int32_t> src_len;  // [B] incl. EOS
  std::vector<int32_t> tgt_in;   // [Tt, B] BOS y1..yn, then pad
  std::vector<int32_t> tgt_out;  // [Tt, B] y1..yn EOS, then pad
  std::vector<int32_t> tgt_len;  // [B] n+1
  std::vector<int64_t> index;    // [B] corpus index of each row

  int64_t target_tokens() const {
    return std::accumulate(tgt_len.begin(), tgt_len.end(), int64_t(0));
  }
  int64_t source_tokens() const {
    return std::accumulate(src_len.begin(), src_len.end(), int64_t(0));
  }
};

}  // namespace revnmt
