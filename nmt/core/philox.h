#pragma once
// Philox4x32-10 counter-based random numbers (Salmon et al., SC'11). A value depends only
// on (key, counter), so a dropout mask can be regenerated during the reverse sweep from
// (seed, update, module, row, unit) instead of being stored.

#include <array>
#include <cstdint>

namespace revnmt {

class Philox {
 public:
  using Counter = std::array<uint32_t, 4>;
  using Key = std::array<uint32_t, 2>;

  explicit Philox(uint64_t seed) : key_{uint32_t(seed), uint32_t(seed >> 32)} {}

  // Four 32-bit random words for a 128-bit counter.
  Counter operator()(Counter counter) const {
    Key key = key_;
    for (int round = 0; round < 10; ++round) {
      counter = single_round(counter, key);
      key[0] += 0x9E3779B9u;
      key[1] += 0xBB67AE85u;
    }
    return counter;
  }

  // Uniform float in [0, 1) from the counter (a, b, c, d), using the first word.
  float uniform(uint32_t a, uint32_t b, uint32_t c, uint32_t d) const {
    return to_unit((*this)({a, b, c, d})[0]);
  }

  static float to_unit(uint32_t word) { return float(word >> 8) * (1.0f / 16777216.0f); }

 private:
  static Counter single_round(const Counter& c, const Key& k) {
    const uint64_t p0 = uint64_t(0xD2511F53u) * c[0];
    const uint64_t p1 = uint64_t(0xCD9E8D57u) * c[2];
    return {uint32_t(p1 >> 32) ^ c[1] ^ k[0], uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k[1],
            uint32_t(p0)};
  }

  Key key_;
};

}  // namespace revnmt
