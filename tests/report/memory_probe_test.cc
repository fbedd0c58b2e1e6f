// `revnmt memory`'s measurement on the tiny recipes: positive figures, reversible models hold
// far less than their standard counterparts, the same batches and dropout as training, and
// JSON that reads back.

#include "nmt/report/memory_probe.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "nmt/core/error.h"
#include "nmt/core/file_io.h"
#include "nmt/report/json.h"
#include "nmt/train/trainer.h"
#include "tests/support/test_support.h"

namespace revnmt::report {
namespace {

using testing::TempDir;

Recipe tiny(const std::string& cell, const std::string& run_dir,
            std::vector<std::string> overrides = {}) {
  overrides.push_back("run_dir=" + run_dir);
  overrides.push_back("data.dir=" + testing::source_dir() + "/tests/fixtures/train");
  return load_recipe(testing::source_dir() + "/recipes/tiny/" + cell + ".yaml", overrides);
}

const InfoSink kQuiet = [](const std::string&) {};

TEST(MemoryProbe, StandardCounterpart) {
  ModelConfig m;
  m.cell = CellType::revgru;
  m.context = ContextType::slice_emb;
  EXPECT_EQ(standard_counterpart(m, false).cell, CellType::gru);
  EXPECT_EQ(standard_counterpart(m, false).context, ContextType::hidden);
  EXPECT_EQ(standard_counterpart(m, true).context, ContextType::slice_emb);
  m.cell = CellType::revlstm;
  EXPECT_EQ(standard_counterpart(m, false).cell, CellType::lstm);
  m.cell = CellType::gru;
  EXPECT_EQ(standard_counterpart(m, true), m);  // already standard
  ModelConfig expected = m;
  expected.context = ContextType::hidden;
  EXPECT_EQ(standard_counterpart(m, false), expected);  // only the context changes
}

TEST(MemoryProbe, ReversibleModelsHoldLessThanStandardOnes) {
  for (const char* cell : {"revgru", "revlstm"}) {
    SCOPED_TRACE(cell);
    TempDir dir;
    const std::string run = dir.file("run");
    MemoryProbeOptions options;
    options.batches = 3;
    const MemoryReport r = measure_memory(tiny(cell, run), options, kQuiet);
    EXPECT_EQ(r.batches, 3);
    EXPECT_EQ(r.sentences, 24);  // 3 batches of 8
    EXPECT_GT(r.source_tokens, 0);
    EXPECT_GT(r.target_tokens, 0);
    for (const StackMemory* s : {&r.encoder, &r.decoder}) {
      const MemoryLedger& l = s->ledger;
      EXPECT_GT(l.baseline_bits, 0);
      EXPECT_GT(l.held_bits, 0);
      EXPECT_GT(l.optimal_bits, 0);
      EXPECT_GT(l.final_state_bits, 0);
      EXPECT_LT(l.held_bits, l.baseline_bits);
      EXPECT_LE(l.optimal_bits, l.held_bits);
      EXPECT_GT(s->paper_actual_ratio(), l.actual_ratio());  // final states left out
      EXPECT_GT(l.held_bytes, 0);
      EXPECT_LT(l.held_bytes, s->standard_held_bytes);
      EXPECT_GT(s->bytes_ratio(), 1.0);
    }
    EXPECT_LT(r.held_bytes, r.standard_held_bytes);
    EXPECT_LE(r.peak_held_bytes, r.held_bytes);
    EXPECT_GT(r.peak_held_bytes, 0);
    EXPECT_EQ(r.model.cell, cell);
    EXPECT_EQ(r.standard.cell, std::string(cell).substr(3));
    EXPECT_EQ(r.standard.context, "hidden");
    EXPECT_NE(r.parameters.find("initialized from train.seed 1"), std::string::npos);
    // Measuring writes nothing into the run directory (the vocabulary went to a temporary one).
    EXPECT_FALSE(std::filesystem::exists(run));
  }
}

TEST(MemoryProbe, StandardRecipeAgainstItselfIsEven) {
  TempDir dir;
  MemoryProbeOptions options;
  options.standard_same_context = true;
  const MemoryReport r = measure_memory(tiny("gru", dir.file("run")), options, kQuiet);
  EXPECT_EQ(r.batches, 5);  // the whole first epoch: 40 pairs in batches of 8
  EXPECT_EQ(r.held_bytes, r.standard_held_bytes);
  EXPECT_DOUBLE_EQ(r.bytes_ratio(), 1.0);
  EXPECT_EQ(r.standard_context_rule, "the recipe's own context");
}

// The probe measures what training does: the first batch with the first update's dropout and
// the initial parameters gives exactly the ledger the trainer logs for update 1.
TEST(MemoryProbe, MatchesTheTrainersFirstUpdate) {
  TempDir dir;
  const std::vector<std::string> overrides = {"model.dropout_hidden=0.3", "model.dropout_emb=0.2",
                                              "train.log_every=1", "train.max_updates=1"};
  const Recipe recipe = tiny("revgru", dir.file("run"), overrides);
  MemoryProbeOptions options;
  options.batches = 1;
  const MemoryReport r = measure_memory(recipe, options, kQuiet);
  TrainerOptions quiet;
  quiet.echo = false;
  quiet.progress = false;
  {
    Trainer trainer(recipe, quiet);
    trainer.train();
  }
  const std::string metrics = testing::read_text(dir.file("run/metrics.jsonl"));
  const JsonValue first = parse_json(metrics.substr(0, metrics.find('\n')), "metrics.jsonl");
  ASSERT_EQ(first.string_at("kind"), "train");
  for (const auto& [name, stack] : {std::pair{"encoder", &r.encoder}, {"decoder", &r.decoder}}) {
    SCOPED_TRACE(name);
    const JsonValue* logged = first.find(name);
    ASSERT_NE(logged, nullptr);
    EXPECT_DOUBLE_EQ(*logged->number_at("baseline_bits"), stack->ledger.baseline_bits);
    EXPECT_DOUBLE_EQ(*logged->number_at("held_bits"), stack->ledger.held_bits);
    EXPECT_NEAR(*logged->number_at("optimal_bits"), stack->ledger.optimal_bits,
                1e-6 * stack->ledger.optimal_bits);  // printed with 10 digits
    EXPECT_EQ(int64_t(*logged->number_at("held_bytes")), stack->ledger.held_bytes);
  }
  EXPECT_EQ(int64_t(*first.number_at("held_bytes")), r.held_bytes);

  // With the trained model's parameters the recipe's vocabulary (now in the run directory) is
  // not needed: the model file brings its own.
  options.model_path = dir.file("run/model.rnmt");
  const MemoryReport trained = measure_memory(recipe, options, kQuiet);
  EXPECT_NE(trained.parameters.find("model.rnmt"), std::string::npos);
  EXPECT_EQ(trained.encoder.ledger.baseline_bits, r.encoder.ledger.baseline_bits);
}

TEST(MemoryProbe, JsonReadsBack) {
  TempDir dir;
  MemoryProbeOptions options;
  options.batches = 2;
  const MemoryReport r = measure_memory(tiny("revgru", dir.file("run")), options, kQuiet);
  const std::string json = memory_report_json(r);
  EXPECT_EQ(json.back(), '\n');
  EXPECT_EQ(json.find('\n'), json.size() - 1);  // one line
  const JsonValue parsed = parse_json(json, "memory.json");
  EXPECT_EQ(parsed.string_at("kind"), "memory");
  EXPECT_NEAR(*parsed.find("encoder")->number_at("actual_ratio"), r.encoder.ledger.actual_ratio(),
              1e-6);
  EXPECT_NEAR(*parsed.find("decoder")->number_at("paper_actual_ratio"),
              r.decoder.paper_actual_ratio(), 1e-6);
  EXPECT_NEAR(*parsed.find("total")->number_at("bytes_ratio"), r.bytes_ratio(), 1e-6);
  const MemoryReport back = memory_report_from_json(parsed, "memory.json");
  EXPECT_EQ(back.batches, r.batches);
  EXPECT_EQ(back.sentences, r.sentences);
  EXPECT_EQ(back.held_bytes, r.held_bytes);
  EXPECT_EQ(back.standard_peak_held_bytes, r.standard_peak_held_bytes);
  EXPECT_EQ(back.encoder.ledger.held_bytes, r.encoder.ledger.held_bytes);
  EXPECT_EQ(back.decoder.standard_held_bytes, r.decoder.standard_held_bytes);
  EXPECT_DOUBLE_EQ(back.encoder.ledger.baseline_bits, r.encoder.ledger.baseline_bits);
  EXPECT_DOUBLE_EQ(back.decoder.ledger.final_state_bits, r.decoder.ledger.final_state_bits);
  EXPECT_EQ(back.model.description, r.model.description);
  EXPECT_EQ(back.standard.cell, "gru");

  const std::string text = memory_report_text(r);
  for (const char* label : {"baseline (32 bits per hidden unit per padded step)", "held", "optimal",
                            "actual ratio (baseline / held)", "optimal ratio (baseline / optimal)",
                            "paper's actual ratio (held without final states)",
                            "whole model (both stacks + token ids)", "standard/this"})
    EXPECT_NE(text.find(label), std::string::npos) << label;

  EXPECT_THROW(memory_report_from_json(parse_json("{}", "m"), "m"), InputError);
  EXPECT_THROW(memory_report_from_json(parse_json("[1]", "m"), "m"), InputError);
}

TEST(MemoryProbe, Errors) {
  TempDir dir;
  MemoryProbeOptions options;
  options.batches = 0;
  EXPECT_THROW(measure_memory(tiny("revgru", dir.file("run")), options, kQuiet), InputError);
  options.batches = 1;
  try {
    measure_memory(tiny("revgru", dir.file("run"), {"data.train_src=missing.en"}), options, kQuiet);
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("data.train_src"), std::string::npos) << e.what();
  }
  options.model_path = dir.file("none.rnmt");
  EXPECT_THROW(measure_memory(tiny("revgru", dir.file("run")), options, kQuiet), InputError);
}

}  // namespace
}  // namespace revnmt::report
