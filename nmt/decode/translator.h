#pragma once
// Translation of sentences with a trained Seq2Seq: batched beam search (greedy when the
// beam is 1), length normalization, n-best lists, unknown-word replacement from
// attention. Deterministic and batch-invariant: a sentence's translation does not depend
// on the batch size or on the other sentences of its batch.
//
// The search rules (minimum length 1, maximum length, stopping rule, tie-breaking) are
// described in beam_search.h. A source without subwords (empty or whitespace-only) gives
// one empty hypothesis without running the model; every other source gets a non-empty
// one. Sources are sorted by length and cut into batches (below); results come back in
// input order.

#include <cstdint>
#include <string>
#include <vector>

#include "nmt/data/vocab.h"
#include "nmt/decode/beam_search.h"
#include "nmt/decode/decoder_model.h"
#include "nmt/model/seq2seq.h"

namespace revnmt {

struct TranslateOptions {
  int beam = 5;                   // 1 = greedy
  float alpha = 1.0f;             // length normalization: score / length^alpha (0 = none)
  float max_length_ratio = 2.0f;  // output tokens <= ratio * source tokens + max_length_offset
  int max_length_offset = 5;
  int batch = 32;            // sentences per batch
  int n_best = 1;            // hypotheses returned per sentence (<= beam)
  bool replace_unk = false;  // replace <unk> by the most-attended source piece
};

struct Hypothesis {
  std::vector<int32_t> tokens;  // target ids, without BOS/EOS
  std::string text;             // detokenized (SentencePiece decode)
  float score = 0;              // normalized score used for ranking
  float log_prob = 0;           // sum of token log-probabilities (incl. EOS)
};

// Totals over the translator's lifetime, for progress and speed reports.
struct TranslateStats {
  int64_t sentences = 0;      // sources translated (incl. empty ones)
  int64_t source_tokens = 0;  // subword tokens of the sources, without EOS
  int64_t target_tokens = 0;  // tokens of the best hypotheses, without EOS
  int64_t decoder_steps = 0;  // beam search steps over all batches
  int64_t decoder_rows = 0;   // Σ rows over those steps
  int64_t failed = 0;         // sentences given an empty translation after a RangeError
};

// How a chunk of sources is cut into batches: sorted by decreasing length (ties by input
// order), then cut every `batch` sentences, or earlier when the padded source tokens
// (sentences × longest length) would exceed batch × kPaddedTokensPerSentence, so one very
// long line does not make a whole batch of short ones pay for its padding.
constexpr int kPaddedTokensPerSentence = 128;

class Translator {
 public:
  // Throws InputError for options out of range (see BeamSearch; batch >= 1).
  Translator(Seq2Seq& model, const Vocab& src_vocab, const Vocab& tgt_vocab,
             const TranslateOptions& options);

  // One n-best list (best first, n_best entries unless fewer distinct finished
  // hypotheses exist) per source sentence, in input order. An empty source gives one
  // empty hypothesis.
  std::vector<std::vector<Hypothesis>> translate(const std::vector<std::string>& sources);
  // The best hypothesis' text per source, in input order.
  std::vector<std::string> translate_best(const std::vector<std::string>& sources);

  // The same for sources already split into subword ids (without EOS) and, when
  // replace_unk is on, their pieces (one per id; may be empty otherwise).
  std::vector<std::vector<Hypothesis>> translate_ids(
      const std::vector<std::vector<int32_t>>& sources,
      const std::vector<std::vector<std::string>>& source_pieces);

  const TranslateOptions& options() const { return options_; }
  const TranslateStats& stats() const { return stats_; }

 private:
  // Beam search of one batch; a RangeError (a diverged reversible model) is retried
  // sentence by sentence, and a sentence that still fails gets an empty hypothesis.
  std::vector<std::vector<SearchHypothesis>> search_batch(
      const std::vector<std::vector<int32_t>>& batch);
  Hypothesis to_hypothesis(const SearchHypothesis& found,
                           const std::vector<std::string>* source_pieces) const;

  Seq2Seq& model_;
  const Vocab& src_vocab_;
  const Vocab& tgt_vocab_;
  TranslateOptions options_;
  BeamSearch search_;
  Seq2SeqDecoder decoder_;
  TranslateStats stats_;
};

// The options of the search a TranslateOptions describes.
SearchOptions search_options(const TranslateOptions& options);

// Detokenized text of `tokens` where each unk token i with unk_source[i] >= 0 becomes
// source_pieces[unk_source[i]] (pieces are concatenated, "▁" becomes a space and the
// leading space is dropped, as SentencePiece decodes). Without any replacement this is
// tgt_vocab.decode(tokens).
std::string decode_with_replacements(const Vocab& tgt_vocab, const std::vector<int32_t>& tokens,
                                     const std::vector<int32_t>& unk_source,
                                     const std::vector<std::string>& source_pieces);

}  // namespace revnmt
