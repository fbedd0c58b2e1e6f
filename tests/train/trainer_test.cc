// The training loop on the tiny recipes: memorization by every cell type, bit-exact resume
// (also across epoch boundaries and validations), checkpoint fallback and crash safety,
// NaN handling, early stopping and the plateau schedule.

#include "nmt/train/trainer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <ostream>
#include <regex>
#include <sstream>

#include "nmt/core/error.h"
#include "nmt/core/file_io.h"
#include "nmt/data/batcher.h"
#include "nmt/model/archive.h"
#include "nmt/model/model_io.h"
#include "nmt/train/checkpoint.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

Recipe tiny_recipe(const std::string& cell, const std::string& run_dir,
                   const std::vector<std::string>& extra = {}) {
  std::vector<std::string> overrides = {
      "run_dir=" + run_dir, "data.dir=" + testing::source_dir() + "/tests/fixtures/train"};
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  return load_recipe(testing::source_dir() + "/recipes/tiny/" + cell + ".yaml", overrides);
}

TrainerOptions quiet() {
  TrainerOptions options;
  options.echo = false;
  options.progress = false;
  return options;
}

std::string parameter_bytes(const ParameterSet& params) {
  std::string bytes;
  for (size_t i = 0; i < params.size(); ++i)
    bytes.append(static_cast<const char*>(params[i].value.raw()), params[i].value.nbytes());
  return bytes;
}

// metrics.jsonl without the fields that measure time.
std::string metrics_without_timing(const std::string& run_dir) {
  static const std::regex timing(R"re(,"(seconds|wall_time|tokens_per_second)":[^,}]*)re");
  return std::regex_replace(testing::read_text(run_dir + "/metrics.jsonl"), timing, "");
}

double training_perplexity(Trainer& trainer) {
  BatcherOptions options;
  options.shuffle = false;
  options.batch_size = 16;
  Batcher batcher(trainer.train_corpus(), options);
  LossStats total;
  for (const auto& indices : batcher.epoch_plan(1))
    total += trainer.model().evaluate(batcher.make_batch(indices));
  return total.perplexity();
}

// ---------------------------------------------------------------- memorization

class TrainMemorize : public ::testing::TestWithParam<std::string> {};

TEST_P(TrainMemorize, TinyCorpusToPerplexityBelowOnePointFive) {
  TempDir dir;
  Trainer trainer(tiny_recipe(GetParam(), dir.path()), quiet());
  const double before = training_perplexity(trainer);
  const TrainResult result = trainer.train();
  EXPECT_TRUE(result.finished);
  EXPECT_EQ(result.reason, StopReason::max_updates);
  EXPECT_EQ(trainer.state().update, trainer.recipe().train.max_updates);
  const double after = training_perplexity(trainer);
  EXPECT_GT(before, 20.0);
  EXPECT_LT(after, 1.5) << GetParam() << " after " << trainer.state().update << " updates";
  EXPECT_TRUE(file_exists(dir.file("model.rnmt")));
  EXPECT_TRUE(file_exists(dir.file("model.best.rnmt")));
}

INSTANTIATE_TEST_SUITE_P(Cells, TrainMemorize,
                         ::testing::Values("revgru", "revlstm", "gru", "lstm"),
                         [](const auto& test) { return test.param; });

// ---------------------------------------------------------------- exact resume

struct ResumeCase {
  std::string cell;
  int64_t pause_at;  // updates before the interruption
};

void PrintTo(const ResumeCase& c, std::ostream* out) {
  *out << c.cell << " paused at update " << c.pause_at;
}

class TrainExactResume : public ::testing::TestWithParam<ResumeCase> {};

// Dropout, label smoothing, clipping, the plateau schedule and validations every 7 updates
// plus every epoch end (5 updates) are all in play; 23 updates cross four epoch boundaries.
std::vector<std::string> resume_settings() {
  return {"train.max_updates=23",      "train.valid_every=7",     "train.lr_schedule=plateau",
          "train.label_smoothing=0.1", "train.clip_norm=0.5",     "model.dropout_emb=0.2",
          "model.dropout_hidden=0.2",  "model.dropout_query=0.2", "model.dropout_slice=0.2",
          "train.log_every=3",         "train.keep_last=3"};
}

