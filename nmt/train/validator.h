#pragma once
// Validation during training: perplexity of the validation corpus (Seq2Seq::evaluate, no
// dropout) and, when asked, corpus BLEU / chrF of translations of the validation sources
// against the raw reference lines, with sacreBLEU's defaults and signatures.

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "nmt/config/recipe.h"
#include "nmt/data/batch.h"
#include "nmt/data/corpus.h"
#include "nmt/data/vocab.h"
#include "nmt/eval/bleu.h"
#include "nmt/eval/chrf.h"
#include "nmt/model/seq2seq.h"

namespace revnmt {

struct ValidationScores {
  LossStats loss;  // summed over the validation corpus
  double perplexity = 0.0;
  std::optional<eval::BleuScore> bleu;
  std::optional<eval::ChrfScore> chrf;
  int64_t translated = 0;               // sentences translated for BLEU/chrF
  std::vector<std::string> hypotheses;  // those translations, in order
  double seconds = 0.0;
  std::string error;  // set when the model could not be evaluated (perplexity is then inf)

  // The value of `metric` (perplexity, BLEU or chrF); NaN when it was not computed.
  double value(Metric metric) const;
};

class Validator {
 public:
  // Loads the validation corpus (recipe data.valid_src/valid_tgt, every non-empty pair, no
  // length limit) for perplexity and the raw lines (the first train.valid_max_sentences
  // pairs with a non-empty reference) for translation.
  Validator(const Recipe& recipe, const Vocab& src_vocab, const Vocab& tgt_vocab);

  // Computes perplexity always and BLEU/chrF when they are in `metrics`.
  ValidationScores run(Seq2Seq& model, const std::set<Metric>& metrics);

  const ParallelCorpus& corpus() const { return corpus_; }
  int64_t raw_pairs() const { return static_cast<int64_t>(sources_.size()); }

 private:
  const Vocab& src_vocab_;
  const Vocab& tgt_vocab_;
  TranslateConfig translate_;
  int beam_ = 1;
  ParallelCorpus corpus_;
  std::vector<Batch> batches_;
  std::vector<std::string> sources_, references_;
};

}  // namespace revnmt
