#include "reversible/info_buffer.h"

#include <algorithm>
#include <cmath>

#include "nmt/core/error.h"

namespace revnmt {

void SpillStack::grow() {
  const size_t capacity = std::max<size_t>(256, allocated_words_ / 16);
  chunks_.push_back({std::make_unique<uint32_t[]>(capacity), capacity});
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
  return std::all_of(words_.begin(), words_.end(), [](uint64_t w) { return w == kEmpty; });
}

double InfoBuffer::content_bits() const {
  double bits = 0;
  for (uint64_t w : words_) bits += std::log2(double(w) / double(kEmpty));
  return bits;
}

void fixed_multiply(int64_t* h, int64_t ld, const int32_t* z, int rows, int units, int slice,
                    const uint8_t* active, InfoBuffer& buffer, SpillStack& spill) {
  const int buffered = units - slice;
  for (int b = 0; b < rows; ++b) {
    if (!active[b]) continue;
    int64_t* hr = h + b * ld;
    const int32_t* zr = z + size_t(b) * units;
    uint64_t* words = buffer.row(b);
    const int32_t* zb = zr + slice;
    int64_t* hb = hr + slice;

    // Renormalize words that could overflow 2^42 after this step (rare: once per ~32
    // forgotten bits per unit). Pushes go in unit order; the reverse pops in reverse.
    bool any_spill = false;
    for (int d = 0; d < buffered; ++d) any_spill |= words[d] >= (uint64_t(zb[d]) << 32);
    if (any_spill) {
      for (int d = 0; d < buffered; ++d) {
        if (words[d] >= (uint64_t(zb[d]) << 32)) {
          spill.push(static_cast<uint32_t>(words[d]));
          words[d] >>= 32;
        }
      }
    }
    for (int u = 0; u < slice; ++u) hr[u] = (hr[u] >> fixed::kForgetRadix) * zr[u];
#pragma omp simd
    for (int d = 0; d < buffered; ++d) multiply_into(hb[d], words[d], zb[d]);
  }
}

void fixed_divide(int64_t* h, int64_t ld, const int32_t* z, int rows, int units, int slice,
                  const uint8_t* active, InfoBuffer& buffer, SpillStack& spill) {
  const int buffered = units - slice;
  for (int b = rows - 1; b >= 0; --b) {
    if (!active[b]) continue;
    int64_t* hb = h + b * ld + slice;
    const int32_t* zb = z + size_t(b) * units + slice;
    uint64_t* words = buffer.row(b);
    bool any_unspill = false;
#pragma omp simd reduction(| : any_unspill)
    for (int d = 0; d < buffered; ++d) {
      divide_from(hb[d], words[d], zb[d]);
      any_unspill |= words[d] < InfoBuffer::kEmpty;
    }
    if (any_unspill) {
      for (int d = buffered - 1; d >= 0; --d)
        if (words[d] < InfoBuffer::kEmpty) words[d] = (words[d] << 32) | spill.pop();
    }
  }
}

void lossy_multiply(int64_t* h, int64_t ld, const int32_t* z, int rows, int units,
                    const uint8_t* active) {
  for (int b = 0; b < rows; ++b) {
    if (!active[b]) continue;
    int64_t* hr = h + b * ld;
    const int32_t* zr = z + size_t(b) * units;
#pragma omp simd
    for (int u = 0; u < units; ++u) hr[u] = (hr[u] >> fixed::kForgetRadix) * zr[u];
  }
}

}  // namespace revnmt
