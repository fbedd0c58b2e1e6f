#include "reversible/info_buffer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "reversible/fixed_point.h"

namespace revnmt {
namespace {

TEST(FixedPoint, FloorDivisionAndModulo) {
  for (int64_t a : {-2049, -1025, -1024, -1023, -1, 0, 1, 1023, 1024, 1025}) {
    for (int64_t m : {1, 7, 700, 1024}) {
      const int64_t q = fixed::floor_div(a, m), r = fixed::floor_mod(a, m);
      EXPECT_EQ(q * m + r, a);
      EXPECT_GE(r, 0);
      EXPECT_LT(r, m);
      int64_t q2, r2;
      fixed::div_mod_small(a, m, q2, r2);
      EXPECT_EQ(q2, q);
      EXPECT_EQ(r2, r);
    }
  }
  // Near 2^52, where the double quotient can be off by one before correction.
  std::mt19937_64 rng(1);
  for (int i = 0; i < 100000; ++i) {
    const int64_t m = 1 + int64_t(rng() % 1024);
    const int64_t a = int64_t(rng() % (uint64_t(1) << 52)) * ((rng() & 1) ? 1 : -1);
    int64_t q, r;
    fixed::div_mod_small(a, m, q, r);
    ASSERT_EQ(q, fixed::floor_div(a, m)) << a << " / " << m;
    ASSERT_EQ(r, fixed::floor_mod(a, m)) << a << " % " << m;
  }
  EXPECT_EQ(int64_t(-1234567) >> 10, -1206);  // arithmetic shift is floor division
}

TEST(FixedPoint, Quantization) {
  EXPECT_EQ(fixed::quantize_forget(0.0f), 1);  // never zero: the inverse divides by Z
  EXPECT_EQ(fixed::quantize_forget(1.0f), 1024);
  EXPECT_EQ(fixed::quantize_forget(0.68359375f), 700);
  EXPECT_EQ(fixed::to_fixed(1.0f), int64_t(1) << 23);
  EXPECT_EQ(fixed::to_fixed(-0.5f), -(int64_t(1) << 22));
  EXPECT_EQ(fixed::to_float(int64_t(3) << 20), 0.375f);
}

// (h0, Z, word0) -> (h1, word1), computed by ../shared/docs/buffer_reference.py
// (fixed_multiply of one unit, mask 1, no slice); the first is REVERSIBLE.md §3.5.
struct Golden {
  int64_t h0;
  int64_t z;
  uint64_t word0;
  int64_t h1;
  uint64_t word1;
};
const Golden kGolden[] = {
    {-1234567, 700, 5uLL, -843603, 7uLL},
    {-526472843, 700, 2949042625865uLL, -359893567, 4314028069837uLL},
    {206393361, 700, 2411770842500uLL, 141089717, 3528076203885uLL},
    {-61627776, 1, 176435506uLL, -60184, 180669958784uLL},
    {-798692126, 890, 148297440758uLL, -694175152, 170625370040uLL},
    {897169884, 2, 3218419155uLL, 1752284, 1647830607598uLL},
    {-100711235, 700, 2588483704939uLL, -68845275, 3786581876939uLL},
    {377275722, 1000, 1989967942143uLL, 368433762, 2037727172754uLL},
    {185967663, 1, 2505360469uLL, 181609, 2565489120303uLL},
    {644168532, 127, 173359167434uLL, 79891920, 1397793601994uLL},
    {879855753, 128, 142022804070uLL, 109981961, 1136182432561uLL},
    {-255791447, 2, 4914243970uLL, -499593, 2516092912980uLL},
    {-54041915, 500, 30753145487uLL, -26387603, 62982441958uLL},
    {-898005808, 500, 828130326089uLL, -438479156, 1696010907830uLL},
    {456152979, 700, 1998574110790uLL, 311823275, 2923628413499uLL},
    {-187393980, 128, 21593355252uLL, -23424188, 172746842016uLL},
};

TEST(BufferArithmetic, MatchesReferenceGoldenVectors) {
  for (const Golden& g : kGolden) {
    int64_t h = g.h0;
    uint64_t word = g.word0;
    multiply_into(h, word, g.z);
    EXPECT_EQ(h, g.h1) << "h0=" << g.h0 << " Z=" << g.z;
    EXPECT_EQ(word, g.word1) << "h0=" << g.h0 << " Z=" << g.z;
    divide_from(h, word, g.z);
    EXPECT_EQ(h, g.h0);
    EXPECT_EQ(word, g.word0);
  }
}

TEST(BufferArithmetic, ExtremeMultipliers) {
  // Z = 1024 is the identity on h and on the word.
  int64_t h = -987654321;
  uint64_t word = 123456789;
  multiply_into(h, word, 1024);
  EXPECT_EQ(h, -987654321);
  EXPECT_EQ(word, 123456789u);
  // Z = 1 keeps only floor(h/1024) and moves all 10 low bits into the word.
  multiply_into(h, word, 1);
  EXPECT_EQ(h, fixed::floor_div(-987654321, 1024));
  EXPECT_EQ(word, uint64_t(123456789) * 1024 + uint64_t(fixed::floor_mod(-987654321, 1024)));
  divide_from(h, word, 1);
  EXPECT_EQ(h, -987654321);
  EXPECT_EQ(word, 123456789u);
}

TEST(SpillStack, LifoAcrossChunksAndBoundedSlack) {
  SpillStack stack;
  const uint32_t n = 100000;
  for (uint32_t i = 0; i < n; ++i) stack.push(uint16_t(i * 2654435761u));
  EXPECT_EQ(stack.words(), n);
  EXPECT_LE(stack.allocated_bytes(), size_t(n) * 2 * 17 / 16 + 1024 * 2);
  for (uint32_t i = n; i-- > 0;) ASSERT_EQ(stack.pop(), uint16_t(i * 2654435761u));
  EXPECT_EQ(stack.words(), 0u);
  EXPECT_EQ(stack.allocated_bytes(), 0u);
}

struct Trajectory {
  std::vector<std::vector<uint8_t>> active;
  std::vector<std::vector<int32_t>> z;
  std::vector<std::vector<int64_t>> update;
};

// The buffer-level test of REVERSIBLE.md §9 item 1/3: long random sequences with masks,
// an unbuffered slice, negative states, every range of Z, and many spills.
void run_long_sequence(unsigned seed, int steps, int rows, int units, int slice, int z_min,
                       double p_active) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> initial(-(int64_t(1) << 26), int64_t(1) << 26);
  std::uniform_int_distribution<int32_t> zdist(z_min, 1024);
  std::uniform_int_distribution<int64_t> upd(-(int64_t(1) << 23), int64_t(1) << 23);
  std::bernoulli_distribution on(p_active);