TEST_P(TrainExactResume, InterruptedPlusResumedEqualsUninterrupted) {
  const ResumeCase c = GetParam();
  TempDir straight, interrupted;
  std::string expected;
  TrainingState expected_state;
  {
    Trainer trainer(tiny_recipe(c.cell, straight.path(), resume_settings()), quiet());
    EXPECT_TRUE(trainer.train().finished);
    expected = parameter_bytes(trainer.model().params());
    expected_state = trainer.state();
  }
  EXPECT_GT(expected_state.lr.decays, 0);  // the schedule's state matters for this run
  {
    Trainer trainer(tiny_recipe(c.cell, interrupted.path(), resume_settings()), quiet());
    const TrainResult paused = trainer.train(c.pause_at);
    EXPECT_FALSE(paused.finished);
    EXPECT_EQ(paused.reason, StopReason::update_limit);
    EXPECT_EQ(paused.update, c.pause_at);
    EXPECT_EQ(paused.checkpoint, checkpoint_path(interrupted.path(), c.pause_at));
  }  // destroyed: nothing but the files survives
  Trainer resumed(tiny_recipe(c.cell, interrupted.path(), resume_settings()), quiet());
  EXPECT_EQ(resumed.resumed_from(), checkpoint_path(interrupted.path(), c.pause_at));
  EXPECT_EQ(resumed.state().update, c.pause_at);
  EXPECT_TRUE(resumed.train().finished);
  EXPECT_EQ(resumed.state().update, 23);
  EXPECT_TRUE(parameter_bytes(resumed.model().params()) == expected)
      << c.cell << ": parameters differ after resuming at update " << c.pause_at;
  EXPECT_EQ(resumed.state().lr.factor, expected_state.lr.factor);
  EXPECT_EQ(resumed.state().epoch, expected_state.epoch);
  EXPECT_EQ(resumed.state().sentences, expected_state.sentences);
  EXPECT_EQ(resumed.state().metrics.at(Metric::perplexity).best,
            expected_state.metrics.at(Metric::perplexity).best);
  // The event log is the same too: events written after the checkpoint were cut away.
  EXPECT_EQ(metrics_without_timing(interrupted.path()), metrics_without_timing(straight.path()));
  // And so are the saved models.
  EXPECT_TRUE(parameter_bytes(load_model(interrupted.file("model.rnmt")).model->params()) ==
              expected);
}

INSTANTIATE_TEST_SUITE_P(
    Cells, TrainExactResume,
    ::testing::Values(ResumeCase{"revgru", 12},  // mid-epoch, between validations
                      ResumeCase{"revgru", 15},  // at an epoch end (after its validation)
                      ResumeCase{"revgru", 14},  // right after a valid_every validation
                      ResumeCase{"gru", 12}, ResumeCase{"gru", 15}, ResumeCase{"revlstm", 8},
                      ResumeCase{"lstm", 9}),
    [](const auto& test) {
      return test.param.cell + "_at_" + std::to_string(test.param.pause_at);
    });

TEST(TrainResume, SeveralInterruptions) {
  TempDir straight, interrupted;
  std::string expected;
  {
    Trainer trainer(tiny_recipe("revgru", straight.path(), resume_settings()), quiet());
    trainer.train();
    expected = parameter_bytes(trainer.model().params());
  }
  for (int64_t step : {3, 1, 6, 4}) {
    Trainer trainer(tiny_recipe("revgru", interrupted.path(), resume_settings()), quiet());
    trainer.train(step);
  }
  Trainer last(tiny_recipe("revgru", interrupted.path(), resume_settings()), quiet());
  EXPECT_EQ(last.state().update, 14);
  last.train();
  EXPECT_TRUE(parameter_bytes(last.model().params()) == expected);
}

