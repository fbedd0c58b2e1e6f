#include "nmt/train/run_setup.h"

#include <filesystem>

#include "nmt/core/file_io.h"
#include "nmt/model/model_io.h"
#include "nmt/train/train_log.h"

namespace revnmt {

namespace fs = std::filesystem;

namespace {

Vocab obtain_vocab(const Recipe& recipe, const std::string& path,
                   const std::vector<std::string>& inputs, const std::string& what,
                   const InfoSink& info, std::vector<std::string>& trained) {
  const DataConfig& data = recipe.data;
  if (file_exists(path)) {
    Vocab vocab = Vocab::load(path);
    info("[vocab] Loaded " + what + " vocabulary " + path + ": " +
         with_thousands(int64_t(vocab.size())) + " pieces");
    return vocab;
  }
  const std::string parent = fs::path(path).parent_path().string();
  if (!parent.empty()) make_directories(parent);
  VocabTrainOptions options;
  options.inputs = inputs;
  options.model_path = path;
  options.vocab_size = data.vocab_size;
  options.model_type = to_string(data.vocab_type);
  options.max_lines = data.vocab_max_lines;
  options.seed = static_cast<uint64_t>(recipe.train.seed);
  info("[vocab] Training " + what + " SentencePiece " + options.model_type + " vocabulary of " +
       with_thousands(int64_t(data.vocab_size)) + " pieces into " + path);
  VocabTrainSummary summary;
  Vocab vocab = Vocab::train(options, &summary);
  trained.push_back(path);
  info("[vocab] Trained " + path + ": " + with_thousands(int64_t(summary.pieces)) +
       " pieces from " + with_thousands(summary.lines_used) + " of " +
       with_thousands(summary.lines_read) + " lines");
  return vocab;
}

}  // namespace

RecipeVocabs prepare_vocabs(const Recipe& recipe, const InfoSink& info) {
  const DataConfig& data = recipe.data;
  const std::string train_src = resolve_data_path(data, data.train_src);
  const std::string train_tgt = resolve_data_path(data, data.train_tgt);
  std::vector<std::string> trained;
  if (data.joint_vocab) {
    Vocab joint = obtain_vocab(recipe, src_vocab_path(recipe), {train_src, train_tgt}, "joint",
                               info, trained);
    return RecipeVocabs{joint, joint, trained};
  }
  Vocab src = obtain_vocab(recipe, src_vocab_path(recipe), {train_src}, "source", info, trained);
  Vocab tgt = obtain_vocab(recipe, tgt_vocab_path(recipe), {train_tgt}, "target", info, trained);
  return RecipeVocabs{src, tgt, trained};
}

ParallelCorpus load_training_corpus(const Recipe& recipe, const Vocab& src_vocab,
                                    const Vocab& tgt_vocab) {
  const DataConfig& data = recipe.data;
  CorpusOptions options;
  options.max_length = data.max_length;
  return ParallelCorpus::load(resolve_data_path(data, data.train_src),
                              resolve_data_path(data, data.train_tgt), src_vocab, tgt_vocab,
                              options);
}

BatcherOptions training_batcher_options(const TrainConfig& train) {
  BatcherOptions options;
  options.batch_size = train.batch_size;
  options.batch_tokens = train.batch_tokens;
  options.pool_batches = train.pool_batches;
  options.shuffle = true;
  options.seed = static_cast<uint64_t>(train.seed);
  return options;
}

std::unique_ptr<Seq2Seq> make_model(const ModelConfig& model, const TrainConfig& train,
                                    const Vocab& src_vocab, const Vocab& tgt_vocab) {
  Seq2SeqOptions options;
  options.chunk_steps = train.chunk_steps;
  options.precision = train.precision;
  return std::make_unique<Seq2Seq>(model, src_vocab.size(), tgt_vocab.size(),
                                   special_tokens_of(tgt_vocab), options);
}

DropoutKey training_dropout(const TrainConfig& train, int64_t update) {
  return DropoutKey{static_cast<uint64_t>(train.seed), static_cast<uint64_t>(update), true};
}

}  // namespace revnmt
