#include "nmt/config/recipe.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "tests/config/config_test_util.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

using config_test::fixture;
using config_test::input_error_of;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

Recipe from_text(const std::string& text, const std::vector<std::string>& overrides = {}) {
  return recipe_from_yaml(text, "recipe.yaml", overrides);
}

std::string error_from_text(const std::string& text,
                            const std::vector<std::string>& overrides = {}) {
  return input_error_of([&] { from_text(text, overrides); });
}

// ---- defaults ----

TEST(RecipeDefaults, MatchTheDocumentedSchema) {
  const Recipe r = from_text("");
  EXPECT_EQ(r.run_dir, "runs/default");
  EXPECT_EQ(r.data.dir, ".");
  EXPECT_EQ(r.data.train_src, "train.en.gz");
  EXPECT_EQ(r.data.valid_tgt, "val.de.gz");
  EXPECT_EQ(r.data.test_src, "");
  EXPECT_EQ(r.data.vocab, "");
  EXPECT_TRUE(r.data.joint_vocab);
  EXPECT_EQ(r.data.vocab_size, 8000);
  EXPECT_EQ(r.data.vocab_type, VocabType::unigram);
  EXPECT_EQ(r.data.vocab_max_lines, 2000000);
  EXPECT_EQ(r.data.max_length, 50);
  EXPECT_EQ(r.model.cell, CellType::revgru);
  EXPECT_EQ(r.model.layers, 1);
  EXPECT_EQ(r.model.emb_size, 300);
  EXPECT_EQ(r.model.hidden_size, 300);
  EXPECT_EQ(r.model.context, ContextType::slice_emb);
  EXPECT_EQ(r.model.slice_dim, 20);
  EXPECT_EQ(r.model.max_forget_bits, 3);
  EXPECT_FALSE(r.model.no_forgetting);
  EXPECT_DOUBLE_EQ(r.model.dropout_slice, 0.4);
  EXPECT_DOUBLE_EQ(r.model.init_range, 0.1);
  EXPECT_EQ(r.train.seed, 1);
  EXPECT_EQ(r.train.threads, 2);
  EXPECT_EQ(r.train.optimizer, Optimizer::adam);
  EXPECT_DOUBLE_EQ(r.train.lr, 0.001);
  EXPECT_DOUBLE_EQ(r.train.adam_eps, 1e-8);
  EXPECT_EQ(r.train.lr_schedule, LrSchedule::constant);
  EXPECT_DOUBLE_EQ(r.train.clip_norm, 5.0);
  EXPECT_EQ(r.train.batch_size, 64);
  EXPECT_EQ(r.train.max_epochs, 10);
  EXPECT_EQ(r.train.valid_metrics, (std::vector<Metric>{Metric::perplexity, Metric::bleu}));
  EXPECT_EQ(r.train.early_stopping_metric, Metric::perplexity);
  EXPECT_EQ(r.train.patience, 5);
  EXPECT_EQ(r.train.keep_last, 2);
  EXPECT_EQ(r.train.save_every, 500);
  EXPECT_EQ(r.train.chunk_steps, 16);
  EXPECT_EQ(r.translate.beam, 5);
  EXPECT_DOUBLE_EQ(r.translate.alpha, 1.0);
  EXPECT_DOUBLE_EQ(r.translate.max_length_ratio, 2.0);
  EXPECT_EQ(r.translate.batch, 32);
  EXPECT_EQ(r.translate.n_best, 1);
  EXPECT_EQ(r, Recipe{});
  EXPECT_NO_THROW(validate_recipe(Recipe{}));
}

TEST(RecipeDefaults, EmptyAndCommentOnlyFilesGiveDefaults) {
  const Recipe empty = load_recipe(fixture("empty.yaml"));
  EXPECT_EQ(empty, Recipe{});
  EXPECT_EQ(empty.source_path, fixture("empty.yaml"));
  EXPECT_EQ(load_recipe(fixture("comments_only.yaml")), Recipe{});
}

TEST(RecipeDefaults, NullSectionKeepsDefaults) {
  EXPECT_EQ(from_text("model:\ntrain:\n"), Recipe{});
}

// ---- precedence: defaults < file < --set ----