TEST(TrainResume, RequestStopWritesAResumableCheckpoint) {
  TempDir dir;
  TrainerOptions options = quiet();
  Trainer* self = nullptr;
  options.after_backward = [&self](int64_t update, Seq2Seq&) {
    if (update == 7) self->request_stop();
  };
  Trainer trainer(tiny_recipe("gru", dir.path(), resume_settings()), options);
  self = &trainer;
  const TrainResult result = trainer.train();
  EXPECT_EQ(result.reason, StopReason::signal);
  EXPECT_FALSE(result.finished);
  EXPECT_EQ(result.update, 7);  // the current update is finished first
  EXPECT_TRUE(file_exists(checkpoint_path(dir.path(), 7)));
  EXPECT_FALSE(file_exists(dir.file("model.rnmt")));
}

// ---------------------------------------------------------------- checkpoints

TEST(TrainCheckpoints, KeepLastAndFileSet) {
  TempDir dir;
  Trainer trainer(tiny_recipe("revgru", dir.path(), {"train.max_updates=22", "train.keep_last=2"}),
                  quiet());
  trainer.train();
  const auto files = list_checkpoints(dir.path());
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].update, 20);  // epoch end
  EXPECT_EQ(files[1].update, 22);  // the end of training
  for (const char* name : {"config.yaml", "vocab.spm", "model.best.rnmt", "model.rnmt", "train.log",
                           "metrics.jsonl", "valid.hyp.txt"})
    EXPECT_TRUE(file_exists(dir.file(name))) << name;
  // config.yaml reads back as the effective recipe.
  EXPECT_TRUE(load_recipe(dir.file("config.yaml")) == trainer.recipe());
  // A checkpoint is a model file too.
  const LoadedModel loaded = load_model(files[1].path);
  EXPECT_TRUE(parameter_bytes(loaded.model->params()) == parameter_bytes(trainer.model().params()));
  const Archive archive = Archive::load(files[1].path);
  EXPECT_EQ(archive.bytes("kind"), "checkpoint");
  EXPECT_FALSE(archive.tensors("optimizer").empty());
  const TrainingState state = training_state_from_yaml(archive.bytes("state"), "state");
  EXPECT_EQ(state.update, 22);
  EXPECT_EQ(state.epoch, 5);
  EXPECT_EQ(state.batch_in_epoch, 2);
}

void flip_byte(const std::string& path, size_t offset_from_end) {
  std::string bytes = read_file(path);
  bytes[bytes.size() - offset_from_end] ^= 0x5a;
  testing::write_text(path, bytes);
}

TEST(TrainCheckpoints, CorruptNewestFallsBackToThePreviousOne) {
  TempDir straight, dir;
  std::string expected;
  {
    Trainer trainer(tiny_recipe("revgru", straight.path(), {"train.max_updates=13"}), quiet());
    trainer.train();
    expected = parameter_bytes(trainer.model().params());
  }
  {
    Trainer trainer(tiny_recipe("revgru", dir.path(), {"train.max_updates=13"}), quiet());
    trainer.train(10);  // checkpoints at 5 and 10 (epoch ends)
  }
  ASSERT_TRUE(file_exists(checkpoint_path(dir.path(), 5)));
  flip_byte(checkpoint_path(dir.path(), 10), 1000);
  Trainer resumed(tiny_recipe("revgru", dir.path(), {"train.max_updates=13"}), quiet());
  EXPECT_EQ(resumed.resumed_from(), checkpoint_path(dir.path(), 5));
  EXPECT_EQ(resumed.state().update, 5);
  resumed.train();
  EXPECT_TRUE(parameter_bytes(resumed.model().params()) == expected);
  const std::string log = testing::read_text(dir.file("train.log"));
  EXPECT_NE(log.find("falling back to the previous checkpoint"), std::string::npos);
}

