#pragma once
// Information buffers: where the bits that a forget multiplication destroys go, so the
// multiplication can be undone exactly (REVERSIBLE.md §3).
//
// The reference keeps one int64 digit per unit and, when any digit of a [B, D] block
// passes 2^53, pushes the *whole block* and a flag bit (pitfall P7): one fast-forgetting
// unit makes every other unit pay 64 bits. Here every (row, unit position) has its own
// 32-bit word, shared by all state variables of the layer at that position (h1 and h2;
// c1, h1, c2 and h2 for LSTMs — the reference shares its buffer between halves too), kept
// in a renormalized range in the manner of an rANS coder:
//
//   word ∈ [L, 2^16·L) with L = 1024.
//   forward (multiply h by Z/1024, push its 10 low bits, pop a digit < Z into h):
//     if word >= Z·2^16: spill its low 16 bits onto the layer's SpillStack, word >>= 16
//     n = word·1024 + (h mod 1024);  h = floor(h/1024)·Z + n mod Z;  word = n div Z
//   reverse (exact mirror):
//     n = word·Z + (h mod Z);  h = floor(h/Z)·1024 + n mod 1024;  word = n div 1024
//     if word < L: word = word·2^16 + (pop 16 bits)
//
// The spill threshold makes the two cases of the reverse test disjoint (a spilled word
// is < L, an unspilled one >= L), so no flag bits are needed, and every spilled word is
// 16 bits of information. A position costs its 32-bit word plus what it actually forgot,
// rounded to 16-bit words: held bits ≈ optimal bits + 32 per position and sequence.
// All arithmetic stays below 2^36, so quotients go through doubles exactly.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "nmt/core/error.h"
#include "reversible/fixed_point.h"

namespace revnmt {

// The per-unit arithmetic of one step (REVERSIBLE.md §3.2/§3.3) on one state value h and
// its buffer word, without renormalization (the kernels below spill/unspill around it).
// Forward: push the 10 low bits of h into the word, multiply h by Z/1024, and move
// (word mod Z) into the freed low digit of h. Exact while word·1024 < 2^53 (the buffers
// keep words below 2^26; the golden-vector tests use larger reference words).
inline void multiply_into(int64_t& h, uint64_t& word, int64_t z) {
  const int64_t low = h & 1023;  // h mod 1024 (two's complement)
  const int64_t q = h >> 10;     // floor(h / 1024): arithmetic shift
  const int64_t n = int64_t(word) * 1024 + low;
  int64_t new_word, digit;
  fixed::div_mod_small(n, z, new_word, digit);
  word = uint64_t(new_word);
  h = q * z + digit;
}
// Exact inverse of multiply_into.
inline void divide_from(int64_t& h, uint64_t& word, int64_t z) {
  int64_t q, digit;
  fixed::div_mod_small(h, z, q, digit);  // h = q·Z + digit
  const int64_t n = int64_t(word) * z + digit;
  word = uint64_t(n >> 10);
  h = q * 1024 + (n & 1023);
}

// LIFO of 16-bit words spilled by the buffer of one layer. Buffer operations form a
// strict stack in time, so one stack per layer serves all its variables and units,
// provided the reverse pass visits them in exactly the mirrored order. Storage is a
// list of chunks growing with the content (at most 1/16 slack), each freed as it empties.
class SpillStack {
 public:
  void push(uint16_t word) {
    if (used_ == capacity_) grow();
    top_[used_++] = word;
    ++words_;
  }
  uint16_t pop() {
    REVNMT_CHECK(words_ > 0, "pop from an empty spill stack");
    const uint16_t word = top_[--used_];
    --words_;
    if (used_ == 0) release_top();
    return word;
  }
  size_t words() const { return words_; }
  size_t allocated_bytes() const { return allocated_words_ * sizeof(uint16_t); }
  void clear();

 private:
  void grow();
  void release_top();

  struct Chunk {
    std::unique_ptr<uint16_t[]> data;
    size_t capacity;
  };
  std::vector<Chunk> chunks_;
  uint16_t* top_ = nullptr;  // data of chunks_.back()
  size_t used_ = 0;          // words used in chunks_.back()
  size_t capacity_ = 0;      // capacity of chunks_.back()
  size_t words_ = 0;
  size_t allocated_words_ = 0;
};

// The words of one layer's buffer: [rows, units] (units = G, one per unit position).
class InfoBuffer {
 public:
  static constexpr uint32_t kEmpty = 1024;  // L: the value of a word holding no information
  static constexpr int kSpillBits = 16;

  void reset(int rows, int units);
  void release();
  uint32_t* row(int b) { return words_.data() + size_t(b) * units_; }
  const uint32_t* row(int b) const { return words_.data() + size_t(b) * units_; }
  int rows() const { return rows_; }
  int units() const { return units_; }
  // True when every word is back to kEmpty (the state after a complete reversal).
  bool is_empty() const;
  size_t allocated_bytes() const { return words_.capacity() * sizeof(uint32_t); }
  // Information content of the words, Σ log2(word / L), in bits (spilled words not included).
  double content_bits() const;

 private:
  std::vector<uint32_t> words_;
  int rows_ = 0;
  int units_ = 0;
};

// h[b, u] ← h·Z/1024 for active rows, exactly invertibly: units [slice, units) move their
// lost bits into words[b, u]; units [0, slice) are multiplied lossily (the caller keeps a
// copy of them for the reverse pass). h: [rows, units] with leading dimension ld;
// z: [rows, units] with 1 <= Z <= 1024; words: [rows, units], rows of an InfoBuffer.
// Spills go to `spill` in (row, unit) order.
void fixed_multiply(int64_t* h, int64_t ld, const int32_t* z, int rows, int units, int slice,
                    const uint8_t* active, uint32_t* words, SpillStack& spill);

// Exact inverse of fixed_multiply on units [slice, units); units [0, slice) are left for
// the caller to restore.
void fixed_divide(int64_t* h, int64_t ld, const int32_t* z, int rows, int units, int slice,
                  const uint8_t* active, uint32_t* words, SpillStack& spill);

// Inference (no buffers): h ← floor(h/1024)·Z on active rows.
void lossy_multiply(int64_t* h, int64_t ld, const int32_t* z, int rows, int units,
                    const uint8_t* active);

}  // namespace revnmt
