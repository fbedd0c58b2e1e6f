#include "reversible/info_buffer.h"

#include <algorithm>
#include <cmath>

#include "nmt/core/error.h"
#include "nmt/core/parallel.h"

namespace revnmt {

void SpillStack::grow() {
  const size_t capacity = std::max<size_t>(256, allocated_words_ / 16);
  chunks_.push_back({std::make_unique<uint16_t[]>(capacity), capacity});
  allocated_words_ += capacity;
  top_ = chunks_.back().data.get();
  capacity_ = capacity;
  used_ = 0;
}

void SpillStack::release_top() {
  allocated_words_ -= chunks_.back().capacity;
  chunks_.pop_back();
  if (chunks_.empty()) {
    top_ = nullptr;
    capacity_ = 0;
    return;
  }
  top_ = chunks_.back().data.get();
  capacity_ = chunks_.back().capacity;
  used_ = capacity_;  // every chunk below the top is full
}

void SpillStack::clear() {
  chunks_.clear();
  top_ = nullptr;
  used_ = capacity_ = words_ = allocated_words_ = 0;
}

void InfoBuffer::reset(int rows, int units) {
  rows_ = rows;
  units_ = units;
  words_.assign(size_t(rows) * units, kEmpty);
}

void InfoBuffer::release() {
  words_.clear();
  words_.shrink_to_fit();
  rows_ = units_ = 0;
}

bool InfoBuffer::is_empty() const {
  return std::all_of(words_.begin(), words_.end(), [](uint32_t w) { return w == kEmpty; });
}

double InfoBuffer::content_bits() const {
  double bits = 0;
  for (uint32_t w : words_) bits += std::log2(double(w) / double(kEmpty));
  return bits;
}

void fixed_multiply(int64_t* h, int64_t ld, const int32_t* z, int rows, int units, int slice,
                    const uint8_t* active, uint32_t* all_words, SpillStack& spill) {
  constexpr int kShift = InfoBuffer::kSpillBits;
  // 1. On this thread, renormalize the words that could leave [L, 2^16·L) in this step
  //    (rare). Pushes go in (row, unit) order; fixed_divide pops in the mirrored order.
  for (int b = 0; b < rows; ++b) {
    if (!active[b]) continue;
    const int32_t* zr = z + size_t(b) * units;
    uint32_t* words = all_words + size_t(b) * units;
    bool any_spill = false;
#pragma omp simd reduction(| : any_spill)
    for (int u = slice; u < units; ++u) any_spill |= words[u] >= (uint32_t(zr[u]) << kShift);
    if (!any_spill) continue;
    for (int u = slice; u < units; ++u) {
      if (words[u] >= (uint32_t(zr[u]) << kShift)) {
        spill.push(static_cast<uint16_t>(words[u]));
        words[u] >>= kShift;
      }
    }
  }
  // 2. The multiplications, row-parallel: every row touches only its own values and words.
  for_each_row(rows, units, [=](int b) {
    if (!active[b]) return;
    const int n = units, s = slice;
    int64_t* hr = h + b * ld;                     // [n]
    const int32_t* zr = z + size_t(b) * n;        // [n]
    uint32_t* words = all_words + size_t(b) * n;  // [n]
    for (int u = 0; u < s; ++u) hr[u] = (hr[u] >> fixed::kForgetRadix) * zr[u];
#pragma omp simd
    for (int u = s; u < n; ++u) {
      uint64_t word = words[u];
      multiply_into(hr[u], word, zr[u]);
      words[u] = uint32_t(word);
    }
  });
}

void fixed_divide(int64_t* h, int64_t ld, const int32_t* z, int rows, int units, int slice,
                  const uint8_t* active, uint32_t* all_words, SpillStack& spill) {
  constexpr int kShift = InfoBuffer::kSpillBits;
  // 1. The divisions, row-parallel.
  for_each_row(rows, units, [=](int b) {
    if (!active[b]) return;
    const int n = units, s = slice;
    int64_t* hr = h + b * ld;                     // [n]
    const int32_t* zr = z + size_t(b) * n;        // [n]
    uint32_t* words = all_words + size_t(b) * n;  // [n]
#pragma omp simd
    for (int u = s; u < n; ++u) {
      uint64_t word = words[u];
      divide_from(hr[u], word, zr[u]);
      words[u] = uint32_t(word);
    }
  });
  // 2. On this thread, refill the words that fell below L from the spill stack, in the
  //    exact mirror of fixed_multiply's pushes: rows backwards, units backwards.
  for (int b = rows - 1; b >= 0; --b) {
    if (!active[b]) continue;
    uint32_t* words = all_words + size_t(b) * units;
    bool any_unspill = false;
#pragma omp simd reduction(| : any_unspill)
    for (int u = slice; u < units; ++u) any_unspill |= words[u] < InfoBuffer::kEmpty;
    if (!any_unspill) continue;
    for (int u = units - 1; u >= slice; --u)
      if (words[u] < InfoBuffer::kEmpty) words[u] = (words[u] << kShift) | spill.pop();
  }
}

void lossy_multiply(int64_t* h, int64_t ld, const int32_t* z, int rows, int units,
                    const uint8_t* active) {
  for_each_row(rows, units, [=](int b) {
    if (!active[b]) return;
    const int n = units;
    int64_t* hr = h + b * ld;               // [n]
    const int32_t* zr = z + size_t(b) * n;  // [n]
#pragma omp simd
    for (int u = 0; u < n; ++u) hr[u] = (hr[u] >> fixed::kForgetRadix) * zr[u];
  });
}

}  // namespace revnmt
