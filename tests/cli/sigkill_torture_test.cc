// The SIGKILL torture test: a tiny training run (recipes/tiny/revgru.yaml on the fixture
// corpus, one thread, a checkpoint after every update) is killed with SIGKILL twenty times
// and restarted each time with the same command. Every other kill comes in the middle of a
// checkpoint write: the moment the temporary file of the checkpoint 1-12 updates after the
// newest one appears; the others at a random moment (0-20 ms) after the checkpoint 1-12
// updates on has been written (training, validating, logging, writing), or, before the
// first checkpoint, 10-600 ms after the start (loading data, training the vocabulary).
// After every kill every checkpoint file on disk must load (CRC, sections, state), one must
// exist once one has been written, and the newest must never go back. Finally the run is
// completed, and its model file (parameters, config, vocabulary) and its metrics.jsonl
// (without timings) must equal those of the same run trained without interruption.
// REVNMT_TORTURE_SEED=N replays another sequence of kill times.

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <random>
#include <regex>
#include <thread>

#include "nmt/model/archive.h"
#include "nmt/train/checkpoint.h"
#include "nmt/train/training_state.h"
#include "tests/cli/cli_test_util.h"

namespace revnmt {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

constexpr int kKills = 20;
constexpr int kUpdates = 300;  // more than 20 sessions of at most 13 updates reach

std::vector<std::string> train_args(const std::string& run_dir) {
  return {"train",  testing::source_dir() + "/recipes/tiny/revgru.yaml",
          "--set",  "run_dir=" + run_dir,
          "--set",  "data.dir=" + testing::source_dir() + "/tests/fixtures/train",
          "--set",  "train.max_updates=" + std::to_string(kUpdates),
          "--set",  "train.save_every=1",
          "--set",  "train.log_every=10",
          "--set",  "train.valid_metrics=[perplexity]",
          "--quiet"};
}

std::string command_line(const std::vector<std::string>& args) {
  std::string line;
  for (const auto& a : args) line += (line.empty() ? "" : " ") + ("'" + a + "'");
  return line;
}

// metrics.jsonl without the fields that measure time.
std::string metrics_without_timing(const std::string& run_dir) {
  static const std::regex timing(R"re(,"(seconds|wall_time|tokens_per_second)":[^,}]*)re");
  return std::regex_replace(testing::read_text(run_dir + "/metrics.jsonl"), timing, "");
}

// True when `dir` holds a temporary file "<prefix>...tmp.<pid>" of an atomic write (of
// process `pid`; any process when pid is 0).
bool has_temporary(const std::string& dir, const std::string& prefix, pid_t pid = 0) {
  const std::string suffix = ".tmp." + (pid > 0 ? std::to_string(pid) : std::string());
  for (const std::string& name : testing::files_in(dir)) {
    if (name.rfind(prefix, 0) != 0) continue;
    const size_t at = name.find(".tmp.");
    if (at != std::string::npos && (pid == 0 || name.compare(at, std::string::npos, suffix) == 0))
      return true;
  }
  return false;
}

bool ended(pid_t child) {
  siginfo_t info{};
  return ::waitid(P_PID, id_t(child), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
         info.si_pid == child;  // (left for the caller to reap)
}

// Waits until the checkpoint of update `update` or a later one is being written (its
// temporary file exists) or, with `complete`, has been written; or until the child ends or
// ten seconds pass.
void wait_for_checkpoint(const std::string& run_dir, int64_t update, bool complete, pid_t child) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && !ended(child)) {
    for (const std::string& name : testing::files_in(run_dir)) {
      if (name.rfind("checkpoint.", 0) != 0) continue;
      const bool temporary = name.find(".rnmt.tmp.") != std::string::npos;
      if (temporary == complete) continue;
      if (std::stoll(name.substr(11)) >= update) return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

TEST(SigkillTorture, TwentyKillsLoseNothingAndChangeNothing) {
  const char* seed_text = std::getenv("REVNMT_TORTURE_SEED");
  const uint32_t seed = seed_text != nullptr ? uint32_t(std::strtoul(seed_text, nullptr, 10)) : 6;
  SCOPED_TRACE("REVNMT_TORTURE_SEED=" + std::to_string(seed));
  TempDir dir;
  const std::string reference = dir.file("reference"), run = dir.file("tortured");

  const auto uninterrupted = testing::run_revnmt(command_line(train_args(reference)));
  ASSERT_EQ(uninterrupted.exit_code, 0) << uninterrupted.err;

  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> start_ms(10, 600), after_ms(0, 20), updates_ahead(1, 12);
  int64_t newest = -1;
  int during_checkpoint_write = 0, during_any_write = 0, ended_before_the_kill = 0;
  for (int k = 0; k < kKills; ++k) {
    SCOPED_TRACE("kill " + std::to_string(k + 1));
    const pid_t pid = testing::spawn_revnmt(train_args(run), dir.file("stderr"), /*append_err=*/true);
    ASSERT_GT(pid, 0);
    if (newest < 0) {  // loading data, training the vocabulary, the first updates
      std::this_thread::sleep_for(std::chrono::milliseconds(start_ms(rng)));
    } else if (k % 2 == 1) {  // in the middle of writing a checkpoint
      wait_for_checkpoint(run, newest + updates_ahead(rng), /*complete=*/false, pid);
    } else {  // at a random moment of the update after a checkpoint (training, validating,
              // writing, logging): each session moves the run on by a few updates only
      wait_for_checkpoint(run, newest + updates_ahead(rng), /*complete=*/true, pid);
      std::this_thread::sleep_for(std::chrono::milliseconds(after_ms(rng)));
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status)) {
      ASSERT_EQ(WEXITSTATUS(status), 0) << testing::read_text(dir.file("stderr"));
      ++ended_before_the_kill;
    }
    if (!fs::exists(run)) continue;  // killed before it made its run directory
    during_checkpoint_write += has_temporary(run, "checkpoint.", pid);
    during_any_write += has_temporary(run, "", pid);

    // Every checkpoint on disk is complete: written atomically, never partially.
    const std::vector<CheckpointFile> files = list_checkpoints(run);
    for (const CheckpointFile& file : files) {
      try {
        const Archive archive = Archive::load(file.path);
        EXPECT_EQ(archive.bytes("kind"), "checkpoint");
        EXPECT_EQ(training_state_from_yaml(archive.bytes("state"), file.path).update, file.update);
      } catch (const std::exception& e) {
        ADD_FAILURE() << "a broken checkpoint after a kill: " << e.what();
      }
    }
    if (newest >= 0) {
      ASSERT_FALSE(files.empty()) << "no checkpoint left although one had been written";
      EXPECT_GE(files.back().update, newest) << "the newest checkpoint went back";
    }
    if (!files.empty()) newest = files.back().update;
  }
  EXPECT_GE(during_checkpoint_write, 1) << "no kill landed in a checkpoint write";
  std::printf(
      "[torture] %d kills: %d during a checkpoint write, %d during some file write, "
      "%d after the run had ended; newest checkpoint before completing: update %lld\n",
      kKills, during_checkpoint_write, during_any_write, ended_before_the_kill,
      static_cast<long long>(newest));

  const auto completed = testing::run_revnmt(command_line(train_args(run)));
  ASSERT_EQ(completed.exit_code, 0) << completed.err;
  EXPECT_FALSE(has_temporary(run, "")) << "temporary files left after the completing run";
  const std::string model = testing::read_text(run + "/model.rnmt");
  ASSERT_FALSE(model.empty());
  EXPECT_TRUE(model == testing::read_text(reference + "/model.rnmt"))
      << "the final model differs from the uninterrupted run's";
  EXPECT_EQ(Archive::load(run + "/model.rnmt").serialize(), model);
  EXPECT_EQ(metrics_without_timing(run), metrics_without_timing(reference));
}

}  // namespace
}  // namespace revnmt
