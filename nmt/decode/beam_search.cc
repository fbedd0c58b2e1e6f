#include "nmt/decode/beam_search.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "nmt/core/error.h"
#include "nmt/decode/top_k.h"

namespace revnmt {

namespace {

constexpr float kMinusInf = -std::numeric_limits<float>::infinity();
// Rows × V above which the per-row proposals are spread over the OpenMP threads.
constexpr int64_t kParallelWork = int64_t(1) << 15;

}  // namespace

int max_output_length(const SearchOptions& options, int source_tokens) {
  const double limit =
      std::floor(double(options.max_length_ratio) * source_tokens) + options.max_length_offset;
  return int(std::clamp(limit, 1.0, double(std::numeric_limits<int>::max() / 2)));
}

float normalized_score(float log_prob, int length, float alpha) {
  if (alpha == 0.0f) return log_prob;
  return float(double(log_prob) / std::pow(double(std::max(length, 1)), double(alpha)));
}

int most_attended(const float* weights, int source_tokens) {
  int best = 0;
  for (int s = 1; s < source_tokens; ++s)
    if (weights[s] > weights[best]) best = s;
  return best;
}

BeamSearch::BeamSearch(const SearchOptions& options) : options_(options) {
  require(options.beam >= 1, "beam size must be at least 1, not ", options.beam);
  require(options.n_best >= 1 && options.n_best <= options.beam, "n-best must be in 1..beam (",
          options.beam, "), not ", options.n_best);
  require(std::isfinite(options.alpha) && options.alpha >= 0.0f,
          "length normalization alpha must be a finite number >= 0, not ", options.alpha);
  require(std::isfinite(options.max_length_ratio) && options.max_length_ratio >= 0.0f,
          "max length ratio must be a finite number >= 0, not ", options.max_length_ratio);
  require(options.max_length_offset >= 0, "max length offset must be >= 0, not ",
          options.max_length_offset);
}

void BeamSearch::propose(int r, const DecoderModel& model, const Sentence& sentence, int step,
                         int vocab, const SpecialTokens& special) {
  const int beam = options_.beam;
  float* row = scores_.data() + int64_t(r) * vocab;  // [V]
  int32_t* ids = proposal_tokens_.data() + int64_t(r) * beam;
  float* values = proposal_values_.data() + int64_t(r) * beam;
  const int budget = beam - int(sentence.finished.size());
  const LogSoftmaxNormalizer normalizer = model.finish_row(row);
  // A row without a finite normalizer has no finite log-prob (a diverged model).
  if (!std::isfinite(normalizer.max) || !std::isfinite(normalizer.log_sum)) {
    proposal_count_[r] = 0;
    return;
  }
  if (step >= sentence.max_len) {  // only EOS may follow
    const float v = normalizer.log_prob(row[special.eos]);
    proposal_count_[r] = v > kMinusInf ? 1 : 0;
    ids[0] = special.eos;
    values[0] = v;
    return;
  }
  if (special.bos >= 0 && special.bos < vocab) row[special.bos] = kMinusInf;
  if (special.pad >= 0 && special.pad < vocab) row[special.pad] = kMinusInf;
  if (step == 0) row[special.eos] = kMinusInf;  // minimum length 1
  // The scores are in log-prob order: the best scores are the best log-probs.
  const int count = top_k(row, vocab, budget, ids, values);
  for (int c = 0; c < count; ++c) values[c] = normalizer.log_prob(values[c]);
  proposal_count_[r] = count;
}

void BeamSearch::advance(int s, Sentence& sentence, int step, int source_steps,
                         const SpecialTokens& special) {
  const int beam = options_.beam;
  candidates_.clear();
  for (int i = 0; i < sentence.live; ++i) {
    const int r = sentence.live_begin + i;
    const int32_t* ids = proposal_tokens_.data() + int64_t(r) * beam;
    const float* values = proposal_values_.data() + int64_t(r) * beam;
    for (int c = 0; c < proposal_count_[r]; ++c)
      candidates_.push_back({score_of_row_[r] + values[c], r, ids[c]});
  }
  const int first_row = int(next_from_.size());
  if (candidates_.empty()) {
    // Nothing can follow (the model gave no finite log-prob): the live hypotheses end
    // here as they are, so the search always terminates with an answer.
    for (int i = 0; i < sentence.live; ++i) {
      const int r = sentence.live_begin + i;
      sentence.finished.push_back({node_of_row_[r], step, score_of_row_[r],
                                   normalized_score(score_of_row_[r], step, options_.alpha)});
    }
    sentence.live = 0;
    sentence.done = true;
    return;
  }
  const int budget = beam - int(sentence.finished.size());
  const int take = std::min<int>(budget, int(candidates_.size()));
  // Best accumulated log-prob first; ties: lower beam rank (row), then lower token id.
  std::partial_sort(candidates_.begin(), candidates_.begin() + take, candidates_.end(),
                    [](const Candidate& a, const Candidate& b) {
                      if (a.total != b.total) return a.total > b.total;
                      if (a.row != b.row) return a.row < b.row;
                      return a.token < b.token;
                    });
  for (int i = 0; i < take; ++i) {
    const Candidate& c = candidates_[i];
    if (c.token == special.eos) {
      sentence.finished.push_back({node_of_row_[c.row], step + 1, c.total,
                                   normalized_score(c.total, step + 1, options_.alpha)});
      continue;
    }
    int32_t source = -1;
    if (options_.unk_positions && c.token == special.unk)
      source =
          most_attended(attention_.data() + int64_t(c.row) * source_steps, sentence.source_tokens);
    next_from_.push_back(c.row);
    next_tokens_.push_back(c.token);
    next_sentence_.push_back(s);
    next_node_.push_back(int32_t(nodes_.size()));
    next_score_.push_back(c.total);
    nodes_.push_back({node_of_row_[c.row], c.token, source});
  }
  sentence.live_begin = first_row;
  sentence.live = int(next_from_.size()) - first_row;
  if (sentence.live == 0 || int(sentence.finished.size()) >= beam || can_stop_early(sentence)) {
    sentence.done = true;
    sentence.live = 0;
    next_from_.resize(first_row);
    next_tokens_.resize(first_row);
    next_sentence_.resize(first_row);
    next_node_.resize(first_row);
    next_score_.resize(first_row);
  }
}

bool BeamSearch::can_stop_early(const Sentence& sentence) {
  const int n = options_.n_best;
  if (int(sentence.finished.size()) < n) return false;
  // The n-th best finished score.
  std::vector<float>& scores = finished_scores_;
  scores.clear();
  for (const Finished& f : sentence.finished) scores.push_back(f.score);
  std::nth_element(scores.begin(), scores.begin() + (n - 1), scores.end(), std::greater<float>());
  const float kept = scores[n - 1];
  // The live rows are in candidate order: the first has the highest log-prob.
  const float best_live = next_score_[sentence.live_begin];
  if (!(best_live <= 0.0f)) return false;
  // L' <= L <= 0 and length <= max_len + 1, so L' / length^alpha <= L / (max_len + 1)^alpha.
  return normalized_score(best_live, sentence.max_len + 1, options_.alpha) < kept;
}

SearchHypothesis BeamSearch::unwind(const Finished& finished) const {
  SearchHypothesis hyp;
  hyp.log_prob = finished.log_prob;
  hyp.score = finished.score;
  for (int32_t node = finished.node; node >= 0; node = nodes_[node].parent) {
    hyp.tokens.push_back(nodes_[node].token);
    if (options_.unk_positions) hyp.unk_source.push_back(nodes_[node].source);
  }
  std::reverse(hyp.tokens.begin(), hyp.tokens.end());
  std::reverse(hyp.unk_source.begin(), hyp.unk_source.end());
  return hyp;
}

std::vector<std::vector<SearchHypothesis>> BeamSearch::search(
    DecoderModel& model, const std::vector<std::vector<int32_t>>& sources) {
  const int n = int(sources.size());
  std::vector<std::vector<SearchHypothesis>> results(n);
  last_steps_ = last_rows_ = 0;
  if (n == 0) return results;
  const int vocab = model.vocab(), beam = options_.beam;
  const SpecialTokens special = model.special();
  REVNMT_CHECK(special.eos >= 0 && special.eos < vocab, "eos id ", special.eos);
  std::vector<Sentence> sentences(n);
  for (int s = 0; s < n; ++s) {
    REVNMT_CHECK(!sources[s].empty(), "empty source ", s, " in beam search");
    sentences[s].source_tokens = int(sources[s].size());
    sentences[s].max_len = max_output_length(options_, sentences[s].source_tokens);
    sentences[s].live_begin = s;
    sentences[s].live = 1;
  }
  model.begin(sources);
  nodes_.clear();
  tokens_.assign(n, special.bos);
  sentence_of_row_.resize(n);
  for (int s = 0; s < n; ++s) sentence_of_row_[s] = s;
  node_of_row_.assign(n, -1);
  score_of_row_.assign(n, 0.0f);

  for (int step = 0, rows = n; rows > 0; ++step) {
    const int source_steps = model.source_steps();
    scores_.resize(size_t(rows) * vocab);
    if (options_.unk_positions) attention_.resize(size_t(rows) * source_steps);
    model.step(tokens_.data(), sentence_of_row_.data(), rows, scores_.data(),
               options_.unk_positions ? attention_.data() : nullptr);
    ++last_steps_;
    last_rows_ += rows;

    proposal_tokens_.resize(size_t(rows) * beam);
    proposal_values_.resize(size_t(rows) * beam);
    proposal_count_.resize(rows);
#pragma omp parallel for schedule(static) if (int64_t(rows) * vocab >= kParallelWork)
    for (int r = 0; r < rows; ++r)
      propose(r, model, sentences[sentence_of_row_[r]], step, vocab, special);

    next_from_.clear();
    next_tokens_.clear();
    next_sentence_.clear();
    next_node_.clear();
    next_score_.clear();
    for (int s = 0; s < n; ++s)
      if (!sentences[s].done) advance(s, sentences[s], step, source_steps, special);

    rows = int(next_from_.size());
    if (rows > 0) model.reorder(next_from_.data(), rows);
    tokens_.swap(next_tokens_);
    sentence_of_row_.swap(next_sentence_);
    node_of_row_.swap(next_node_);
    score_of_row_.swap(next_score_);
  }

  for (int s = 0; s < n; ++s) {
    std::vector<Finished>& finished = sentences[s].finished;
    // Best score first; equal scores keep their finishing order.
    std::stable_sort(finished.begin(), finished.end(),
                     [](const Finished& a, const Finished& b) { return a.score > b.score; });
    const int keep = std::min<int>(options_.n_best, int(finished.size()));
    for (int i = 0; i < keep; ++i) results[s].push_back(unwind(finished[i]));
  }
  return results;
}

}  // namespace revnmt
