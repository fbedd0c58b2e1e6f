#include "nmt/report/memory_probe.h"

#include <stdlib.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <optional>

#include "nmt/core/error.h"
#include "nmt/core/file_io.h"
#include "nmt/data/batcher.h"
#include "nmt/model/model_io.h"
#include "nmt/train/train_log.h"

namespace revnmt::report {

namespace fs = std::filesystem;

namespace {

// A private temporary directory, removed with its contents at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern = (fs::temp_directory_path() / "revnmt-memory-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr)
      fail("cannot create a temporary directory in ", fs::temp_directory_path().string());
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

std::string model_value(size_t field, const ModelConfig& config) {
  YAML::Emitter out;
  config::model_fields().field(field).write(out, config);
  return out.c_str();
}

void check_same_model(const ModelConfig& saved, const ModelConfig& recipe,
                      const std::string& path) {
  const auto& fields = config::model_fields();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields.field(i).equal(saved, recipe)) continue;
    fail(path, ": model.", fields.keys()[i], " is ", model_value(i, saved),
         " in this model file but ", model_value(i, recipe),
         " in the recipe; pass the model file trained with this recipe");
  }
}

}  // namespace

ModelConfig standard_counterpart(const ModelConfig& model, bool same_context) {
  ModelConfig standard = model;
  if (model.cell == CellType::revgru) standard.cell = CellType::gru;
  if (model.cell == CellType::revlstm) standard.cell = CellType::lstm;
  if (!same_context) standard.context = ContextType::hidden;
  return standard;
}

std::string describe_model(const ModelConfig& m) {
  std::string text = to_string(m.cell) + ", " + std::to_string(m.layers) +
                     (m.layers == 1 ? " layer" : " layers") + ", emb " +
                     std::to_string(m.emb_size) + ", hidden " + std::to_string(m.hidden_size) +
                     ", context " + to_string(m.context);
  if (m.context == ContextType::slice || m.context == ContextType::slice_emb)
    text += " (slice " + std::to_string(m.slice_dim) + ")";
  if (m.is_reversible()) {
    if (m.no_forgetting)
      text += ", no forgetting";
    else if (m.max_forget_bits > 0)
      text += ", at most " + std::to_string(m.max_forget_bits) + " forgotten bits";
    else
      text += ", unlimited forgetting";
  }
  return text;
}

MemoryReport measure_memory(const Recipe& recipe, const MemoryProbeOptions& options,
                            const InfoSink& info) {
  require(options.batches >= 1, "--batches must be at least 1, not ", options.batches);
  const DataConfig& data = recipe.data;
  const TrainConfig& train = recipe.train;
  require_readable_file(resolve_data_path(data, data.train_src),
                        "data.train_src (training source)");
  require_readable_file(resolve_data_path(data, data.train_tgt),
                        "data.train_tgt (training target)");

  MemoryReport report;
  report.recipe = recipe.source_path.empty() ? std::string("(recipe)") : recipe.source_path;

  std::unique_ptr<Seq2Seq> model;
  std::optional<Vocab> src_vocab, tgt_vocab;
  std::optional<ScratchDir> scratch;
  if (!options.model_path.empty()) {
    Seq2SeqOptions model_options;
    model_options.chunk_steps = train.chunk_steps;
    LoadedModel loaded = load_model(options.model_path, model_options);
    check_same_model(loaded.model->config(), recipe.model, options.model_path);
    model = std::move(loaded.model);
    src_vocab = std::move(loaded.src_vocab);
    tgt_vocab = std::move(loaded.tgt_vocab);
    report.parameters = "parameters of " + options.model_path;
  } else {
    // Vocabularies the run has not trained yet go to a scratch directory: measuring must not
    // leave files in the run directory.
    Recipe local = recipe;
    auto redirect = [&](const std::string& path, std::string& key, const char* name) {
      if (file_exists(path)) return;
      if (!scratch) scratch.emplace();
      key = scratch->file(name);
      info("[vocab] " + path + " does not exist yet; training the same vocabulary into a " +
           "temporary directory for this measurement");
    };
    if (data.joint_vocab) {
      redirect(src_vocab_path(recipe), local.data.vocab, "vocab.spm");
    } else {
      redirect(src_vocab_path(recipe), local.data.src_vocab, "vocab.src.spm");
      redirect(tgt_vocab_path(recipe), local.data.tgt_vocab, "vocab.tgt.spm");
    }
    RecipeVocabs vocabs = prepare_vocabs(local, info);
    src_vocab = std::move(vocabs.src);
    tgt_vocab = std::move(vocabs.tgt);
    model = make_model(recipe.model, train, *src_vocab, *tgt_vocab);
    model->initialize(static_cast<uint64_t>(train.seed));
    report.parameters = "parameters initialized from train.seed " + std::to_string(train.seed);
  }

  const ModelConfig standard_config =
      standard_counterpart(recipe.model, options.standard_same_context);
  std::unique_ptr<Seq2Seq> standard = make_model(standard_config, train, *src_vocab, *tgt_vocab);
  standard->initialize(static_cast<uint64_t>(train.seed));
  report.model = {to_string(recipe.model.cell), to_string(recipe.model.context),
                  describe_model(recipe.model)};
  report.standard = {to_string(standard_config.cell), to_string(standard_config.context),
                     describe_model(standard_config)};
  report.standard_context_rule = options.standard_same_context
                                     ? "the recipe's own context"
                                     : "the standard baseline recipes' context";

  const ParallelCorpus corpus = load_training_corpus(recipe, *src_vocab, *tgt_vocab);
  const Batcher batcher(corpus, training_batcher_options(train));
  const BatchPlan plan = batcher.epoch_plan(1);
  const size_t n = std::min(plan.size(), static_cast<size_t>(options.batches));
  if (n < static_cast<size_t>(options.batches))
    info("[memory] the first epoch has only " + std::to_string(plan.size()) +
         " batches; measuring all of them");
  for (size_t i = 0; i < n; ++i) {
    const Batch batch = batcher.make_batch(plan[i]);
    // The dropout key of update i+1, as the trainer would use for this batch.
    const DropoutKey dropout = training_dropout(train, static_cast<int64_t>(i) + 1);
    const StepResult mine = model->forward_only(batch, dropout);
    const StepResult base = standard->forward_only(batch, dropout);
    report.encoder.ledger += mine.encoder;
    report.decoder.ledger += mine.decoder;
    report.encoder.standard_held_bytes += base.encoder.held_bytes;
    report.decoder.standard_held_bytes += base.decoder.held_bytes;
    report.held_bytes += mine.held_bytes;
    report.standard_held_bytes += base.held_bytes;
    report.peak_held_bytes = std::max(report.peak_held_bytes, mine.held_bytes);
    report.standard_peak_held_bytes = std::max(report.standard_peak_held_bytes, base.held_bytes);
    report.sentences += batch.rows;
    report.source_tokens += batch.source_tokens();
    report.target_tokens += batch.target_tokens();
  }
  report.batches = static_cast<int>(n);
  return report;
}

}  // namespace revnmt::report
