#include "nmt/config/model_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "nmt/config/recipe.h"
#include "tests/config/config_test_util.h"

namespace revnmt {
namespace {

using config_test::input_error_of;
using ::testing::HasSubstr;
using ::testing::StartsWith;

const char* const kSource = "model.rnmt (model config)";

TEST(ModelConfig, ContextSizeForEachContext) {
  ModelConfig m;
  m.emb_size = 256;
  m.hidden_size = 600;
  m.slice_dim = 60;
  m.context = ContextType::slice_emb;
  EXPECT_EQ(m.context_size(), 316);
  m.context = ContextType::slice;
  EXPECT_EQ(m.context_size(), 60);
  m.context = ContextType::emb;
  EXPECT_EQ(m.context_size(), 256);
  m.context = ContextType::hidden;
  EXPECT_EQ(m.context_size(), 600);
}

TEST(ModelConfig, MaxForgetFraction) {
  ModelConfig m;
  // REVERSIBLE.md §1.1: 1 bit -> 0.5, 2 -> 0.75, 3 -> 0.875 (default), 5 -> 0.96875, none -> 1.
  EXPECT_EQ(m.max_forget_fraction(), 0.875);
  m.max_forget_bits = 1;
  EXPECT_EQ(m.max_forget_fraction(), 0.5);
  m.max_forget_bits = 2;
  EXPECT_EQ(m.max_forget_fraction(), 0.75);
  m.max_forget_bits = 5;
  EXPECT_EQ(m.max_forget_fraction(), 0.96875);
  m.max_forget_bits = 0;
  EXPECT_EQ(m.max_forget_fraction(), 1.0);
}

TEST(ModelConfig, ReversibleCells) {
  ModelConfig m;
  EXPECT_TRUE(m.is_reversible());
  m.cell = CellType::revlstm;
  EXPECT_TRUE(m.is_reversible());
  m.cell = CellType::gru;
  EXPECT_FALSE(m.is_reversible());
  m.cell = CellType::lstm;
  EXPECT_FALSE(m.is_reversible());
}

TEST(ModelConfig, EnumNamesRoundTrip) {
  for (CellType c : {CellType::revgru, CellType::revlstm, CellType::gru, CellType::lstm})
    EXPECT_EQ(enum_from_name<CellType>(to_string(c)), c);
  for (ContextType c :
       {ContextType::hidden, ContextType::slice, ContextType::emb, ContextType::slice_emb})
    EXPECT_EQ(parse_enum<ContextType>(to_string(c), "context"), c);
  EXPECT_EQ(to_string(LrSchedule::inverse_sqrt), "inverse_sqrt");
  EXPECT_EQ(to_string(Metric::chrf), "chrf");
  EXPECT_EQ(to_string(Optimizer::sgd), "sgd");
  EXPECT_EQ(to_string(VocabType::bpe), "bpe");
  EXPECT_FALSE(enum_from_name<Metric>("BLEU").has_value());
  EXPECT_EQ(input_error_of([] { parse_enum<Metric>("ter", "--metric"); }),
            "--metric: expected one of perplexity | bleu | chrf, got 'ter'");
}

TEST(ModelConfigYaml, RoundTrip) {
  ModelConfig m;
  m.cell = CellType::revlstm;
  m.layers = 2;
  m.emb_size = 600;
  m.hidden_size = 600;
  m.context = ContextType::slice_emb;
  m.slice_dim = 60;
  m.max_forget_bits = 0;
  m.no_forgetting = true;
  m.dropout_emb = 0.1 + 0.2;
  m.dropout_hidden = 0.0;
  m.init_range = 0.08;
  const std::string text = model_config_to_yaml(m);
  EXPECT_THAT(text, HasSubstr("max_forget_bits: none\n"));
  EXPECT_THAT(text, StartsWith("cell: revlstm\nlayers: 2\n"));
  const ModelConfig back = model_config_from_yaml(text, kSource);
  EXPECT_EQ(back, m);
  EXPECT_EQ(model_config_to_yaml(back), text);
  EXPECT_EQ(model_config_from_yaml(model_config_to_yaml(ModelConfig{}), kSource), ModelConfig{});
}

TEST(ModelConfigYaml, RecipeModelSectionIsTheSameConfig) {
  const Recipe r = recipe_from_yaml("model:\n  cell: gru\n  hidden_size: 128\n  context: hidden\n",
                                    "recipe.yaml");
  const ModelConfig back = model_config_from_yaml(model_config_to_yaml(r.model), kSource);
  EXPECT_EQ(back, r.model);
  EXPECT_EQ(back.cell, CellType::gru);
}

TEST(ModelConfigYaml, UnknownKeyFromAnotherVersionIsAnError) {
  std::string text = model_config_to_yaml(ModelConfig{});
  text += "attention_heads: 8\n";  // line 14: the 13 known keys come first
  EXPECT_EQ(input_error_of([&] { model_config_from_yaml(text, kSource); }),
            std::string(kSource) + ":14: unknown key 'attention_heads'");
  EXPECT_EQ(input_error_of([] { model_config_from_yaml("cel: gru\n", kSource); }),
            std::string(kSource) + ":1: unknown key 'cel' (did you mean 'cell'?)");
}

TEST(ModelConfigYaml, MissingKeysAreAnError) {
  const std::string message = input_error_of(
      [] { model_config_from_yaml("cell: gru\nlayers: 1\nemb_size: 8\n", kSource); });
  EXPECT_THAT(message, StartsWith(std::string(kSource) + ": model config lacks hidden_size, "
                                                         "context, slice_dim,"));
  EXPECT_THAT(message, HasSubstr("init_range"));
  EXPECT_THAT(message, ::testing::Not(HasSubstr("emb_size")));
  EXPECT_THAT(input_error_of([] { model_config_from_yaml("", kSource); }),
              HasSubstr("lacks cell, layers,"));
}

TEST(ModelConfigYaml, InvalidValuesAreAnError) {
  std::string text = model_config_to_yaml(ModelConfig{});
  text.replace(text.find("hidden_size: 300"), 16, "hidden_size: 301");
  EXPECT_EQ(input_error_of([&] { model_config_from_yaml(text, kSource); }),
            std::string(kSource) +
                ":4: hidden_size: expected an even number for cell revgru (the state is split "
                "into two halves), got 301");
  EXPECT_THAT(input_error_of([] { model_config_from_yaml("cell: [", kSource); }),
              StartsWith(std::string(kSource) + ":1:"));
  EXPECT_THAT(input_error_of([] { model_config_from_yaml("- cell\n", kSource); }),
              HasSubstr("expected a map of keys"));
}

TEST(ModelConfigYaml, ValidateCodeBuiltConfig) {
  ModelConfig m;
  EXPECT_NO_THROW(validate_model_config(m));
  m.slice_dim = 151;
  EXPECT_EQ(input_error_of([&] { validate_model_config(m); }),
            "model config: slice_dim: expected an integer in 1..150 (hidden_size/2) for context "
            "slice_emb, got 151");
  m = ModelConfig{};
  m.max_forget_bits = -1;
  EXPECT_THAT(input_error_of([&] { validate_model_config(m); }),
              HasSubstr("max_forget_bits: expected an integer in 1..10 or none, got -1"));
}

TEST(ModelConfigKeys, ListsEveryModelKeyWithDefaults) {
  const auto keys = model_config_keys();
  ASSERT_EQ(keys.size(), 13u);
  EXPECT_EQ(keys[0].key, "cell");
  EXPECT_EQ(keys[0].default_value, "revgru");
  EXPECT_EQ(keys[6].key, "max_forget_bits");
  EXPECT_EQ(keys[6].default_value, "3");
  EXPECT_EQ(keys[8].key, "dropout_emb");
  EXPECT_EQ(keys[8].default_value, "0.4");
  for (const auto& k : keys) EXPECT_FALSE(k.doc.empty()) << k.key;
}

}  // namespace
}  // namespace revnmt