  std::vector<int64_t> h(size_t(rows) * units);
  for (auto& v : h) v = initial(rng);
  const std::vector<int64_t> h_initial = h;
  InfoBuffer buffer;
  buffer.reset(rows, units);
  SpillStack spill;
  Trajectory traj;
  std::vector<std::vector<int64_t>> states, slices;
  size_t max_spilled = 0;
  for (int t = 0; t < steps; ++t) {
    std::vector<uint8_t> active(rows);
    for (auto& a : active) a = on(rng);
    std::vector<int32_t> z(size_t(rows) * units);
    for (auto& v : z) v = zdist(rng);
    std::vector<int64_t> u(size_t(rows) * units);
    for (auto& v : u) v = upd(rng);
    std::vector<int64_t> saved;
    for (int b = 0; b < rows; ++b)
      for (int j = 0; j < slice; ++j) saved.push_back(h[size_t(b) * units + j]);
    fixed_multiply(h.data(), units, z.data(), rows, units, slice, active.data(), buffer.row(0),
                   spill);
    for (int b = 0; b < rows; ++b)
      if (active[b])
        for (int j = 0; j < units; ++j) h[size_t(b) * units + j] += u[size_t(b) * units + j];
    traj.active.push_back(active);
    traj.z.push_back(z);
    traj.update.push_back(u);
    slices.push_back(saved);
    states.push_back(h);
    max_spilled = std::max(max_spilled, spill.words());
  }
  EXPECT_GT(max_spilled, 0u) << "the test should exercise spills";
  for (int t = steps - 1; t >= 0; --t) {
    ASSERT_EQ(h, states[t]) << "step " << t;
    const auto& active = traj.active[t];
    for (int b = 0; b < rows; ++b)
      if (active[b])
        for (int j = 0; j < units; ++j)
          h[size_t(b) * units + j] -= traj.update[t][size_t(b) * units + j];
    fixed_divide(h.data(), units, traj.z[t].data(), rows, units, slice, active.data(),
                 buffer.row(0), spill);
    for (int b = 0; b < rows; ++b)
      for (int j = 0; j < slice; ++j) h[size_t(b) * units + j] = slices[t][size_t(b) * slice + j];
  }
  EXPECT_EQ(h, h_initial);
  EXPECT_TRUE(buffer.is_empty());
  EXPECT_EQ(spill.words(), 0u);
}

TEST(InfoBuffer, LongSequencesReverseExactly) {
  run_long_sequence(1, 3000, 8, 6, 2, 128, 0.8);  // 3-bit limit, slice
  run_long_sequence(2, 3000, 8, 6, 0, 512, 0.8);  // 1-bit limit
  run_long_sequence(3, 2000, 8, 5, 1, 1, 0.7);    // no limit (Z down to 1)
  run_long_sequence(4, 3000, 8, 4, 0, 32, 0.5);   // 5-bit limit, sparse masks
  run_long_sequence(5, 2000, 3, 6, 5, 1, 0.9);    // slice of all but one unit
}

// Held bits stay close to the information actually forgotten: state words (32 bits per
// unit) + spilled 16-bit words, against Σ log2(1024/Z) over active units.
TEST(InfoBuffer, HeldBitsCloseToContent) {
  for (int steps : {25, 1000}) {
    std::mt19937_64 rng(11 + steps);
    const int rows = 16, units = 64;
    std::uniform_int_distribution<int32_t> zdist(128, 1024);
    std::vector<int64_t> h(size_t(rows) * units, 12345);
    InfoBuffer buffer;
    buffer.reset(rows, units);
    SpillStack spill;
    std::vector<uint8_t> active(rows, 1);
    double forgotten = 0;
    std::vector<int32_t> z(size_t(rows) * units);
    for (int t = 0; t < steps; ++t) {
      for (auto& v : z) {
        v = zdist(rng);
        forgotten += std::log2(1024.0 / v);
      }
      fixed_multiply(h.data(), units, z.data(), rows, units, 0, active.data(), buffer.row(0),
                     spill);
    }
    const double content = buffer.content_bits() + 16.0 * spill.words();
    EXPECT_NEAR(content, forgotten, 1e-3 * forgotten + 1.0) << steps;
    const double held = 8.0 * (buffer.allocated_bytes() + spill.allocated_bytes());
    EXPECT_LE(held, 1.10 * forgotten + 32.0 * rows * units) << steps;
  }
}

}  // namespace
}  // namespace revnmt
