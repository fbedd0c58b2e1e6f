#include "nmt/config/recipe.h"

#include <algorithm>
#include <filesystem>

#include "nmt/core/error.h"
#include "nmt/core/file_io.h"

namespace revnmt {

namespace config {
namespace {

FieldSet<DataConfig> make_data_fields() {
  using D = DataConfig;
  FieldSet<D> f;
  f.add("dir", &D::dir,
        "base for the relative data paths below (itself relative to the working dir)");
  f.add("train_src", &D::train_src, "training source: plain or gzip text, one sentence per line");
  f.add("train_tgt", &D::train_tgt, "training target, line-aligned with train_src");
  f.add("valid_src", &D::valid_src, "validation source");
  f.add("valid_tgt", &D::valid_tgt, "validation target (reference)");
  f.add("test_src", &D::test_src, "optional test source; used by recipe scripts");
  f.add("test_tgt", &D::test_tgt, "optional test reference");
  f.add("src_lang", &D::src_lang, "source language code");
  f.add("tgt_lang", &D::tgt_lang, "target language code");
  f.add("vocab", &D::vocab,
        "joint SentencePiece model; \"\" = `<run_dir>/vocab.spm`; trained when missing");
  f.add("joint_vocab", &D::joint_vocab, "one vocabulary for both sides");
  f.add("src_vocab", &D::src_vocab,
        "source SentencePiece model when joint_vocab is false; \"\" = `<run_dir>/vocab.src.spm`");
  f.add("tgt_vocab", &D::tgt_vocab,
        "target SentencePiece model when joint_vocab is false; \"\" = `<run_dir>/vocab.tgt.spm`");
  f.add("vocab_size", &D::vocab_size, "subword vocabulary size when training one (>= 8)");
  f.add("vocab_type", &D::vocab_type, "unigram | bpe");
  f.add("vocab_max_lines", &D::vocab_max_lines,
        "training lines sampled to train the vocabulary (0 = all)");
  f.add("max_length", &D::max_length,
        "training pairs with more subword tokens on a side are skipped (0 = keep all)");
  return f;
}

FieldSet<TrainConfig> make_train_fields() {
  using T = TrainConfig;
  FieldSet<T> f;
  f.add("seed", &T::seed, "random seed (parameters, dropout, shuffling)");
  f.add("threads", &T::threads, "CPU threads");
  f.add("optimizer", &T::optimizer, "adam | sgd");
  f.add("lr", &T::lr, "learning rate (> 0)");
  f.add("adam_beta1", &T::adam_beta1, "Adam beta1, in [0, 1)");
  f.add("adam_beta2", &T::adam_beta2, "Adam beta2, in [0, 1)");
  f.add("adam_eps", &T::adam_eps, "Adam epsilon (> 0)");
  f.add("lr_schedule", &T::lr_schedule, "constant | plateau | inverse_sqrt");
  f.add("lr_decay", &T::lr_decay,
        "plateau: multiply lr by this when validation perplexity did not improve, in (0, 1]");
  f.add("lr_warmup", &T::lr_warmup, "updates of linear warm-up (inverse_sqrt and others)");
  f.add("lr_min", &T::lr_min, "stop training when the lr falls below this (0 = never)");
  f.add("clip_norm", &T::clip_norm, "global gradient-norm clipping (0 = off)");
  f.add("label_smoothing", &T::label_smoothing, "label smoothing, in [0, 1)");
  f.add("batch_size", &T::batch_size, "sentences per batch");
  f.add("batch_tokens", &T::batch_tokens, "target-token budget per batch (0 = use batch_size)");
  f.add("pool_batches", &T::pool_batches, "batches sorted together for length bucketing");
  f.add("max_epochs", &T::max_epochs, "0 = unlimited");
  f.add("max_updates", &T::max_updates, "0 = unlimited");
  f.add("max_time_minutes", &T::max_time_minutes, "0 = unlimited");
  f.add("log_every", &T::log_every, "updates between log lines");
  f.add("valid_every", &T::valid_every, "updates between validations (0 = only at epoch end)");
  f.add("valid_metrics", &T::valid_metrics, "list, subset of perplexity | bleu | chrf");
  f.add("valid_max_sentences", &T::valid_max_sentences, "0 = whole validation set");
  f.add("valid_beam", &T::valid_beam, "beam for validation translations (1 = greedy)");
  f.add("early_stopping_metric", &T::early_stopping_metric, "perplexity | bleu | chrf");
  f.add("patience", &T::patience, "validations without improvement before stopping (0 = off)");
  f.add("keep_last", &T::keep_last, "last K checkpoints kept besides the best (>= 1)");
  f.add("save_every", &T::save_every,
        "updates between checkpoints (plus at epoch end and on SIGINT/SIGTERM; 0 = only those)");
  f.add("chunk_steps", &T::chunk_steps,
        "time steps processed together in the reverse sweep (memory/speed trade-off)");
  f.add("max_memory_mb", &T::max_memory_mb,
        "cap in MiB on the process's memory: batches that would exceed it run as sub-batches "
        "with the same update; a pair that cannot fit alone is an error (0 = off; see below)");
  f.add("precision", &T::precision,
        "fp32 | bf16: arithmetic of the weight products (input projections, recurrent products, "
        "attention, output layer) while training and validating (bf16 operands, f32 "
        "accumulation; see tools/README.md)");
  return f;
}

FieldSet<TranslateConfig> make_translate_fields() {
  using T = TranslateConfig;
  FieldSet<T> f;
  f.add("beam", &T::beam, "beam size (1 = greedy)");
  f.add("alpha", &T::alpha, "length normalization: score / length^alpha (>= 0)");
  f.add("max_length_ratio", &T::max_length_ratio, "max output length = ratio * source length + 5");
  f.add("batch", &T::batch, "sentences per batch");
  f.add("n_best", &T::n_best, "hypotheses printed per sentence (1..beam)");
  return f;
}

const FieldSet<DataConfig>& data_fields() {
  static const FieldSet<DataConfig> fields = make_data_fields();
  return fields;
}

const FieldSet<TrainConfig>& train_fields() {
  static const FieldSet<TrainConfig> fields = make_train_fields();
  return fields;
}

const FieldSet<TranslateConfig>& translate_fields() {
  static const FieldSet<TranslateConfig> fields = make_translate_fields();
  return fields;
}

FieldSet<Recipe> make_recipe_fields() {
  FieldSet<Recipe> f;
  f.add("run_dir", &Recipe::run_dir, "checkpoints, logs, vocabularies and translations go here");
  f.add_section("data", &Recipe::data, data_fields());
  f.add_section("model", &Recipe::model, model_fields());
  f.add_section("train", &Recipe::train, train_fields());
  f.add_section("translate", &Recipe::translate, translate_fields());
  return f;
}

std::string quoted(const std::string& text) { return "\"" + text + "\""; }

std::string metric_list(const std::vector<Metric>& metrics) {
  std::string out = "[";
  for (std::size_t i = 0; i < metrics.size(); ++i)
    out += (i > 0 ? ", " : "") + to_string(metrics[i]);
  return out + "]";
}

void check_data(const DataConfig& d, const Checker& check) {
  check.not_empty("train_src", d.train_src);
  check.not_empty("train_tgt", d.train_tgt);
  check.not_empty("valid_src", d.valid_src);
  check.not_empty("valid_tgt", d.valid_tgt);
  check.not_empty("src_lang", d.src_lang);
  check.not_empty("tgt_lang", d.tgt_lang);
  // A path that would be silently ignored is a trap: refuse it.
  if (d.joint_vocab) {
    const std::string rule = "\"\" while data.joint_vocab is true (set data.vocab instead)";
    check.require(d.src_vocab.empty(), "src_vocab", quoted(d.src_vocab), rule);
    check.require(d.tgt_vocab.empty(), "tgt_vocab", quoted(d.tgt_vocab), rule);
  } else {
    check.require(d.vocab.empty(), "vocab", quoted(d.vocab),
                  "\"\" while data.joint_vocab is false (set data.src_vocab and data.tgt_vocab)");
  }
  check.at_least("vocab_size", d.vocab_size, 8);
  check.at_least("vocab_max_lines", d.vocab_max_lines, 0);
  check.at_least("max_length", d.max_length, 0);
}

void check_train(const TrainConfig& t, const Checker& check) {
  check.at_least("seed", t.seed, 0);
  check.at_least("threads", t.threads, 1);
  check.positive("lr", t.lr);
  check.in_interval("adam_beta1", t.adam_beta1, 0.0, true, 1.0, false);
  check.in_interval("adam_beta2", t.adam_beta2, 0.0, true, 1.0, false);
  check.positive("adam_eps", t.adam_eps);
  check.in_interval("lr_decay", t.lr_decay, 0.0, false, 1.0, true);
  check.at_least("lr_warmup", t.lr_warmup, 0);
  check.non_negative("lr_min", t.lr_min);
  check.require(
      t.lr_min < t.lr, "lr_min", format_real(t.lr_min),
      "a number below train.lr = " + format_real(t.lr) + " (training would stop at once)");
  check.non_negative("clip_norm", t.clip_norm);
  check.in_interval("label_smoothing", t.label_smoothing, 0.0, true, 1.0, false);
  check.at_least("batch_size", t.batch_size, 1);
  check.at_least("batch_tokens", t.batch_tokens, 0);
  check.at_least("pool_batches", t.pool_batches, 1);
  check.at_least("max_epochs", t.max_epochs, 0);
  check.at_least("max_updates", t.max_updates, 0);
  check.at_least("max_time_minutes", t.max_time_minutes, 0);
  check.at_least("log_every", t.log_every, 1);
  check.at_least("valid_every", t.valid_every, 0);
  check.require(!t.valid_metrics.empty(), "valid_metrics", "[]",
                "a non-empty list of perplexity | bleu | chrf");
  for (std::size_t i = 0; i < t.valid_metrics.size(); ++i)
    check.require(
        std::count(t.valid_metrics.begin(), t.valid_metrics.end(), t.valid_metrics[i]) == 1,
        "valid_metrics", metric_list(t.valid_metrics), "each metric at most once");
  check.at_least("valid_max_sentences", t.valid_max_sentences, 0);
  check.at_least("valid_beam", t.valid_beam, 1);
  check.at_least("patience", t.patience, 0);
  check.at_least("keep_last", t.keep_last, 1);
  check.at_least("save_every", t.save_every, 0);
  check.at_least("chunk_steps", t.chunk_steps, 1);
  check.at_least("max_memory_mb", t.max_memory_mb, 0);
}

void check_translate(const TranslateConfig& t, const Checker& check) {
  check.at_least("beam", t.beam, 1);
  check.non_negative("alpha", t.alpha);
  check.positive("max_length_ratio", t.max_length_ratio);
  check.at_least("batch", t.batch, 1);
  check.at_least("n_best", t.n_best, 1);
  check.require(t.n_best <= t.beam, "n_best", std::to_string(t.n_best),
                "at most translate.beam = " + std::to_string(t.beam));
}

void check_recipe(const Recipe& r, const Checker& check) {
  check.not_empty("run_dir", r.run_dir);
  check_data(r.data, check.nested("data."));
  check_model_config(r.model, check.nested("model."));
  check_train(r.train, check.nested("train."));
  check_translate(r.translate, check.nested("translate."));
}

std::string join_path(const std::string& dir, const std::string& name) {
  return (std::filesystem::path(dir) / name).string();
}

}  // namespace

const FieldSet<Recipe>& recipe_fields() {
  static const FieldSet<Recipe> fields = make_recipe_fields();
  return fields;
}

}  // namespace config

bool operator==(const Recipe& a, const Recipe& b) { return config::recipe_fields().equal(a, b); }

bool operator==(const DataConfig& a, const DataConfig& b) {
  return config::data_fields().equal(a, b);
}

bool operator==(const TrainConfig& a, const TrainConfig& b) {
  return config::train_fields().equal(a, b);
}

bool operator==(const TranslateConfig& a, const TranslateConfig& b) {
  return config::translate_fields().equal(a, b);
}

Recipe recipe_from_yaml(const std::string& text, const std::string& source,
                        const std::vector<std::string>& overrides) {
  const auto& fields = config::recipe_fields();
  const YAML::Node root = config::parse_yaml_document(text, source);
  Recipe recipe;
  config::KeyOrigins origins;
  fields.read(root, source, recipe, &origins);
  for (const auto& assignment : overrides) fields.apply(assignment, recipe, &origins);
  recipe.source_path = source;
  config::check_recipe(recipe, config::Checker(&origins, source));
  return recipe;
}

Recipe load_recipe(const std::string& path, const std::vector<std::string>& overrides) {
  require_readable_file(path, "recipe");
  return recipe_from_yaml(read_file(path), path, overrides);
}

void validate_recipe(const Recipe& recipe) {
  config::check_recipe(
      recipe, config::Checker(nullptr, recipe.source_path.empty() ? "recipe" : recipe.source_path));
}

std::string dump_recipe(const Recipe& recipe) { return config::recipe_fields().to_yaml(recipe); }

std::vector<config::KeyInfo> recipe_keys() { return config::recipe_fields().describe(); }

std::string resolve_data_path(const DataConfig& data, const std::string& name) {
  if (name.empty() || std::filesystem::path(name).is_absolute() || data.dir.empty() ||
      data.dir == ".")
    return name;
  return config::join_path(data.dir, name);
}

std::string src_vocab_path(const Recipe& recipe) {
  const DataConfig& d = recipe.data;
  if (d.joint_vocab)
    return d.vocab.empty() ? config::join_path(recipe.run_dir, "vocab.spm")
                           : resolve_data_path(d, d.vocab);
  return d.src_vocab.empty() ? config::join_path(recipe.run_dir, "vocab.src.spm")
                             : resolve_data_path(d, d.src_vocab);
}

std::string tgt_vocab_path(const Recipe& recipe) {
  const DataConfig& d = recipe.data;
  if (d.joint_vocab) return src_vocab_path(recipe);
  return d.tgt_vocab.empty() ? config::join_path(recipe.run_dir, "vocab.tgt.spm")
                             : resolve_data_path(d, d.tgt_vocab);
}

}  // namespace revnmt