TEST(RecipeLoad, FileOverridesDefaults) {
  const Recipe r = load_recipe(fixture("full.yaml"));
  EXPECT_EQ(r.source_path, fixture("full.yaml"));
  EXPECT_EQ(r.run_dir, "runs/multi30k-revgru");
  EXPECT_EQ(r.data.dir, "data/multi30k");
  EXPECT_EQ(r.data.train_src, "train.en");
  EXPECT_EQ(r.data.test_tgt, "test2016.de");
  EXPECT_EQ(r.data.vocab_size, 10000);
  EXPECT_EQ(r.data.vocab_type, VocabType::bpe);
  EXPECT_EQ(r.model.cell, CellType::revlstm);
  EXPECT_EQ(r.model.layers, 2);
  EXPECT_EQ(r.model.emb_size, 256);
  EXPECT_EQ(r.model.hidden_size, 512);
  EXPECT_EQ(r.model.context, ContextType::slice);
  EXPECT_EQ(r.model.slice_dim, 100);
  EXPECT_EQ(r.model.max_forget_bits, 0);  // none
  EXPECT_DOUBLE_EQ(r.model.dropout_emb, 0.3);
  EXPECT_EQ(r.train.optimizer, Optimizer::sgd);
  EXPECT_DOUBLE_EQ(r.train.lr, 0.2);
  EXPECT_EQ(r.train.lr_schedule, LrSchedule::plateau);
  EXPECT_EQ(r.train.valid_metrics, (std::vector<Metric>{Metric::bleu, Metric::chrf}));
  EXPECT_EQ(r.train.early_stopping_metric, Metric::bleu);
  EXPECT_EQ(r.train.max_epochs, 80);
  EXPECT_EQ(r.translate.beam, 10);
  EXPECT_DOUBLE_EQ(r.translate.alpha, 0.6);
  // Keys the file does not mention keep their defaults.
  EXPECT_EQ(r.data.src_lang, "en");
  EXPECT_DOUBLE_EQ(r.model.dropout_hidden, 0.4);
  EXPECT_EQ(r.train.batch_size, 64);
  EXPECT_EQ(r.translate.n_best, 1);
}

TEST(RecipeLoad, SetOverridesBeatTheFile) {
  const Recipe r = load_recipe(
      fixture("full.yaml"),
      {"model.cell=gru", "train.valid_metrics=[bleu]", "translate.beam=3", "translate.beam=4",
       "data.test_src=", "run_dir=runs/x y", "model.max_forget_bits=5", "train.lr=5e-2"});
  EXPECT_EQ(r.model.cell, CellType::gru);
  EXPECT_EQ(r.train.valid_metrics, std::vector<Metric>{Metric::bleu});
  EXPECT_EQ(r.translate.beam, 4);  // the later --set wins
  EXPECT_EQ(r.data.test_src, "");
  EXPECT_EQ(r.run_dir, "runs/x y");
  EXPECT_EQ(r.model.max_forget_bits, 5);
  EXPECT_DOUBLE_EQ(r.train.lr, 0.05);
  EXPECT_EQ(r.model.hidden_size, 512);  // from the file
}

TEST(RecipeLoad, SetWorksWithoutARecipeKey) {
  const Recipe r =
      from_text("", {"data.joint_vocab=no", "data.src_vocab=a.spm", "data.tgt_vocab=b.spm"});
  EXPECT_FALSE(r.data.joint_vocab);
  EXPECT_EQ(r.data.src_vocab, "a.spm");
  EXPECT_EQ(r.data.tgt_vocab, "b.spm");
}

TEST(RecipeLoad, ScalarIsAcceptedAsOneElementList) {
  EXPECT_EQ(from_text("train:\n  valid_metrics: chrf\n").train.valid_metrics,
            std::vector<Metric>{Metric::chrf});
}

TEST(RecipeLoad, BooleansAndQuotedStrings) {
  const Recipe r = from_text(
      "data:\n  joint_vocab: no\n  src_vocab: \"yes\"\n  tgt_vocab: '123'\n  src_lang: ~\n"
      "  tgt_lang: null\n",
      {"data.src_lang=fr", "data.tgt_lang=no"});
  EXPECT_FALSE(r.data.joint_vocab);
  EXPECT_EQ(r.data.src_vocab, "yes");
  EXPECT_EQ(r.data.tgt_vocab, "123");
  EXPECT_EQ(r.data.src_lang, "fr");
  EXPECT_EQ(r.data.tgt_lang, "no");  // a string key takes the text, not a boolean
}

// ---- file errors ----

TEST(RecipeErrors, MissingFileNamesThePath) {
  const std::string path = fixture("no_such_recipe.yaml");
  const std::string message = input_error_of([&] { load_recipe(path); });
  EXPECT_THAT(message, StartsWith(path + ": "));
  EXPECT_THAT(message, HasSubstr("recipe"));
}

