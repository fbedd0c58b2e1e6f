#pragma once
// Helpers of the decoding tests: an exact pseudo-random DecoderModel (log-probs a pure
// function of the source and the prefix), exhaustive enumeration of every hypothesis a
// search may produce, tiny Seq2Seq configurations, and comparisons of n-best lists.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "nmt/config/model_config.h"
#include "nmt/data/vocab.h"
#include "nmt/decode/beam_search.h"
#include "nmt/decode/decoder_model.h"
#include "tests/support/test_support.h"

namespace revnmt::testing {

inline uint64_t mix(uint64_t h, uint64_t v) {
  // splitmix64 of the combination: a good enough hash for test distributions.
  uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2));
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

inline double unit(uint64_t h) { return double(h >> 11) * (1.0 / 9007199254740992.0); }

// Log-probs and attention weights are functions of (seed, the sentence's source, the
// tokens consumed so far); the "state" of a row is that token history.
class TableModel : public DecoderModel {
 public:
  TableModel(int vocab, uint64_t seed, float eos_bias = 0.0f, float spread = 3.0f)
      : vocab_(vocab), seed_(seed), eos_bias_(eos_bias), spread_(spread) {}

  int vocab() const override { return vocab_; }
  const SpecialTokens& special() const override { return special_; }

  void begin(const std::vector<std::vector<int32_t>>& sources) override {
    sources_ = sources;
    steps_ = 0;
    for (const auto& s : sources) steps_ = std::max(steps_, int(s.size()) + 1);
    history_.assign(sources.size(), {});
    sentence_hash_.clear();
    for (const auto& s : sources) {
      uint64_t h = seed_;
      for (int32_t id : s) h = mix(h, uint64_t(id));
      sentence_hash_.push_back(mix(h, s.size()));
    }
  }
  int source_steps() const override { return steps_; }

  // Writes log-probs as the scores: finish_row leaves them as they are.
  LogSoftmaxNormalizer finish_row(float*) const override { return {}; }
  void step(const int32_t* prev_tokens, const int32_t* sentence_of_row, int rows, float* log_probs,
            float* attention) override {
    EXPECT_EQ(size_t(rows), history_.size());
    total_rows_ += rows;
    max_rows_ = std::max(max_rows_, rows);
    for (int r = 0; r < rows; ++r) {
      history_[r].push_back(prev_tokens[r]);
      const int s = sentence_of_row[r];
      uint64_t h = sentence_hash_[s];
      for (int32_t t : history_[r]) h = mix(h, uint64_t(t) + 1000);
      std::vector<double> logits(vocab_);
      double max = -1e300;
      for (int v = 0; v < vocab_; ++v) {
        logits[v] = spread_ * (2.0 * unit(mix(h, v)) - 1.0) + (v == special_.eos ? eos_bias_ : 0);
        max = std::max(max, logits[v]);
      }
      double sum = 0;
      for (double l : logits) sum += std::exp(l - max);
      for (int v = 0; v < vocab_; ++v)
        log_probs[int64_t(r) * vocab_ + v] = float(logits[v] - max - std::log(sum));
      if (attention != nullptr) {
        const int len = int(sources_[s].size()) + 1;  // incl. EOS
        float* a = attention + int64_t(r) * steps_;
        double total = 0;
        for (int p = 0; p < steps_; ++p) {
          a[p] = p < len ? float(0.05 + unit(mix(h, 5000 + p))) : 0.0f;
          total += a[p];
        }
        // The EOS position gets the largest weight: the search must never pick it.
        if (eos_attention_peak_) a[len - 1] = float(total);
        double norm = 0;
        for (int p = 0; p < steps_; ++p) norm += a[p];
        for (int p = 0; p < steps_; ++p) a[p] = float(a[p] / norm);
      }
    }
  }

  void reorder(const int32_t* from, int rows) override {
    std::vector<std::vector<int32_t>> next;
    next.reserve(rows);
    for (int r = 0; r < rows; ++r) next.push_back(history_.at(from[r]));
    history_.swap(next);
  }

  void set_eos_attention_peak(bool on) { eos_attention_peak_ = on; }
  int64_t total_rows() const { return total_rows_; }
  int max_rows() const { return max_rows_; }

