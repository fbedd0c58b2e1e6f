#include "nmt/train/validator.h"

#include <chrono>
#include <cmath>

#include "nmt/core/error.h"
#include "nmt/data/batcher.h"
#include "nmt/data/line_reader.h"
#include "nmt/decode/translator.h"

namespace revnmt {

namespace {

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t\r\f\v") == std::string::npos;
}

}  // namespace

double ValidationScores::value(Metric metric) const {
  switch (metric) {
    case Metric::perplexity:
      return perplexity;
    case Metric::bleu:
      return bleu ? bleu->score : std::nan("");
    case Metric::chrf:
      return chrf ? chrf->score : std::nan("");
  }
  return std::nan("");
}

Validator::Validator(const Recipe& recipe, const Vocab& src_vocab, const Vocab& tgt_vocab)
    : src_vocab_(src_vocab),
      tgt_vocab_(tgt_vocab),
      translate_(recipe.translate),
      beam_(recipe.train.valid_beam) {
  const std::string src_path = resolve_data_path(recipe.data, recipe.data.valid_src);
  const std::string tgt_path = resolve_data_path(recipe.data, recipe.data.valid_tgt);
  corpus_ = ParallelCorpus::load(src_path, tgt_path, src_vocab, tgt_vocab, CorpusOptions{0});

  BatcherOptions options;
  options.batch_size = recipe.train.batch_size;
  options.batch_tokens = recipe.train.batch_tokens;
  options.pool_batches = recipe.train.pool_batches;
  options.shuffle = false;
  Batcher batcher(corpus_, options);
  for (const auto& indices : batcher.epoch_plan(1)) batches_.push_back(batcher.make_batch(indices));

  // The line counts were checked by the corpus reader above.
  LineReader src(src_path), tgt(tgt_path);
  const int64_t limit = recipe.train.valid_max_sentences;
  std::string source, reference;
  while (src.next(source) && tgt.next(reference)) {
    if (limit > 0 && static_cast<int64_t>(sources_.size()) >= limit) break;
    if (blank(reference)) continue;  // sacreBLEU skips empty references
    sources_.push_back(source);
    references_.push_back(reference);
  }
}

ValidationScores Validator::run(Seq2Seq& model, const std::set<Metric>& metrics) {
  const auto start = std::chrono::steady_clock::now();
  ValidationScores scores;
  try {
    for (const Batch& batch : batches_) scores.loss += model.evaluate(batch);
    scores.perplexity = scores.loss.perplexity();
  } catch (const RangeError& e) {  // a diverged reversible model: report, do not crash
    scores.error = std::string("fixed-point range exceeded: ") + e.what();
    scores.perplexity = HUGE_VAL;
    return scores;
  }

  const bool want_bleu = metrics.count(Metric::bleu) > 0;
  const bool want_chrf = metrics.count(Metric::chrf) > 0;
  if ((want_bleu || want_chrf) && !sources_.empty()) {
    TranslateOptions options;
    options.beam = beam_;
    options.n_best = 1;
    options.alpha = static_cast<float>(translate_.alpha);
    options.max_length_ratio = static_cast<float>(translate_.max_length_ratio);
    options.batch = translate_.batch;
    Translator translator(model, src_vocab_, tgt_vocab_, options);
    scores.hypotheses = translator.translate_best(sources_);
    scores.translated = static_cast<int64_t>(sources_.size());
    const std::vector<std::vector<std::string>> refs{references_};
    if (want_bleu) scores.bleu = eval::corpus_bleu(scores.hypotheses, refs);
    if (want_chrf) scores.chrf = eval::corpus_chrf(scores.hypotheses, refs);
  }
  scores.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return scores;
}

}  // namespace revnmt