TEST(RecipeErrors, DirectoryIsNotARecipe) {
  testing::TempDir dir;
  const std::string message = input_error_of([&] { load_recipe(dir.path()); });
  EXPECT_THAT(message, StartsWith(dir.path() + ": "));
  EXPECT_THAT(message, HasSubstr("directory"));
}

TEST(RecipeErrors, SyntaxErrorGivesFileLineAndColumn) {
  const std::string path = fixture("syntax_error.yaml");
  const std::string message = input_error_of([&] { load_recipe(path); });
  EXPECT_THAT(message, StartsWith(path + ":5:"));
  EXPECT_THAT(message, HasSubstr("YAML syntax error"));
}

TEST(RecipeErrors, UnknownKeySuggestsTheClosestKnownKey) {
  const std::string path = fixture("typo.yaml");
  EXPECT_EQ(input_error_of([&] { load_recipe(path); }),
            path + ":12: unknown key 'model.hiden_size' (did you mean 'model.hidden_size'?)");
}

TEST(RecipeErrors, UnknownSectionSuggestsTheSection) {
  EXPECT_EQ(error_from_text("run_dir: x\nmodle:\n  cell: gru\n"),
            "recipe.yaml:2: unknown key 'modle' (did you mean 'model'?)");
}

TEST(RecipeErrors, KeyInTheWrongSectionSuggestsTheRightOne) {
  EXPECT_EQ(error_from_text("train:\n  beam: 4\n"),
            "recipe.yaml:2: unknown key 'train.beam' (did you mean 'translate.beam'?)");
}

TEST(RecipeErrors, FarOffUnknownKeyHasNoSuggestion) {
  const std::string message = error_from_text("model:\n  attention_heads: 8\n");
  EXPECT_EQ(message, "recipe.yaml:2: unknown key 'model.attention_heads'");
}

TEST(RecipeErrors, WrongTypeNamesLineKeyAndExpectation) {
  const std::string path = fixture("bad_type.yaml");
  EXPECT_EQ(input_error_of([&] { load_recipe(path); }),
            path + ":7: train.lr: expected a number, got 'fast'");
}

TEST(RecipeErrors, WrongTypesOfEveryKind) {
  EXPECT_EQ(error_from_text("model:\n  layers: 1.5\n"),
            "recipe.yaml:2: model.layers: expected an integer, got '1.5'");
  EXPECT_EQ(error_from_text("model:\n  layers: 99999999999\n"),
            "recipe.yaml:2: model.layers: expected an integer in -2147483648..2147483647, got "
            "'99999999999'");
  EXPECT_EQ(error_from_text("model:\n  no_forgetting: maybe\n"),
            "recipe.yaml:2: model.no_forgetting: expected true or false, got 'maybe'");
  EXPECT_EQ(error_from_text("model:\n  cell: revgruu\n"),
            "recipe.yaml:2: model.cell: expected one of revgru | revlstm | gru | lstm, got "
            "'revgruu' (did you mean 'revgru'?)");
  EXPECT_EQ(error_from_text("train:\n  valid_metrics: [bleu, meteor]\n"),
            "recipe.yaml:2: train.valid_metrics: item 2: expected one of perplexity | bleu | "
            "chrf, got 'meteor'");
  EXPECT_EQ(error_from_text("train:\n  valid_metrics: {bleu: 1}\n"),
            "recipe.yaml:2: train.valid_metrics: expected a list like [a, b], got a map");
  EXPECT_EQ(error_from_text("data:\n  dir: [a, b]\n"),
            "recipe.yaml:2: data.dir: expected a string, got a list");
  EXPECT_EQ(error_from_text("train:\n  lr:\n"),
            "recipe.yaml:2: train.lr: expected a number, got nothing");
  EXPECT_EQ(error_from_text("train:\n  lr: .nan\n"),
            "recipe.yaml:2: train.lr: expected a number, got '.nan'");
  EXPECT_EQ(error_from_text("model:\n  max_forget_bits: 0\n"),
            "recipe.yaml:2: model.max_forget_bits: expected an integer in 1..10 or 'none', got "
            "'0'");
  EXPECT_EQ(error_from_text("model:\n  max_forget_bits: 11\n"),
            "recipe.yaml:2: model.max_forget_bits: expected an integer in 1..10 or 'none', got "
            "'11'");
}

