#pragma once
// Exact n-gram counting over sequences of 32-bit ids (word ids or code points), shared by BLEU
// and chrF. An n-gram is a view (pointer + length) into a sequence that the caller keeps alive;
// it is hashed and compared by content, so equal n-grams from different sequences (hypothesis
// and reference) meet in one map. No hash of the n-gram stands in for the n-gram itself.

#include <cstdint>
#include <cstring>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace revnmt::eval {

struct NGramView {
  const uint32_t* ids;
  uint32_t size;
  bool operator==(const NGramView& other) const {
    return size == other.size && std::memcmp(ids, other.ids, size * sizeof(uint32_t)) == 0;
  }
};

struct NGramViewHash {
  size_t operator()(const NGramView& ngram) const {
    uint64_t h = 0xcbf29ce484222325ull ^ ngram.size;  // FNV-1a over the ids
    for (uint32_t i = 0; i < ngram.size; ++i) {
      h ^= ngram.ids[i];
      h *= 0x100000001b3ull;
    }
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

using NGramCounts = std::unordered_map<NGramView, int64_t, NGramViewHash>;

// Adds every n-gram of `sequence` with order in [min_order, max_order] to `counts`.
inline void count_ngrams(const std::vector<uint32_t>& sequence, int min_order, int max_order,
                         NGramCounts& counts) {
  const size_t length = sequence.size();
  for (int n = min_order; n <= max_order; ++n) {
    if (static_cast<size_t>(n) > length) break;
    for (size_t i = 0; i + n <= length; ++i)
      ++counts[NGramView{sequence.data() + i, static_cast<uint32_t>(n)}];
  }
}

// Maps tokens (views into text the caller keeps alive) to dense ids, so that token sequences
// can be counted as id sequences.
class TokenVocabulary {
 public:
  std::vector<uint32_t> ids(const std::vector<std::string_view>& tokens) {
    std::vector<uint32_t> out;
    out.reserve(tokens.size());
    for (std::string_view token : tokens) {
      auto [it, inserted] = ids_.try_emplace(token, static_cast<uint32_t>(ids_.size()));
      out.push_back(it->second);
    }
    return out;
  }

 private:
  std::unordered_map<std::string_view, uint32_t> ids_;
};

}  // namespace revnmt::eval
