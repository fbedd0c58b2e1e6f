// Beam search against exhaustive enumeration (an exact table model and the real Seq2Seq
// on a 6-token vocabulary), greedy = argmax path, n-best order and distinctness, length
// normalization, the minimum/maximum length rules, the early stop, compaction of finished
// sentences, unk source positions, and batch invariance of the search itself.

#include "nmt/decode/beam_search.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "nmt/core/error.h"
#include "tests/decode/decode_test_util.h"

namespace revnmt {
namespace {

using testing::exhaustive;
using testing::expect_same_hypothesis;
using testing::TableModel;

constexpr int kTinyVocab = 6;  // unk bos eos pad + two words: branching 3 (unk, 4, 5)

SearchOptions tiny_options(int beam, int n_best, float alpha) {
  SearchOptions options;
  options.beam = beam;
  options.n_best = n_best;
  options.alpha = alpha;
  options.max_length_ratio = 0.0f;
  options.max_length_offset = 4;  // max length 4 whatever the source
  return options;
}

std::vector<std::vector<int32_t>> tiny_sources() {
  return {{4}, {5, 4, 5}, {4, 4}, {5}, {4, 5, 5, 4}, {5, 5}};
}

// With a beam wider than the whole search space (3 + 9 + 27 + 81 = 120 hypotheses) the
// search is exhaustive: its n-best list is the true top of every hypothesis, for raw and
// length-normalized scores, in one batch of several sentences.
TEST(BeamSearch, WideBeamEqualsExhaustiveSearch) {
  for (float alpha : {0.0f, 0.6f, 1.0f}) {
    for (uint64_t seed : {1, 2, 3}) {
      TableModel model(kTinyVocab, seed);
      const SearchOptions options = tiny_options(200, 12, alpha);
      BeamSearch search(options);
      const auto sources = tiny_sources();
      const auto lists = search.search(model, sources);
      ASSERT_EQ(lists.size(), sources.size());
      for (size_t s = 0; s < sources.size(); ++s) {
        TableModel reference_model(kTinyVocab, seed);
        const auto all = exhaustive(reference_model, sources[s], options);
        ASSERT_EQ(all.size(), 120u);
        ASSERT_EQ(lists[s].size(), 12u);
        for (size_t i = 0; i < lists[s].size(); ++i)
          expect_same_hypothesis(lists[s][i], all[i],
                                 "alpha " + std::to_string(alpha) + " seed " +
                                     std::to_string(seed) + " sentence " + std::to_string(s) +
                                     " rank " + std::to_string(i));
      }
    }
  }
}

// The same on the real model (every cell type): beam search over Seq2Seq rows against
// enumeration of every prefix through decode_step.
TEST(BeamSearch, WideBeamEqualsExhaustiveSearchOnSeq2Seq) {
  for (CellType cell : {CellType::revgru, CellType::revlstm, CellType::gru, CellType::lstm}) {
    Seq2Seq model(testing::tiny_model_config(cell), kTinyVocab, kTinyVocab, SpecialTokens{});
    model.initialize(7);
    for (float alpha : {0.0f, 1.0f}) {
      const SearchOptions options = tiny_options(200, 5, alpha);
      BeamSearch search(options);
      Seq2SeqDecoder decoder(model, Vocab::kEosId, Vocab::kPadId);
      const auto sources = tiny_sources();
      const auto lists = search.search(decoder, sources);
      for (size_t s = 0; s < sources.size(); ++s) {
        Seq2SeqDecoder reference(model, Vocab::kEosId, Vocab::kPadId);
        const auto all = exhaustive(reference, sources[s], options);
        ASSERT_EQ(lists[s].size(), 5u);
        for (size_t i = 0; i < lists[s].size(); ++i)
          expect_same_hypothesis(lists[s][i], all[i],
                                 to_string(cell) + " alpha " + std::to_string(alpha) +
                                     " sentence " + std::to_string(s) + " rank " +
                                     std::to_string(i));
      }
    }
  }
}

// Beam 1 follows the argmax path (ties to the lower id) until EOS or the length limit.
TEST(BeamSearch, BeamOneIsGreedy) {
  for (uint64_t seed : {4, 5, 6, 7}) {
    SearchOptions options = tiny_options(1, 1, 1.0f);
    options.max_length_offset = 8;
    TableModel model(10, seed, /*eos_bias=*/1.0f);
    const auto sources = tiny_sources();
    const auto lists = BeamSearch(options).search(model, sources);
    for (size_t s = 0; s < sources.size(); ++s) {
      TableModel walker(10, seed, 1.0f);
      walker.begin({sources[s]});
      std::vector<int32_t> tokens;
      float log_prob = 0;
      int32_t prev = Vocab::kBosId, sentence = 0;
      std::vector<float> lp(10);
      for (int t = 0;; ++t) {
        walker.step_log_probs(&prev, &sentence, 1, lp.data(), nullptr);
        int best = -1;
        for (int v = 0; v < 10; ++v) {
          if (v == Vocab::kBosId || v == Vocab::kPadId || (t == 0 && v == Vocab::kEosId)) continue;
          if (t >= 8 && v != Vocab::kEosId) continue;
          if (best < 0 || lp[v] > lp[best]) best = v;
        }
        log_prob += lp[best];
        if (best == Vocab::kEosId) break;
        tokens.push_back(best);
        prev = best;
      }
      ASSERT_EQ(lists[s].size(), 1u);
      EXPECT_EQ(lists[s][0].tokens, tokens) << "seed " << seed << " sentence " << s;
      EXPECT_EQ(lists[s][0].log_prob, log_prob);
      EXPECT_EQ(lists[s][0].score, normalized_score(log_prob, int(tokens.size()) + 1, 1.0f));
    }
  }
}

// n-best lists are sorted by score, distinct, and their scores follow the definition;
// alpha = 0 ranks by the raw sum, alpha = 1 by the per-token mean, and the two disagree
// on some sentence (so normalization is really applied).
TEST(BeamSearch, NBestSortedDistinctAndNormalized) {
  int differing = 0;
  for (uint64_t seed = 10; seed < 20; ++seed) {
    std::vector<int32_t> best_length(2);
    for (float alpha : {0.0f, 1.0f}) {
      SearchOptions options = tiny_options(5, 5, alpha);
      options.max_length_offset = 12;
      TableModel model(12, seed);
      const auto lists = BeamSearch(options).search(model, {{4, 5, 6}});
      const auto& list = lists[0];
      ASSERT_EQ(list.size(), 5u);
      for (size_t i = 0; i < list.size(); ++i) {
        for (size_t j = 0; j < i; ++j)
          EXPECT_NE(list[i].tokens, list[j].tokens) << "duplicate hypothesis";
        EXPECT_FALSE(list[i].tokens.empty());
        const int length = int(list[i].tokens.size()) + 1;
        EXPECT_EQ(list[i].score,
                  alpha == 0.0f ? list[i].log_prob : float(double(list[i].log_prob) / length));
        if (i > 0) {
          EXPECT_GE(list[i - 1].score, list[i].score);
        }
      }
      best_length[alpha == 0.0f ? 0 : 1] = int32_t(list[0].tokens.size());
    }
    differing += best_length[0] != best_length[1];
  }
  EXPECT_GT(differing, 0);
}

// Even when EOS is by far the likeliest first token, a non-empty source gets a non-empty
// translation (minimum length 1); when EOS never wins, hypotheses stop at max_len.
TEST(BeamSearch, MinimumAndMaximumLength) {
  SearchOptions options = tiny_options(4, 4, 1.0f);
  options.max_length_ratio = 1.5f;
  options.max_length_offset = 1;
  {
    TableModel eager(8, 3, /*eos_bias=*/30.0f);
    const auto lists = BeamSearch(options).search(eager, {{4}, {4, 5, 6}});
    for (const auto& list : lists)
      for (const auto& hyp : list) EXPECT_EQ(hyp.tokens.size(), 1u);  // EOS right after one token
  }
  {
    TableModel reluctant(8, 3, /*eos_bias=*/-40.0f);
    const auto lists = BeamSearch(options).search(reluctant, {{4}, {4, 5, 6}, {4, 5, 6, 7}});
    const int expected[] = {2, 5, 7};  // floor(1.5 n) + 1
    for (size_t s = 0; s < lists.size(); ++s) {
      EXPECT_EQ(max_output_length(options, int(s == 0 ? 1 : s + 2)), expected[s]);
      ASSERT_EQ(lists[s].size(), 4u);
      for (const auto& hyp : lists[s]) EXPECT_EQ(int(hyp.tokens.size()), expected[s]);
    }
  }
}

// Stopping once the n_best list cannot change gives the n_best first entries of the full
// search (n_best = beam never stops early), with less work; finished sentences leave the
// batch, so a batch does exactly the rows of its sentences decoded alone.
TEST(BeamSearch, EarlyStopAndCompaction) {
  int64_t saved = 0;
  for (uint64_t seed = 30; seed < 38; ++seed) {
    for (float alpha : {0.0f, 1.0f}) {
      SearchOptions full = tiny_options(6, 6, alpha), early = full;
      full.max_length_offset = early.max_length_offset = 10;
      early.n_best = 2;
      TableModel a(9, seed, 0.5f), b(9, seed, 0.5f);
      const auto sources = tiny_sources();
      const auto all = BeamSearch(full).search(a, sources);
      const auto top = BeamSearch(early).search(b, sources);
      for (size_t s = 0; s < sources.size(); ++s) {
        ASSERT_EQ(top[s].size(), 2u);
        for (int i = 0; i < 2; ++i) expect_same_hypothesis(top[s][i], all[s][i], "early stop");
      }
      EXPECT_LE(b.total_rows(), a.total_rows());
      saved += a.total_rows() - b.total_rows();

      int64_t alone_rows = 0;
      for (const auto& source : sources) {
        TableModel single(9, seed, 0.5f);
        BeamSearch(early).search(single, {source});
        alone_rows += single.total_rows();
      }
      EXPECT_EQ(alone_rows, b.total_rows());
    }
  }
  EXPECT_GT(saved, 0);
}

// A sentence's n-best list does not depend on the batch: alone, in any company and order.
TEST(BeamSearch, SearchIsBatchInvariant) {
  const std::vector<std::vector<int32_t>> sources = {{4},       {5, 6, 7, 4, 5},       {6, 6},
                                                     {7, 4, 5}, {4, 4, 4, 4, 4, 4, 4}, {5}};
  for (int beam : {1, 3, 5}) {
    SearchOptions options = tiny_options(beam, beam, 1.0f);
    options.max_length_ratio = 2.0f;
    options.max_length_offset = 3;
    TableModel together_model(11, 99, 0.8f);
    const auto together = BeamSearch(options).search(together_model, sources);
    std::vector<std::vector<int32_t>> reversed(sources.rbegin(), sources.rend());
    TableModel reversed_model(11, 99, 0.8f);
    const auto backwards = BeamSearch(options).search(reversed_model, reversed);
    for (size_t s = 0; s < sources.size(); ++s) {
      TableModel alone_model(11, 99, 0.8f);
      const auto alone = BeamSearch(options).search(alone_model, {sources[s]});
      ASSERT_EQ(alone[0].size(), together[s].size());
      ASSERT_EQ(alone[0].size(), backwards[sources.size() - 1 - s].size());
      for (size_t i = 0; i < alone[0].size(); ++i) {
        expect_same_hypothesis(together[s][i], alone[0][i], "together");
        expect_same_hypothesis(backwards[sources.size() - 1 - s][i], alone[0][i], "reversed");
      }
    }
  }
}

// Every generated unk records the most-attended source position of its step, never the
// EOS position even when EOS has the largest weight.
TEST(BeamSearch, UnkSourcePositions) {
  SearchOptions options = tiny_options(3, 3, 1.0f);
  options.max_length_offset = 6;
  options.unk_positions = true;
  TableModel model(6, 17, -2.0f, /*spread=*/1.0f);  // unk is one of three likely words
  model.set_eos_attention_peak(true);
  const std::vector<std::vector<int32_t>> sources = {{4, 5, 4}, {5, 5, 4, 4, 5}};
  const auto lists = BeamSearch(options).search(model, sources);
  int unks = 0;
  for (size_t s = 0; s < sources.size(); ++s)
    for (const auto& hyp : lists[s]) {
      ASSERT_EQ(hyp.unk_source.size(), hyp.tokens.size());
      // Replay the prefix to get the attention of the step that produced each token.
      TableModel replay(6, 17, -2.0f, 1.0f);
      replay.set_eos_attention_peak(true);
      replay.begin({sources[s]});
      int32_t prev = Vocab::kBosId, sentence = 0;
      std::vector<float> lp(6), attention(replay.source_steps());
      for (size_t i = 0; i < hyp.tokens.size(); ++i) {
        replay.step_log_probs(&prev, &sentence, 1, lp.data(), attention.data());
        const int source_tokens = int(sources[s].size());
        if (hyp.tokens[i] == Vocab::kUnkId) {
          ++unks;
          int best = 0;
          for (int p = 1; p < source_tokens; ++p)
            if (attention[p] > attention[best]) best = p;
          EXPECT_EQ(hyp.unk_source[i], best);
          EXPECT_LT(attention[best], attention[source_tokens]);  // EOS really was the peak
        } else {
          EXPECT_EQ(hyp.unk_source[i], -1);
        }
        prev = hyp.tokens[i];
      }
    }
  EXPECT_GT(unks, 2);
}

// A model whose log-probs are all NaN still gives every sentence an answer.
class NanModel : public TableModel {
 public:
  using TableModel::TableModel;
  void step(const int32_t* prev, const int32_t* sentence, int rows, float* lp,
            float* attention) override {
    TableModel::step(prev, sentence, rows, lp, attention);
    for (int64_t i = 0; i < int64_t(rows) * vocab(); ++i) lp[i] = std::nanf("");
  }
};

// Finite scores but no finite normalizer (a row whose exponentials overflowed): no
// log-prob is finite, so nothing is proposed, as with NaN scores.
class NanNormalizerModel : public TableModel {
 public:
  using TableModel::TableModel;
  LogSoftmaxNormalizer finish_row(float*) const override { return {0.0f, std::nanf("")}; }
};

TEST(BeamSearch, NonFiniteLogProbsTerminate) {
  NanModel nan_scores(6, 1);
  NanNormalizerModel nan_normalizer(6, 1);
  for (DecoderModel* model : std::vector<DecoderModel*>{&nan_scores, &nan_normalizer}) {
    const auto lists = BeamSearch(tiny_options(3, 2, 1.0f)).search(*model, {{4}, {5, 4}});
    ASSERT_EQ(lists.size(), 2u);
    for (const auto& list : lists) {
      ASSERT_EQ(list.size(), 1u);
      EXPECT_TRUE(list[0].tokens.empty());  // nothing could follow BOS
      EXPECT_EQ(list[0].log_prob, 0.0f);
    }
  }
}

TEST(BeamSearch, OptionsAreValidated) {
  auto error = [](SearchOptions o) {
    try {
      BeamSearch search(o);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  SearchOptions o;
  o.beam = 0;
  EXPECT_NE(error(o).find("beam"), std::string::npos);
  o = SearchOptions{};
  o.n_best = 6;
  EXPECT_NE(error(o).find("n-best"), std::string::npos);
  o = SearchOptions{};
  o.alpha = -1;
  EXPECT_NE(error(o).find("alpha"), std::string::npos);
  o = SearchOptions{};
  o.alpha = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(error(o).find("alpha"), std::string::npos);
  EXPECT_EQ(error(SearchOptions{}), "");
}

}  // namespace
}  // namespace revnmt