TEST(TrainCheckpoints, TruncatedNewestFallsBack) {
  TempDir dir;
  {
    Trainer trainer(tiny_recipe("gru", dir.path()), quiet());
    trainer.train(10);
  }
  const std::string path = checkpoint_path(dir.path(), 10);
  const std::string bytes = read_file(path);
  testing::write_text(path, bytes.substr(0, bytes.size() / 2));
  Trainer resumed(tiny_recipe("gru", dir.path()), quiet());
  EXPECT_EQ(resumed.state().update, 5);
}

TEST(TrainCheckpoints, NoValidCheckpointIsAnError) {
  TempDir dir;
  {
    Trainer trainer(tiny_recipe("gru", dir.path(), {"train.keep_last=1"}), quiet());
    trainer.train(5);
  }
  flip_byte(checkpoint_path(dir.path(), 5), 10);
  try {
    Trainer trainer(tiny_recipe("gru", dir.path()), quiet());
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("no valid checkpoint"), std::string::npos) << e.what();
  }
}

TEST(TrainCheckpoints, ExceptionLeavesNoPartialFileAndAResumableRun) {
  TempDir straight, dir;
  std::string expected;
  {
    Trainer trainer(tiny_recipe("revgru", straight.path(), {"train.max_updates=12"}), quiet());
    trainer.train();
    expected = parameter_bytes(trainer.model().params());
  }
  {
    TrainerOptions options = quiet();
    options.after_backward = [](int64_t update, Seq2Seq&) {
      if (update == 8) throw std::runtime_error("injected failure");
    };
    Trainer trainer(tiny_recipe("revgru", dir.path(), {"train.max_updates=12"}), options);
    EXPECT_THROW(trainer.train(), std::runtime_error);
  }
  // A checkpoint whose target is taken by a directory cannot be written: the error leaves
  // no temporary file behind.
  fs::create_directory(checkpoint_path(dir.path(), 10));
  {
    Trainer trainer(tiny_recipe("revgru", dir.path(), {"train.max_updates=12"}), quiet());
    EXPECT_EQ(trainer.state().update, 5);
    EXPECT_THROW(trainer.train(), InputError);
  }
  for (const auto& entry : fs::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename().string().find(".tmp."), std::string::npos) << entry.path();
  fs::remove(checkpoint_path(dir.path(), 10));
  Trainer trainer(tiny_recipe("revgru", dir.path(), {"train.max_updates=12"}), quiet());
  EXPECT_EQ(trainer.state().update, 5);
  trainer.train();
  EXPECT_TRUE(parameter_bytes(trainer.model().params()) == expected);
}

TEST(TrainCheckpoints, StaleTemporaryFilesAreRemovedOnStart) {
  TempDir dir;
  fs::create_directories(dir.path());
  testing::write_text(dir.file("checkpoint.5.rnmt.tmp.99999"), "half a checkpoint");
  Trainer trainer(tiny_recipe("gru", dir.path()), quiet());
  EXPECT_FALSE(file_exists(dir.file("checkpoint.5.rnmt.tmp.99999")));
  EXPECT_TRUE(trainer.resumed_from().empty());
}

TEST(TrainCheckpoints, SeparateVocabulariesAndAValidationSubset) {
  TempDir dir;
  const std::vector<std::string> settings = {"data.joint_vocab=false", "data.vocab_size=60",
                                             "train.valid_max_sentences=3", "train.max_updates=7"};
  {
    Trainer trainer(tiny_recipe("revlstm", dir.path(), settings), quiet());
    trainer.train(5);
  }
  EXPECT_TRUE(file_exists(dir.file("vocab.src.spm")));
  EXPECT_TRUE(file_exists(dir.file("vocab.tgt.spm")));
  EXPECT_FALSE(file_exists(dir.file("vocab.spm")));
  Trainer trainer(tiny_recipe("revlstm", dir.path(), settings), quiet());
  EXPECT_EQ(trainer.state().update, 5);
  EXPECT_NE(trainer.src_vocab().fingerprint(), trainer.tgt_vocab().fingerprint());
  const ValidationScores scores = trainer.validate();
  EXPECT_EQ(scores.translated, 3);
  EXPECT_EQ(scores.hypotheses.size(), 3u);
  ASSERT_TRUE(scores.bleu.has_value());
  EXPECT_EQ(scores.bleu->signature().rfind("nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp", 0), 0u);
  EXPECT_GT(scores.loss.tokens, 40);  // perplexity over the whole validation set
}