TEST(RecipeErrors, SectionMustBeAMap) {
  EXPECT_EQ(error_from_text("run_dir: x\nmodel: revgru\n"),
            "recipe.yaml:2: 'model' is a section: expected a map of its keys, got 'revgru'");
  EXPECT_EQ(error_from_text("train:\n  - lr: 1\n"),
            "recipe.yaml:1: 'train' is a section: expected a map of its keys, got a list");
}

TEST(RecipeErrors, DocumentMustBeAMap) {
  EXPECT_THAT(error_from_text("- a\n- b\n"),
              StartsWith("recipe.yaml:1: expected a map of keys (key: value) at the top level"));
  EXPECT_THAT(error_from_text("just words\n"), HasSubstr("got 'just words'"));
}

TEST(RecipeErrors, KeyGivenTwice) {
  EXPECT_EQ(error_from_text("model:\n  cell: gru\n  layers: 2\n  cell: lstm\n"),
            "recipe.yaml:4: key 'model.cell' given twice (first at recipe.yaml:2)");
  EXPECT_EQ(error_from_text("model:\n  cell: gru\ntrain:\n  lr: 1\nmodel:\n  layers: 2\n"),
            "recipe.yaml:5: key 'model' given twice (first at recipe.yaml:1)");
}

TEST(RecipeErrors, SeveralDocuments) {
  EXPECT_THAT(error_from_text("run_dir: a\n---\nrun_dir: b\n"),
              HasSubstr("expected one YAML document, found 2"));
}

// ---- range checks: key, value and allowed range, at the line that set it ----

TEST(RecipeErrors, RangeErrorPointsAtTheLine) {
  const std::string path = fixture("out_of_range.yaml");
  EXPECT_EQ(input_error_of([&] { load_recipe(path); }),
            path + ":3: model.dropout_emb: expected a number in [0.0, 1.0), got 1.5");
}

TEST(RecipeErrors, RangeErrorOnADefaultNamesTheFileAndSaysDefault) {
  // hidden_size 30 leaves room for 15 slice units; slice_dim kept its default 20.
  EXPECT_EQ(error_from_text("model:\n  hidden_size: 30\n"),
            "recipe.yaml: model.slice_dim: expected an integer in 1..15 (hidden_size/2) for "
            "context slice_emb, got 20 (the default)");
}

TEST(RecipeErrors, RangeErrorFromSetNamesTheOverride) {
  EXPECT_EQ(error_from_text("", {"model.dropout_emb=2"}),
            "--set model.dropout_emb=2: model.dropout_emb: expected a number in [0.0, 1.0), got "
            "2.0");
}

struct RangeCase {
  std::string yaml;
  std::string expected;  // the message after "recipe.yaml:<line>: "
};

class RecipeRange : public ::testing::TestWithParam<RangeCase> {};

// "train_lr_3": the key the case is about, and its index to keep names unique.
std::string range_case_name(const ::testing::TestParamInfo<RangeCase>& info) {
  std::string name = info.param.expected.substr(0, info.param.expected.find(':'));
  for (char& c : name)
    if (c == '.') c = '_';
  return name + "_" + std::to_string(info.index);
}

TEST_P(RecipeRange, IsRejectedWithKeyValueAndRange) {
  const std::string message = error_from_text(GetParam().yaml);
  EXPECT_THAT(message, StartsWith("recipe.yaml:"));
  EXPECT_THAT(message, HasSubstr(": " + GetParam().expected)) << GetParam().yaml;
}

