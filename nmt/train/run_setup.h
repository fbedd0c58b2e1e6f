#pragma once
// The pieces of a run built from a recipe — vocabularies, training corpus, batcher options,
// model — shared by the trainer and the commands that inspect a recipe without training it
// (`revnmt memory`), so both see the same data, batches and model.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "nmt/config/recipe.h"
#include "nmt/core/dropout.h"
#include "nmt/data/batcher.h"
#include "nmt/data/corpus.h"
#include "nmt/data/vocab.h"
#include "nmt/model/seq2seq.h"

namespace revnmt {

using InfoSink = std::function<void(const std::string&)>;

struct RecipeVocabs {
  Vocab src;
  Vocab tgt;                         // the same vocabulary as `src` when data.joint_vocab
  std::vector<std::string> trained;  // vocabulary files created by this call
};

// Loads the recipe's SentencePiece vocabularies (src_vocab_path/tgt_vocab_path), training
// those that do not exist yet from the training files. Progress lines go to `info`.
RecipeVocabs prepare_vocabs(const Recipe& recipe, const InfoSink& info);

// The training corpus (data.train_src/train_tgt, data.max_length) encoded with the vocabularies.
ParallelCorpus load_training_corpus(const Recipe& recipe, const Vocab& src_vocab,
                                    const Vocab& tgt_vocab);

// How training batches are cut (shuffled, seeded from train.seed).
BatcherOptions training_batcher_options(const TrainConfig& train);

// The recipe's model (not initialized) with the training step's options.
std::unique_ptr<Seq2Seq> make_model(const ModelConfig& model, const TrainConfig& train,
                                    const Vocab& src_vocab, const Vocab& tgt_vocab);

// The dropout key of training update `update` (1-based).
DropoutKey training_dropout(const TrainConfig& train, int64_t update);

}  // namespace revnmt