TEST(TrainCheckpoints, SwappedVocabularyIsAnError) {
  TempDir dir;
  {
    Trainer trainer(tiny_recipe("gru", dir.path()), quiet());
    trainer.train(5);
  }
  // Another vocabulary file at the recipe's path: the checkpoint no longer matches it.
  fs::remove(dir.file("vocab.spm"));
  { Trainer other(tiny_recipe("gru", dir.path() + "/other", {"data.vocab_size=50"}), quiet()); }
  fs::copy_file(dir.path() + "/other/vocab.spm", dir.file("vocab.spm"));
  try {
    Trainer trainer(tiny_recipe("gru", dir.path()), quiet());
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("another vocabulary"), std::string::npos) << e.what();
  }
}

TEST(TrainCheckpoints, DifferentModelInTheRunDirIsAnError) {
  TempDir dir;
  {
    Trainer trainer(tiny_recipe("gru", dir.path()), quiet());
    trainer.train(5);
  }
  try {
    Trainer trainer(tiny_recipe("gru", dir.path(), {"model.hidden_size=32"}), quiet());
    FAIL() << "expected an error";
  } catch (const InputError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("model.hidden_size"), std::string::npos) << what;
    EXPECT_NE(what.find("another run_dir"), std::string::npos) << what;
    EXPECT_NE(what.find("checkpoint.5.rnmt"), std::string::npos) << what;
  }
  // The recipe the checkpoints belong to is still the one on disk.
  EXPECT_EQ(load_recipe(dir.file("config.yaml")).model.hidden_size, 64);
}

TEST(TrainCheckpoints, SecondTrainerOnTheSameRunDirIsRefused) {
  TempDir dir;
  Trainer first(tiny_recipe("gru", dir.path()), quiet());
  EXPECT_THROW(Trainer(tiny_recipe("gru", dir.path()), quiet()), InputError);
}

// ---------------------------------------------------------------- numerical faults

void poison(Seq2Seq& model) {
  model.params()[0].gradient()[0] = std::numeric_limits<float>::quiet_NaN();
}

TEST(TrainFaults, NaNGradientSkipsTheUpdate) {
  TempDir dir;
  TrainerOptions options = quiet();
  // Only the first attempt at update 8: the next batch attempts update 8 again.
  int attempts = 0;
  options.after_backward = [&attempts](int64_t update, Seq2Seq& model) {
    if (update == 8 && attempts++ == 0) poison(model);
  };
  Trainer trainer(tiny_recipe("revgru", dir.path(), {"train.max_updates=12"}), options);
  trainer.train();
  EXPECT_EQ(trainer.state().update, 12);
  EXPECT_EQ(trainer.state().skipped_batches, 1);
  EXPECT_EQ(trainer.state().consecutive_faults, 0);
  const ParameterSet& params = trainer.model().params();
  for (size_t i = 0; i < params.size(); ++i)
    for (int64_t k = 0; k < params[i].numel(); ++k)
      ASSERT_TRUE(std::isfinite(params[i].data()[k])) << params[i].name;
  const std::string log = testing::read_text(dir.file("train.log"));
  EXPECT_NE(log.find("warning: Ep. 2 : Up. 8 : the gradient norm is nan; update skipped"),
            std::string::npos)
      << log;
  EXPECT_NE(testing::read_text(dir.file("metrics.jsonl")).find("\"kind\":\"fault\""),
            std::string::npos);
}