INSTANTIATE_TEST_SUITE_P(
    AllChecks, RecipeRange,
    ::testing::Values(
        RangeCase{"run_dir: ''\n", "run_dir: expected a non-empty string, got \"\""},
        RangeCase{"data:\n  train_src: ''\n", "data.train_src: expected a non-empty string"},
        RangeCase{"data:\n  valid_tgt:\n", "data.valid_tgt: expected a non-empty string"},
        RangeCase{"data:\n  src_lang: ''\n", "data.src_lang: expected a non-empty string"},
        RangeCase{"data:\n  src_vocab: a.spm\n",
                  "data.src_vocab: expected \"\" while data.joint_vocab is true (set data.vocab "
                  "instead), got \"a.spm\""},
        RangeCase{"data:\n  joint_vocab: false\n  vocab: v.spm\n",
                  "data.vocab: expected \"\" while data.joint_vocab is false"},
        RangeCase{"data:\n  vocab_size: 4\n", "data.vocab_size: expected an integer >= 8, got 4"},
        RangeCase{"data:\n  vocab_max_lines: -1\n",
                  "data.vocab_max_lines: expected an integer >= 0"},
        RangeCase{"data:\n  max_length: -5\n", "data.max_length: expected an integer >= 0, got -5"},
        RangeCase{"model:\n  layers: 0\n", "model.layers: expected an integer >= 1, got 0"},
        RangeCase{"model:\n  emb_size: -300\n",
                  "model.emb_size: expected an integer >= 1, got -300"},
        RangeCase{"model:\n  hidden_size: 0\n",
                  "model.hidden_size: expected an integer >= 1, got 0"},
        RangeCase{"model:\n  hidden_size: 301\n",
                  "model.hidden_size: expected an even number for cell revgru (the state is split "
                  "into two halves), got 301"},
        RangeCase{"model:\n  cell: revlstm\n  hidden_size: 7\n",
                  "model.hidden_size: expected an even number for cell revlstm"},
        RangeCase{"model:\n  slice_dim: 151\n",
                  "model.slice_dim: expected an integer in 1..150 (hidden_size/2) for context "
                  "slice_emb, got 151"},
        RangeCase{"model:\n  context: slice\n  slice_dim: 0\n",
                  "model.slice_dim: expected an integer in 1..150 (hidden_size/2) for context "
                  "slice, got 0"},
        RangeCase{"model:\n  cell: gru\n  no_forgetting: true\n",
                  "model.no_forgetting: expected false for cell gru (no-forgetting variants exist "
                  "only for revgru and revlstm), got true"},
        RangeCase{"model:\n  dropout_emb: -0.1\n",
                  "model.dropout_emb: expected a number in [0.0, 1.0), got -0.1"},
        RangeCase{"model:\n  dropout_hidden: 1\n",
                  "model.dropout_hidden: expected a number in [0.0, 1.0), got 1.0"},
        RangeCase{"model:\n  dropout_query: 1.0\n",
                  "model.dropout_query: expected a number in [0.0, 1.0)"},
        RangeCase{"model:\n  dropout_slice: 7\n",
                  "model.dropout_slice: expected a number in [0.0, 1.0)"},
        RangeCase{"model:\n  init_range: 0\n", "model.init_range: expected a number > 0, got 0.0"},
        RangeCase{"train:\n  seed: -1\n", "train.seed: expected an integer >= 0, got -1"},
        RangeCase{"train:\n  threads: 0\n", "train.threads: expected an integer >= 1, got 0"},
        RangeCase{"train:\n  lr: 0\n", "train.lr: expected a number > 0, got 0.0"},
        RangeCase{"train:\n  lr: -0.1\n", "train.lr: expected a number > 0, got -0.1"},
        RangeCase{"train:\n  adam_beta1: 1\n", "train.adam_beta1: expected a number in [0.0, 1.0)"},
        RangeCase{"train:\n  adam_beta2: -0.5\n",
                  "train.adam_beta2: expected a number in [0.0, 1.0)"},
        RangeCase{"train:\n  adam_eps: 0\n", "train.adam_eps: expected a number > 0"},
        RangeCase{"train:\n  lr_decay: 0\n",
                  "train.lr_decay: expected a number in (0.0, 1.0], got 0.0"},
        RangeCase{"train:\n  lr_decay: 1.5\n", "train.lr_decay: expected a number in (0.0, 1.0]"},
        RangeCase{"train:\n  lr_warmup: -1\n", "train.lr_warmup: expected an integer >= 0"},
        RangeCase{"train:\n  lr_min: -1\n", "train.lr_min: expected a number >= 0, got -1.0"},
        RangeCase{"train:\n  lr: 0.01\n  lr_min: 0.01\n",
                  "train.lr_min: expected a number below train.lr = 0.01 (training would stop at "
                  "once), got 0.01"},
        RangeCase{"train:\n  clip_norm: -1\n", "train.clip_norm: expected a number >= 0"},
        RangeCase{"train:\n  label_smoothing: 1\n",
                  "train.label_smoothing: expected a number in [0.0, 1.0)"},
        RangeCase{"train:\n  batch_size: 0\n", "train.batch_size: expected an integer >= 1, got 0"},
        RangeCase{"train:\n  batch_tokens: -1\n", "train.batch_tokens: expected an integer >= 0"},
        RangeCase{"train:\n  pool_batches: 0\n", "train.pool_batches: expected an integer >= 1"},
        RangeCase{"train:\n  max_epochs: -1\n", "train.max_epochs: expected an integer >= 0"},
        RangeCase{"train:\n  max_updates: -1\n", "train.max_updates: expected an integer >= 0"},
        RangeCase{"train:\n  max_time_minutes: -1\n",
                  "train.max_time_minutes: expected an integer >= 0"},
        RangeCase{"train:\n  log_every: 0\n", "train.log_every: expected an integer >= 1"},
        RangeCase{"train:\n  valid_every: -1\n", "train.valid_every: expected an integer >= 0"},
        RangeCase{"train:\n  valid_metrics: []\n",
                  "train.valid_metrics: expected a non-empty list of perplexity | bleu | chrf, got "
                  "[]"},
        RangeCase{"train:\n  valid_metrics: [bleu, chrf, bleu]\n",
                  "train.valid_metrics: expected each metric at most once, got [bleu, chrf, bleu]"},
        RangeCase{"train:\n  valid_max_sentences: -1\n",
                  "train.valid_max_sentences: expected an integer >= 0"},
        RangeCase{"train:\n  valid_beam: 0\n", "train.valid_beam: expected an integer >= 1, got 0"},
        RangeCase{"train:\n  patience: -1\n", "train.patience: expected an integer >= 0"},
        RangeCase{"train:\n  keep_last: 0\n", "train.keep_last: expected an integer >= 1, got 0"},
        RangeCase{"train:\n  save_every: -1\n", "train.save_every: expected an integer >= 0"},
        RangeCase{"train:\n  chunk_steps: 0\n", "train.chunk_steps: expected an integer >= 1"},
        RangeCase{"train:\n  max_memory_mb: -1\n", "train.max_memory_mb: expected an integer >= 0"},
        RangeCase{"translate:\n  beam: 0\n", "translate.beam: expected an integer >= 1, got 0"},
        RangeCase{"translate:\n  alpha: -0.5\n",
                  "translate.alpha: expected a number >= 0, got -0.5"},
        RangeCase{"translate:\n  max_length_ratio: 0\n",
                  "translate.max_length_ratio: expected a number > 0"},
        RangeCase{"translate:\n  batch: 0\n", "translate.batch: expected an integer >= 1"},
        RangeCase{"translate:\n  n_best: 0\n", "translate.n_best: expected an integer >= 1"},
        RangeCase{"translate:\n  beam: 2\n  n_best: 3\n",
                  "translate.n_best: expected at most translate.beam = 2, got 3"}),
    range_case_name);

