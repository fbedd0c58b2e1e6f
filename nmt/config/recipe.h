#pragma once
// Recipes: the typed configuration of a run, parsed once from YAML and passed down as structs
// (STYLE.md §3). Precedence, as in Marian: member defaults below < recipe file < `--set
// key.path=value` overrides. Every key, its default and its meaning are listed in
// recipes/README.md (checked against recipe_keys() by tests/config).

#include <string>
#include <vector>

#include "nmt/config/enums.h"
#include "nmt/config/model_config.h"
#include "nmt/config/yaml_fields.h"

namespace revnmt {

struct DataConfig {
  std::string dir = ".";  // base of the relative paths below (relative to the working dir)
  std::string train_src = "train.en.gz";
  std::string train_tgt = "train.de.gz";
  std::string valid_src = "val.en.gz";
  std::string valid_tgt = "val.de.gz";
  std::string test_src;  // optional
  std::string test_tgt;
  std::string src_lang = "en";
  std::string tgt_lang = "de";
  std::string vocab;  // "" = <run_dir>/vocab.spm; see src_vocab_path()
  bool joint_vocab = true;
  std::string src_vocab;  // used when !joint_vocab
  std::string tgt_vocab;
  int vocab_size = 8000;
  VocabType vocab_type = VocabType::unigram;
  int vocab_max_lines = 2000000;  // 0 = every line
  int max_length = 50;            // subword tokens per side; 0 = keep all
};

struct TrainConfig {
  int seed = 1;
  int threads = 2;
  Optimizer optimizer = Optimizer::adam;
  double lr = 0.001;
  double adam_beta1 = 0.9;
  double adam_beta2 = 0.999;
  double adam_eps = 1e-8;
  LrSchedule lr_schedule = LrSchedule::constant;
  double lr_decay = 0.5;
  int lr_warmup = 0;
  double lr_min = 0.0;
  double clip_norm = 5.0;
  double label_smoothing = 0.0;
  int batch_size = 64;
  int batch_tokens = 0;
  int pool_batches = 100;
  int max_epochs = 10;
  int max_updates = 0;
  int max_time_minutes = 0;
  int log_every = 50;
  int valid_every = 0;
  std::vector<Metric> valid_metrics = {Metric::perplexity, Metric::bleu};
  int valid_max_sentences = 0;
  int valid_beam = 1;
  Metric early_stopping_metric = Metric::perplexity;
  int patience = 5;
  int keep_last = 2;
  int save_every = 500;
  int chunk_steps = 16;
  int max_memory_mb = 0;
  Precision precision = Precision::fp32;  // of every weight product (bf16: f32 accumulation)
};

struct TranslateConfig {
  int beam = 5;
  double alpha = 1.0;  // score / length^alpha
  double max_length_ratio = 2.0;
  int batch = 32;
  int n_best = 1;
};

struct Recipe {
  std::string run_dir = "runs/default";
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  TranslateConfig translate;
  // Path of the recipe file it was loaded from ("" when built in code). Not a setting: it is
  // not dumped and not compared.
  std::string source_path;
};

bool operator==(const DataConfig& a, const DataConfig& b);
bool operator==(const TrainConfig& a, const TrainConfig& b);
bool operator==(const TranslateConfig& a, const TranslateConfig& b);
// Compares every setting (not `source_path`).
bool operator==(const Recipe& a, const Recipe& b);
inline bool operator!=(const DataConfig& a, const DataConfig& b) { return !(a == b); }
inline bool operator!=(const TrainConfig& a, const TrainConfig& b) { return !(a == b); }
inline bool operator!=(const TranslateConfig& a, const TranslateConfig& b) { return !(a == b); }
inline bool operator!=(const Recipe& a, const Recipe& b) { return !(a == b); }

// Loads a recipe file, applies `overrides` ("key.path=value", later ones win) and validates.
// Throws InputError (one line, naming file:line, the key and what was expected) for a missing
// or unreadable file, YAML syntax errors, unknown or repeated keys, wrong types, sections that
// are not maps, malformed overrides and out-of-range values.
Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides = {});
// The same from YAML text; `source` names it in messages and becomes Recipe::source_path.
Recipe recipe_from_yaml(const std::string& text, const std::string& source,
                        const std::vector<std::string>& overrides = {});

// Range and consistency checks (load_recipe already ran them).
void validate_recipe(const Recipe& recipe);

// The full effective configuration as YAML, every key, for --dump-config and the copy kept in
// the run directory. recipe_from_yaml(dump_recipe(r), ...) == r.
std::string dump_recipe(const Recipe& recipe);

// Every recipe key ("model.hidden_size") with its default and meaning, in dump order.
std::vector<config::KeyInfo> recipe_keys();

// `name` resolved against data.dir unless it is absolute or empty ("" stays "").
std::string resolve_data_path(const DataConfig& data, const std::string& name);
// SentencePiece model paths. Joint vocabulary: data.vocab, or <run_dir>/vocab.spm when empty
// (both sides get the same path). Separate: data.src_vocab / data.tgt_vocab, or
// <run_dir>/vocab.src.spm / vocab.tgt.spm. Given paths resolve like data paths.
std::string src_vocab_path(const Recipe& recipe);
std::string tgt_vocab_path(const Recipe& recipe);

namespace config {
const FieldSet<Recipe>& recipe_fields();
}  // namespace config

}  // namespace revnmt
