// `revnmt train` end to end: the files of a run, --dump-config, one-line errors for bad
// recipes and data, and SIGTERM = save a checkpoint, exit 0, resume on rerun.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include "nmt/config/recipe.h"
#include "nmt/core/file_io.h"
#include "nmt/model/model_io.h"
#include "nmt/train/checkpoint.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

using testing::CommandResult;
using testing::TempDir;

std::string recipe_path(const std::string& cell = "revgru") {
  return testing::source_dir() + "/recipes/tiny/" + cell + ".yaml";
}

std::string data_dir() { return testing::source_dir() + "/tests/fixtures/train"; }

// "train <tiny recipe> --set run_dir=DIR --set data.dir=<fixtures> <extra>"
std::string train_args(const std::string& run_dir, const std::string& extra = "") {
  return "train " + recipe_path() + " --set run_dir=" + run_dir + " --set data.dir=" + data_dir() +
         " " + extra;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The text after the "[YYYY-MM-DD HH:MM:SS] " stamp of each line.
std::vector<std::string> without_stamps(const std::string& text) {
  std::vector<std::string> lines;
  for (const std::string& line : lines_of(text))
    lines.push_back(line.size() > 22 && line[0] == '[' ? line.substr(22) : line);
  return lines;
}

TEST(TrainCli, ProducesTheRunFiles) {
  TempDir dir;
  const std::string run = dir.file("run");
  const CommandResult r =
      testing::run_revnmt(train_args(run, "--set train.max_updates=12 --set train.log_every=4"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name :
       {"config.yaml", "vocab.spm", "model.best.rnmt", "model.rnmt", "checkpoint.10.rnmt",
        "checkpoint.12.rnmt", "train.log", "metrics.jsonl"})
    EXPECT_TRUE(file_exists(run + "/" + name)) << name;
  EXPECT_EQ(list_checkpoints(run).size(), 2u);  // keep_last 2

  // stderr and train.log hold the same lines; no progress bar in either (not a terminal).
  const std::string log = testing::read_text(run + "/train.log");
  EXPECT_EQ(without_stamps(r.err), without_stamps(log));
  EXPECT_EQ(log.find('\r'), std::string::npos);
  EXPECT_NE(log.find("Ep. 3 : Up. 12 : Sen. 16 : Cost "), std::string::npos) << log;
  EXPECT_NE(log.find(" tok/s : L.r. 1.0000e-02 : gNorm "), std::string::npos) << log;
  EXPECT_NE(log.find("[valid] Ep. 1 : Up. 5 : perplexity : "), std::string::npos) << log;
  EXPECT_NE(log.find(" : new best (BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("chrF2|nrefs:1|"), std::string::npos) << log;
  EXPECT_NE(log.find("Training finished: train.max_updates 12 reached"), std::string::npos);

  // One JSON object per line: training, then validation events with the ledgers.
  const auto events = lines_of(testing::read_text(run + "/metrics.jsonl"));
  ASSERT_GE(events.size(), 4u);
  int train = 0, valid = 0;
  for (const std::string& event : events) {
    EXPECT_EQ(event.front(), '{');
    EXPECT_EQ(event.back(), '}');
    if (event.find("\"kind\":\"train\"") != std::string::npos) {
      ++train;
      for (const char* key :
           {"\"update\":", "\"sentences\":", "\"target_tokens\":", "\"loss\":", "\"perplexity\":",
            "\"lr\":", "\"grad_norm\":", "\"tokens_per_second\":", "\"held_bytes\":",
            "\"encoder\":{", "\"decoder\":{",
            "\"baseline_bits\":", "\"optimal_bits\":", "\"wall_time\":"})
        EXPECT_NE(event.find(key), std::string::npos) << key << " in " << event;
    }
    if (event.find("\"kind\":\"valid\"") != std::string::npos) {
      ++valid;
      for (const char* key : {"\"perplexity\":", "\"bleu\":", "\"chrf\":",
                              "\"bleu_signature\":\"nrefs:1|case:mixed|eff:no|tok:13a",
                              "\"chrf_signature\":\"nrefs:1|"})
        EXPECT_NE(event.find(key), std::string::npos) << key << " in " << event;
    }
  }
  EXPECT_EQ(train, 3);  // log_every 4
  EXPECT_EQ(valid, 3);  // epoch ends at 5 and 10, and the end of training at 12

  // The final model translates; the best one and the checkpoint load as models.
  EXPECT_NO_THROW(load_model(run + "/model.rnmt"));
  EXPECT_NO_THROW(load_model(run + "/model.best.rnmt"));
  EXPECT_NO_THROW(load_model(run + "/checkpoint.12.rnmt"));
  EXPECT_TRUE(load_recipe(run + "/config.yaml") ==
              load_recipe(recipe_path(), {"run_dir=" + run, "data.dir=" + data_dir(),
                                          "train.max_updates=12", "train.log_every=4"}));
}

TEST(TrainCli, LogLinesEveryLogEvery) {
  TempDir dir;
  const std::string run = dir.file("run");
  const CommandResult r = testing::run_revnmt(
      train_args(run, "--set train.max_updates=6 --set train.log_every=2 --quiet"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(r.err.empty()) << r.err;  // --quiet: nothing but warnings on stderr
  const std::string log = testing::read_text(run + "/train.log");
  for (const char* line :
       {"Ep. 1 : Up. 2 : Sen. 16 : ", "Ep. 1 : Up. 4 : Sen. 32 : ", "Ep. 2 : Up. 6 : Sen. 8 : "})
    EXPECT_NE(log.find(line), std::string::npos) << line << "\n" << log;
  const auto events = lines_of(testing::read_text(run + "/metrics.jsonl"));
  int train = 0;
  for (const auto& event : events) train += event.find("\"kind\":\"train\"") != std::string::npos;
  EXPECT_EQ(train, 3);
}

TEST(TrainCli, DumpConfigRoundTrips) {
  TempDir dir;
  const std::string run = dir.file("never-created");
  const CommandResult r = testing::run_revnmt(
      train_args(run, "--set train.lr=5e-4 --set model.cell=gru --dump-config"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(file_exists(run));
  testing::write_text(dir.file("dumped.yaml"), r.out);
  const Recipe dumped = load_recipe(dir.file("dumped.yaml"));
  const Recipe expected = load_recipe(recipe_path(), {"run_dir=" + run, "data.dir=" + data_dir(),
                                                      "train.lr=5e-4", "model.cell=gru"});
  EXPECT_TRUE(dumped == expected) << r.out;
  EXPECT_EQ(dumped.model.cell, CellType::gru);
  EXPECT_DOUBLE_EQ(dumped.train.lr, 5e-4);
}

// A failing command prints exactly one line, "revnmt train: error: ...", and exits 1.
void expect_one_line_error(const CommandResult& r, const std::vector<std::string>& needles) {
  EXPECT_EQ(r.exit_code, 1) << r.err;
  const auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0].rfind("revnmt train: error: ", 0), 0u) << lines[0];
  for (const auto& needle : needles)
    EXPECT_NE(lines[0].find(needle), std::string::npos) << lines[0];
}

TEST(TrainCli, MissingDataFile) {
  TempDir dir;
  const CommandResult r =
      testing::run_revnmt(train_args(dir.file("run"), "--set data.train_src=missing.en"));
  expect_one_line_error(r, {"missing.en", "data.train_src"});
  EXPECT_FALSE(file_exists(dir.file("run")));  // nothing created before the check
}

TEST(TrainCli, UnknownKey) {
  TempDir dir;
  const CommandResult r = testing::run_revnmt(train_args(dir.file("run"), "--set train.lrr=0.1"));
  EXPECT_NE(r.exit_code, 0);
  expect_one_line_error(r, {"train.lrr", "did you mean 'train.lr'"});
}

TEST(TrainCli, UnknownKeyInTheRecipeFile) {
  TempDir dir;
  testing::write_text(dir.file("bad.yaml"), "train:\n  lr: 0.1\n  pateince: 3\n");
  const CommandResult r = testing::run_revnmt("train " + dir.file("bad.yaml"));
  expect_one_line_error(r, {"bad.yaml:3", "train.pateince", "train.patience"});
}

TEST(TrainCli, WrongType) {
  TempDir dir;
  const CommandResult r = testing::run_revnmt(train_args(dir.file("run"), "--set train.lr=fast"));
  expect_one_line_error(r, {"train.lr", "expected a number", "fast"});
}

TEST(TrainCli, MissingRecipe) {
  TempDir dir;
  const CommandResult r = testing::run_revnmt("train " + dir.file("nope.yaml"));
  expect_one_line_error(r, {"nope.yaml"});
}

TEST(TrainCli, MismatchedLineCounts) {
  TempDir dir;
  testing::write_text(dir.file("a.en"), "one\ntwo\nthree\n");
  testing::write_text(dir.file("a.de"), "eins\nzwei\n");
  const CommandResult r = testing::run_revnmt(
      train_args(dir.file("run"), "--set data.train_src=" + dir.file("a.en") +
                                      " --set data.train_tgt=" + dir.file("a.de") + " --quiet"));
  expect_one_line_error(r, {"a.en", "a.de"});
}

TEST(TrainCli, RunDirThatIsAFile) {
  TempDir dir;
  testing::write_text(dir.file("taken"), "x");
  const CommandResult r = testing::run_revnmt(train_args(dir.file("taken")));
  expect_one_line_error(r, {"run_dir", dir.file("taken"), "not a directory"});
}

TEST(TrainCli, CheckpointOfAnotherModel) {
  TempDir dir;
  const std::string run = dir.file("run");
  ASSERT_EQ(testing::run_revnmt(train_args(run, "--set train.max_updates=5 --quiet")).exit_code, 0);
  const CommandResult r =
      testing::run_revnmt(train_args(run, "--set model.context=hidden --quiet"));
  expect_one_line_error(
      r, {"checkpoint.5.rnmt", "model.context", "slice_emb", "hidden", "another run_dir"});
}

TEST(TrainCli, SigtermSavesACheckpointAndTheRerunResumes) {
  TempDir dir;
  const std::string run = dir.file("run");
  const std::vector<std::string> args = {"train", recipe_path(),
                                         "--set", "run_dir=" + run,
                                         "--set", "data.dir=" + data_dir(),
                                         "--set", "train.max_updates=1000000",
                                         "--set", "train.valid_metrics=[perplexity]"};
  const pid_t pid = testing::spawn_revnmt(args, dir.file("err1"));
  ASSERT_GT(pid, 0);
  // Wait until training runs (the first epoch's checkpoint exists).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!file_exists(run + "/checkpoint.10.rnmt") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(file_exists(run + "/checkpoint.10.rnmt"));
  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status)) << "killed by signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << testing::read_text(dir.file("err1"));
  const std::string err = testing::read_text(dir.file("err1"));
  EXPECT_NE(err.find("after SIGTERM; rerun the same command to resume"), std::string::npos) << err;
  EXPECT_FALSE(file_exists(run + "/model.rnmt"));  // paused, not finished
  const auto files = list_checkpoints(run);
  ASSERT_FALSE(files.empty());
  const int64_t saved = files.back().update;
  EXPECT_NE(err.find("saved checkpoint " + files.back().path + " after SIGTERM"), std::string::npos)
      << err;

  // The same command (with a reachable budget) resumes at the saved update.
  const std::string target = std::to_string(saved + 7);
  const CommandResult r = testing::run_revnmt(train_args(
      run, "--set train.max_updates=" + target + " --set train.valid_metrics=[perplexity]"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Resuming from " + files.back().path + ": "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("Training finished: train.max_updates " + target + " reached"),
            std::string::npos)
      << r.err;
  EXPECT_TRUE(file_exists(run + "/model.rnmt"));
}

// A second signal ends the process at once (exit 128 + 15) unless the first one's checkpoint
// was already written; either way a valid checkpoint is on disk and the rerun resumes.
TEST(TrainCli, SecondSignalExitsAtOnceAndLeavesAValidCheckpoint) {
  TempDir dir;
  const std::string run = dir.file("run");
  const pid_t pid = testing::spawn_revnmt(
      {"train", recipe_path(), "--set", "run_dir=" + run, "--set", "data.dir=" + data_dir(),
       "--set", "train.max_updates=1000000", "--set", "train.valid_metrics=[perplexity]"},
      dir.file("err"));
  ASSERT_GT(pid, 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!file_exists(run + "/checkpoint.5.rnmt") && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(file_exists(run + "/checkpoint.5.rnmt"));
  ::kill(pid, SIGTERM);
  ::kill(pid, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_TRUE(WEXITSTATUS(status) == 0 || WEXITSTATUS(status) == 128 + SIGTERM)
      << WEXITSTATUS(status);
  std::optional<LoadedCheckpoint> saved;
  ASSERT_NO_THROW(saved = load_latest_checkpoint(run, [](const std::string&) {}));
  ASSERT_TRUE(saved.has_value());
  // On a busy machine the trainer may get far before the signals arrive: resume for a few
  // updates beyond wherever it stopped.
  const std::string limit = std::to_string(saved->state.update + 5);
  const CommandResult r = testing::run_revnmt(train_args(
      run, "--set train.max_updates=" + limit + " --set train.valid_metrics=[perplexity]"));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Resuming from "), std::string::npos) << r.err;
}

}  // namespace
}  // namespace revnmt