TEST(TrainFaults, RepeatedFaultsStopWithTheLastGoodCheckpointIntact) {
  TempDir dir;
  TrainerOptions options = quiet();
  // Every batch of epoch 2 fails: the fifth fault comes before that epoch's end.
  options.after_backward = [](int64_t update, Seq2Seq& model) {
    if (update >= 6) poison(model);
  };
  {
    Trainer trainer(tiny_recipe("revgru", dir.path(), {"train.max_updates=30"}), options);
    try {
      trainer.train();
      FAIL() << "expected an error";
    } catch (const InputError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("5 updates in a row"), std::string::npos) << what;
      EXPECT_NE(what.find(checkpoint_path(dir.path(), 5)), std::string::npos) << what;
    }
    EXPECT_EQ(trainer.state().update, 5);
  }
  // Checkpoint 5 (epoch end) is the newest and it is valid; nothing was written after it.
  const auto files = list_checkpoints(dir.path());
  ASSERT_FALSE(files.empty());
  EXPECT_EQ(files.back().update, 5);
  Trainer resumed(tiny_recipe("revgru", dir.path(), {"train.max_updates=30"}), quiet());
  EXPECT_EQ(resumed.state().update, 5);
  EXPECT_EQ(resumed.state().consecutive_faults, 0);
}

// ---------------------------------------------------------------- stopping rules

// With SGD and a learning rate far below float resolution the parameters never change, so
// every validation after the first one stalls.
std::vector<std::string> frozen(std::vector<std::string> extra) {
  std::vector<std::string> settings = {"train.optimizer=sgd", "train.lr=1e-30",
                                       "train.max_updates=100", "train.valid_metrics=[perplexity]"};
  settings.insert(settings.end(), extra.begin(), extra.end());
  return settings;
}

TEST(TrainStopping, EarlyStoppingAfterPatienceStalledValidations) {
  TempDir dir;
  {
    Trainer trainer(tiny_recipe("gru", dir.path(), frozen({"train.patience=2"})), quiet());
    const TrainResult result = trainer.train();
    EXPECT_EQ(result.reason, StopReason::early_stopping);
    EXPECT_TRUE(result.finished);
    EXPECT_EQ(result.update, 15);  // validations at 5 (best), 10, 15 (stalled twice)
    EXPECT_EQ(trainer.state().metrics.at(Metric::perplexity).best_update, 5);
    EXPECT_TRUE(file_exists(dir.file("model.rnmt")));
  }
  // Rerunning a finished run does no more work.
  Trainer again(tiny_recipe("gru", dir.path(), frozen({"train.patience=2"})), quiet());
  EXPECT_EQ(again.train().update, 15);
}

TEST(TrainStopping, PlateauHalvesUntilBelowLrMin) {
  TempDir dir;
  Trainer trainer(
      tiny_recipe("gru", dir.path(),
                  frozen({"train.lr_schedule=plateau", "train.lr_min=3e-31", "train.patience=0"})),
      quiet());
  const TrainResult result = trainer.train();
  EXPECT_EQ(result.reason, StopReason::lr_min);
  EXPECT_EQ(result.update, 15);  // decays at 10 and 15: 1e-30 -> 2.5e-31 < 3e-31
  EXPECT_DOUBLE_EQ(trainer.state().lr.factor, 0.25);
  EXPECT_NE(testing::read_text(dir.file("train.log")).find("learning rate multiplied by 0.5"),
            std::string::npos);
}

TEST(TrainStopping, MaxEpochs) {
  TempDir dir;
  Trainer trainer(tiny_recipe("gru", dir.path(), {"train.max_epochs=2", "train.max_updates=0"}),
                  quiet());
  const TrainResult result = trainer.train();
  EXPECT_EQ(result.reason, StopReason::max_epochs);
  EXPECT_EQ(result.update, 10);
  EXPECT_EQ(trainer.state().epoch, 3);
}

TEST(TrainStopping, RunDirThatIsAFileIsAnError) {
  TempDir dir;
  testing::write_text(dir.file("file"), "x");
  try {
    Trainer trainer(tiny_recipe("gru", dir.file("file")), quiet());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("run_dir"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace revnmt