 private:
  int vocab_;
  uint64_t seed_;
  float eos_bias_;
  float spread_;
  bool eos_attention_peak_ = false;
  SpecialTokens special_{};
  std::vector<std::vector<int32_t>> sources_;
  std::vector<uint64_t> sentence_hash_;
  std::vector<std::vector<int32_t>> history_;
  int steps_ = 0;
  int64_t total_rows_ = 0;
  int max_rows_ = 0;
};

// Every complete hypothesis the search space allows for `source` (EOS not at step 0, bos
// and pad never, only EOS after max_len tokens), with log-probs accumulated in the same
// float order as the search, best normalized score first (ties: enumeration order).
inline std::vector<SearchHypothesis> exhaustive(DecoderModel& model,
                                                const std::vector<int32_t>& source,
                                                const SearchOptions& options) {
  const SpecialTokens special = model.special();
  const int vocab = model.vocab();
  const int max_len = max_output_length(options, int(source.size()));
  struct Prefix {
    std::vector<int32_t> tokens;
    float log_prob;
  };
  std::vector<Prefix> rows{{{}, 0.0f}};
  std::vector<SearchHypothesis> complete;
  model.begin({source});
  std::vector<float> lp;
  for (int t = 0; !rows.empty(); ++t) {
    const int n = int(rows.size());
    std::vector<int32_t> prev(n), sentence(n, 0);
    for (int r = 0; r < n; ++r)
      prev[r] = rows[r].tokens.empty() ? special.bos : rows[r].tokens.back();
    lp.assign(size_t(n) * vocab, 0.0f);
    model.step_log_probs(prev.data(), sentence.data(), n, lp.data(), nullptr);
    std::vector<Prefix> next;
    std::vector<int32_t> from;
    for (int r = 0; r < n; ++r)
      for (int v = 0; v < vocab; ++v) {
        if (v == special.bos || v == special.pad) continue;
        if (t == 0 && v == special.eos) continue;
        if (t >= max_len && v != special.eos) continue;
        const float value = lp[size_t(r) * vocab + v];
        if (!(value > -std::numeric_limits<float>::infinity())) continue;
        const float total = rows[r].log_prob + value;
        if (v == special.eos) {
          complete.push_back(
              {rows[r].tokens, total, normalized_score(total, t + 1, options.alpha), {}});
        } else {
          Prefix p = rows[r];
          p.tokens.push_back(v);
          p.log_prob = total;
          next.push_back(p);
          from.push_back(r);
        }
      }
    if (!next.empty()) model.reorder(from.data(), int(next.size()));
    rows.swap(next);
  }
  std::stable_sort(
      complete.begin(), complete.end(),
      [](const SearchHypothesis& a, const SearchHypothesis& b) { return a.score > b.score; });
  return complete;
}

inline uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

// Same tokens and the same score and log-prob bits.
inline void expect_same_hypothesis(const SearchHypothesis& a, const SearchHypothesis& b,
                                   const std::string& what) {
  EXPECT_EQ(a.tokens, b.tokens) << what;
  EXPECT_EQ(bits(a.score), bits(b.score)) << what << " score " << a.score << " vs " << b.score;
  EXPECT_EQ(bits(a.log_prob), bits(b.log_prob)) << what;
}

inline ModelConfig tiny_model_config(CellType cell, int layers = 1, int hidden = 8) {
  ModelConfig config;
  config.cell = cell;
  config.layers = layers;
  config.emb_size = hidden;
  config.hidden_size = hidden;
  config.context = ContextType::slice_emb;
  config.slice_dim = 2;
  config.max_forget_bits = 2;
  config.dropout_emb = config.dropout_hidden = config.dropout_query = config.dropout_slice = 0.1;
  config.init_range = 0.5;
  return config;
}

// A joint unigram vocabulary trained once per test binary on the small en+de fixture.
inline const Vocab& fixture_vocab() {
  static TempDir dir;
  static const Vocab vocab = [] {
    VocabTrainOptions options;
    options.inputs = {test_data_dir() + "/data/small.en", test_data_dir() + "/data/small.de"};
    options.model_path = dir.file("fixture.spm");
    options.vocab_size = 120;
    return Vocab::train(options);
  }();
  return vocab;
}

inline std::vector<std::string> fixture_lines(const std::string& name) {
  std::vector<std::string> lines;
  const std::string text = read_text(test_data_dir() + "/data/" + name);
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

}  // namespace revnmt::testing