TEST(RecipeRangeBoundaries, EdgeValuesAreAccepted) {
  const Recipe r = from_text(
      "model:\n  cell: lstm\n  hidden_size: 301\n  context: slice\n  slice_dim: 150\n"
      "  max_forget_bits: 10\n  dropout_emb: 0\n  dropout_hidden: 0.999\n"
      "train:\n  lr_decay: 1\n  clip_norm: 0\n  patience: 0\n  max_epochs: 0\n"
      "translate:\n  beam: 1\n  alpha: 0\n");
  EXPECT_EQ(r.model.hidden_size, 301);  // odd is fine for a standard cell
  EXPECT_EQ(r.model.slice_dim, 150);
  // slice_dim is not read by the hidden and emb contexts, so it is not checked there.
  EXPECT_NO_THROW(from_text("model:\n  context: hidden\n  slice_dim: 0\n"));
  EXPECT_NO_THROW(from_text("model:\n  context: emb\n  slice_dim: 1000\n"));
  EXPECT_NO_THROW(from_text("model:\n  max_forget_bits: 1\n  no_forgetting: true\n"));
}

TEST(RecipeErrors, ValidateRecipeChecksCodeBuiltRecipes) {
  Recipe r;
  r.translate.beam = 0;
  EXPECT_EQ(input_error_of([&] { validate_recipe(r); }),
            "recipe: translate.beam: expected an integer >= 1, got 0");
  r.source_path = "mine.yaml";
  EXPECT_THAT(input_error_of([&] { validate_recipe(r); }), StartsWith("mine.yaml: "));
}

// ---- --set errors ----

TEST(RecipeOverrides, UnknownKeyNamesTheOverrideAndSuggests) {
  EXPECT_EQ(error_from_text("", {"model.cel=gru"}),
            "--set model.cel=gru: unknown key 'model.cel' (did you mean 'model.cell'?)");
}

TEST(RecipeOverrides, MissingEqualsSign) {
  EXPECT_EQ(error_from_text("", {"model.cell"}),
            "--set model.cell: expected key.path=value (e.g. train.lr=0.0005)");
  EXPECT_THAT(error_from_text("", {"=3"}), HasSubstr("the key is empty"));
}

