#pragma once
// Batched beam search over many sentences at once (greedy search is beam 1).
//
// Rows: every step runs one DecoderModel::step for all live hypotheses of all unfinished
// sentences (rows = Σ live beams); a row's sentence index lets the beams of a sentence
// share its attention context.
//
// Per sentence and step (Marian's shrinking beam):
//   * each live row proposes its best `budget` continuations (top_k over V, no sort of
//     the vocabulary), budget = beam - finished hypotheses of the sentence; the top-k
//     runs on the row's scores (logits), right after they are normalized and while they
//     are in cache, and only the proposals are converted to log-probs;
//   * the sentence keeps the `budget` best candidates by accumulated log-probability;
//     candidates ending in EOS become finished hypotheses (no children), the others live
//     on. So live + finished = beam until the candidates run out.
//   * Scores: accumulated log-prob L; a finished hypothesis of n tokens plus EOS is ranked
//     by L / (n + 1)^alpha (alpha = 0: the raw sum).
//   * Length limits: EOS is not allowed at step 0 (minimum length 1, so a non-empty source
//     never gets an empty translation, cf. marian-dev #462); bos and pad are never
//     generated; after max_len = max(1, floor(ratio · source tokens) + offset) tokens only
//     EOS is allowed, so every hypothesis ends by then.
//
// Stopping rule: a sentence is done when it has `beam` finished hypotheses, when its live
// hypotheses reach max_len (they are all completed with EOS), or earlier when it already
// has n_best finished hypotheses and no live one can still beat the n_best-th: a live
// hypothesis with log-prob L <= 0 can only lose probability, and its length-normalized
// score is at most L / (max_len + 1)^alpha; when that bound is below the n_best-th score
// the n-best list is final (this early stop never changes the result). Done sentences are
// removed from the batch (rows compacted with DecoderModel::reorder).
//
// Determinism and batch invariance: a sentence's candidates depend only on its own rows;
// ties are broken by lower beam rank, then lower token id (row proposals rank by
// score, ties to the lower token id); finished hypotheses with equal scores keep their
// finishing order. Nothing depends on the other sentences, the batch size or threads.

#include <cstdint>
#include <vector>

#include "nmt/decode/decoder_model.h"

namespace revnmt {

struct SearchOptions {
  int beam = 5;
  int n_best = 1;  // hypotheses returned per sentence, 1 <= n_best <= beam
  float alpha = 1.0f;
  float max_length_ratio = 2.0f;
  int max_length_offset = 5;
  // Record the most-attended source position of every generated unk (for --replace-unk).
  bool unk_positions = false;
};

struct SearchHypothesis {
  std::vector<int32_t> tokens;  // without EOS
  float log_prob = 0;           // incl. EOS
  float score = 0;              // log_prob / (tokens + 1)^alpha
  // With unk_positions: per token, the most-attended source position (0-based, never the
  // EOS position) for unk tokens, -1 for the others. Empty otherwise.
  std::vector<int32_t> unk_source;
};

// max_len of a source of `source_tokens` tokens (without EOS).
int max_output_length(const SearchOptions& options, int source_tokens);

// score of a hypothesis with log-prob `log_prob` and `length` tokens incl. EOS.
float normalized_score(float log_prob, int length, float alpha);

// The most-attended position among weights[0, source_tokens) (ties: the lower position).
int most_attended(const float* weights, int source_tokens);

class BeamSearch {
 public:
  // Throws InputError for options out of range (beam < 1, n_best outside 1..beam, alpha
  // negative or not finite, negative ratio or offset).
  explicit BeamSearch(const SearchOptions& options);

  // n-best lists (best first, at most n_best entries) of `sources` (ids without EOS, none
  // empty), in input order; all sources are decoded together as one batch.
  std::vector<std::vector<SearchHypothesis>> search(
      DecoderModel& model, const std::vector<std::vector<int32_t>>& sources);

  // Decoder steps and decoder rows (Σ rows over the steps) of the last search.
  int64_t last_steps() const { return last_steps_; }
  int64_t last_rows() const { return last_rows_; }

  const SearchOptions& options() const { return options_; }

 private:
  struct Node {  // one generated token in the hypothesis tree of a batch
    int32_t parent;
    int32_t token;
    int32_t source;  // most-attended source position (unk tokens), else -1
  };
  struct Finished {
    int32_t node;  // last token before EOS (-1: empty)
    int32_t length;
    float log_prob;
    float score;
  };
  struct Candidate {
    float total;  // accumulated log-prob
    int32_t row;  // parent row
    int32_t token;
  };
  struct Sentence {
    int source_tokens = 0;
    int max_len = 0;
    bool done = false;
    int live_begin = 0, live = 0;  // its rows in the current step
    std::vector<Finished> finished;
  };

  // Finishes row r's scores into log-probs and puts its best continuations (at most its
  // sentence's budget) into proposal_*.
  void propose(int r, const DecoderModel& model, const Sentence& sentence, int step, int vocab,
               const SpecialTokens& special);
  // Chooses sentence s's next hypotheses from its rows' proposals; appends its new rows.
  void advance(int s, Sentence& sentence, int step, int source_steps, const SpecialTokens& special);
  bool can_stop_early(const Sentence& sentence);
  SearchHypothesis unwind(const Finished& finished) const;

  SearchOptions options_;
  int64_t last_steps_ = 0;
  int64_t last_rows_ = 0;

  // Per-batch and per-step buffers, reused.
  std::vector<Node> nodes_;
  std::vector<float> scores_;             // [rows, V] (DecoderModel::step)
  std::vector<float> attention_;          // [rows, Ts]
  std::vector<int32_t> proposal_tokens_;  // [rows, beam]
  std::vector<float> proposal_values_;    // [rows, beam]
  std::vector<int32_t> proposal_count_;   // [rows]
  std::vector<int32_t> row_budget_;       // [rows]
  // Current rows.
  std::vector<int32_t> tokens_, sentence_of_row_, node_of_row_;
  std::vector<float> score_of_row_;
  // Next rows.
  std::vector<int32_t> next_from_, next_tokens_, next_sentence_, next_node_;
  std::vector<float> next_score_;
  std::vector<Candidate> candidates_;
  std::vector<float> finished_scores_;
};

}  // namespace revnmt