TEST(RecipeOverrides, SectionIsNotAKey) {
  EXPECT_EQ(error_from_text("", {"model=gru"}),
            "--set model=gru: 'model' is a section; set its keys one at a time "
            "(model.<key>=value)");
}

TEST(RecipeOverrides, WrongTypeNamesTheOverride) {
  EXPECT_EQ(error_from_text("", {"train.lr=fast"}),
            "--set train.lr=fast: train.lr: expected a number, got 'fast'");
}

TEST(RecipeOverrides, MalformedYamlValue) {
  EXPECT_THAT(error_from_text("", {"train.valid_metrics=[bleu"}),
              StartsWith("--set train.valid_metrics=[bleu: cannot read the value as YAML"));
}

TEST(RecipeOverrides, KeyWithSpacesAroundIsAccepted) {
  EXPECT_EQ(from_text("", {" train.lr =0.5"}).train.lr, 0.5);
}

// ---- dump / load ----

Recipe tricky_recipe() {
  Recipe r;
  r.run_dir = "runs/a: b # not a comment";
  r.data.dir = "/abs/dir with spaces";
  r.data.test_src = "yes";
  r.data.test_tgt = "123";
  r.data.src_lang = "~";
  r.data.tgt_lang = "null";
  r.data.vocab = "";
  r.data.vocab_type = VocabType::bpe;
  r.model.cell = CellType::lstm;
  r.model.hidden_size = 301;
  r.model.context = ContextType::hidden;
  r.model.max_forget_bits = 0;
  r.model.dropout_emb = 0.1 + 0.2;  // 0.30000000000000004: needs all 17 digits
  r.model.init_range = 1.0 / 3.0;
  r.train.lr = 3e-7;
  r.train.adam_eps = 1e-12;
  r.train.valid_metrics = {Metric::chrf, Metric::perplexity, Metric::bleu};
  r.train.early_stopping_metric = Metric::chrf;
  r.train.lr_schedule = LrSchedule::inverse_sqrt;
  r.train.max_updates = 2147483647;
  r.translate.alpha = 0.0;
  r.translate.max_length_ratio = 1.5;
  return r;
}

TEST(RecipeDump, RoundTripsDefaults) {
  const Recipe r;
  EXPECT_EQ(from_text(dump_recipe(r)), r);
}

TEST(RecipeDump, RoundTripsALoadedRecipeWithOverrides) {
  const Recipe r = load_recipe(fixture("full.yaml"), {"train.valid_metrics=[chrf]"});
  const std::string dumped = dump_recipe(r);
  const Recipe again = from_text(dumped);
  EXPECT_EQ(again, r);
  EXPECT_EQ(dump_recipe(again), dumped);
}

TEST(RecipeDump, RoundTripsTrickyStringsAndNumbersExactly) {
  const Recipe r = tricky_recipe();
  ASSERT_NO_THROW(validate_recipe(r));
  const std::string dumped = dump_recipe(r);
  const Recipe again = from_text(dumped);
  EXPECT_EQ(again, r) << dumped;
  EXPECT_EQ(again.model.dropout_emb, 0.1 + 0.2);  // bit-exact, not just close
  EXPECT_EQ(again.run_dir, r.run_dir);
  EXPECT_EQ(again.data.src_lang, "~");
  EXPECT_EQ(again.data.test_src, "yes");
}

TEST(RecipeDump, WritesEveryKeyNestedBySection) {
  const Recipe r = tricky_recipe();
  const YAML::Node root = YAML::Load(dump_recipe(r));
  ASSERT_TRUE(root.IsMap());
  EXPECT_EQ(root.size(), 5u);  // run_dir + four sections
  for (const auto& info : recipe_keys()) {
    const std::size_t dot = info.key.find('.');
    const YAML::Node node = dot == std::string::npos
                                ? root[info.key]
                                : root[info.key.substr(0, dot)][info.key.substr(dot + 1)];
    EXPECT_TRUE(node.IsDefined() && !node.IsNull()) << info.key;
  }
  EXPECT_EQ(root["model"]["max_forget_bits"].Scalar(), "none");
  EXPECT_EQ(root["model"]["cell"].Scalar(), "lstm");
  EXPECT_EQ(root["train"]["valid_metrics"].size(), 3u);
}

TEST(RecipeDump, ReadableDefaults) {
  const std::string dumped = dump_recipe(Recipe{});
  EXPECT_THAT(dumped, StartsWith("run_dir: runs/default\ndata:\n  dir: "));
  EXPECT_THAT(dumped, HasSubstr("\n  valid_metrics: [perplexity, bleu]\n"));
  EXPECT_THAT(dumped, HasSubstr("\n  adam_eps: 1e-08\n"));
  EXPECT_THAT(dumped, HasSubstr("\n  alpha: 1.0\n"));
  EXPECT_THAT(dumped, HasSubstr("\n  test_src: \"\"\n"));
  EXPECT_THAT(dumped, Not(HasSubstr("source")));
}

TEST(RecipeEquality, ComparesSettingsNotSource) {
  Recipe a, b;
  b.source_path = "elsewhere.yaml";
  EXPECT_EQ(a, b);
  b.train.valid_metrics.push_back(Metric::chrf);
  EXPECT_NE(a, b);
  EXPECT_NE(a.train, b.train);
  b = a;
  b.translate.alpha = 0.5;
  EXPECT_NE(a, b);
  EXPECT_NE(a.translate, b.translate);
  b = a;
  b.data.joint_vocab = false;
  EXPECT_NE(a, b);
  EXPECT_NE(a.data, b.data);
  b = a;
  b.model.max_forget_bits = 0;
  EXPECT_NE(a, b);
  b = a;
  b.run_dir = "x";
  EXPECT_NE(a, b);
}

// Every key the code knows takes part in reading, dumping and equality: setting any one key
// to a value other than its default changes both the comparison and the dump, and the dump
// reads back to the same value.
TEST(RecipeEquality, EveryKeyIsReadDumpedAndCompared) {
  const Recipe defaults;
  const std::string default_dump = dump_recipe(defaults);
  const auto& fields = config::recipe_fields();
  const std::vector<std::string> candidates = {"7",   "true",    "false",  "lstm", "emb", "sgd",
                                               "plateau", "[chrf]", "chrf", "bpe", "bf16"};
  for (std::size_t i = 0; i < fields.size(); ++i) {
    const std::string& key = fields.keys()[i];
    Recipe changed;
    bool found = false;
    for (const auto& text : candidates) {
      std::string error;
      Recipe attempt;
      if (fields.field(i).read(YAML::Load(text), attempt, error) &&
          !fields.field(i).equal(attempt, defaults)) {
        changed = attempt;
        found = true;
        break;
      }
    }
    ASSERT_TRUE(found) << "no test value for " << key;
    EXPECT_NE(changed, defaults) << key;
    const std::string dumped = dump_recipe(changed);
    EXPECT_NE(dumped, default_dump) << key;
    Recipe back;
    fields.read(YAML::Load(dumped), "dump", back);  // no range checks: 7 may be out of range
    EXPECT_EQ(back, changed) << key;
  }
}

// ---- paths ----

TEST(RecipePaths, DataPathsResolveAgainstDataDir) {
  DataConfig data;
  EXPECT_EQ(resolve_data_path(data, "train.en"), "train.en");  // dir "."
  data.dir = "corpora/m30k";
  EXPECT_EQ(resolve_data_path(data, "train.en"), "corpora/m30k/train.en");
  EXPECT_EQ(resolve_data_path(data, "sub/val.de"), "corpora/m30k/sub/val.de");
  EXPECT_EQ(resolve_data_path(data, "/abs/train.en"), "/abs/train.en");
  EXPECT_EQ(resolve_data_path(data, ""), "");
  data.dir = "/data/";
  EXPECT_EQ(resolve_data_path(data, "x.gz"), "/data/x.gz");
}

TEST(RecipePaths, VocabularyDefaultsLiveInTheRunDir) {
  Recipe r;
  r.run_dir = "runs/r1";
  EXPECT_EQ(src_vocab_path(r), "runs/r1/vocab.spm");
  EXPECT_EQ(tgt_vocab_path(r), "runs/r1/vocab.spm");
  r.data.dir = "d";
  r.data.vocab = "shared.spm";
  EXPECT_EQ(src_vocab_path(r), "d/shared.spm");
  EXPECT_EQ(tgt_vocab_path(r), "d/shared.spm");
  r.data.vocab = "";
  r.data.joint_vocab = false;
  EXPECT_EQ(src_vocab_path(r), "runs/r1/vocab.src.spm");
  EXPECT_EQ(tgt_vocab_path(r), "runs/r1/vocab.tgt.spm");
  r.data.src_vocab = "/v/en.spm";
  r.data.tgt_vocab = "de.spm";
  EXPECT_EQ(src_vocab_path(r), "/v/en.spm");
  EXPECT_EQ(tgt_vocab_path(r), "d/de.spm");
}

}  // namespace
}  // namespace revnmt
