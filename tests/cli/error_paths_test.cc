// Bad input to every command, as a user would give it: missing, unreadable, empty or
// directory paths, mismatched line counts, invalid UTF-8, NUL bytes, 100,000-word lines,
// malformed or wrongly typed YAML, unknown keys, out-of-range values, damaged or foreign
// model files and vocabularies. Each failure must be one line "revnmt CMD: error: ..."
// naming the file, line or key, with exit code 1 (bad input) or 2 (bad usage), nothing on
// stdout, and no output or temporary file left behind; each input that is merely odd
// (long lines, bad bytes in text to translate or score) must succeed.
// Cases already covered next to their feature are not repeated here: see
// tests/train/cli_train_test.cc, tests/decode/translate_cli_test.cc,
// tests/eval/score_cli_test.cc, tests/data/cmd_vocab_test.cc, tests/report/report_cli_test.cc.

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include "nmt/core/file_io.h"
#include "nmt/train/checkpoint.h"
#include "tests/cli/cli_test_util.h"

namespace revnmt {
namespace {

using testing::CommandResult;
using testing::contains;
using testing::lines_of;
using testing::run_cli;
using testing::TempDir;
using testing::write_text;

std::string fixtures() { return testing::source_dir() + "/tests/fixtures/train"; }
std::string tiny_recipe() { return testing::source_dir() + "/recipes/tiny/revgru.yaml"; }

std::string shell_quoted(const std::string& path) { return "'" + path + "'"; }

// A failing command: one line "revnmt <command>: error: ..." holding every needle, the exit
// code, nothing on stdout.
void expect_error(const std::string& what, const CommandResult& r, int code,
                  const std::vector<std::string>& needles) {
  SCOPED_TRACE(what);
  EXPECT_EQ(r.exit_code, code) << r.err;
  const auto lines = lines_of(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  const std::string command = what.substr(0, what.find(' '));
  EXPECT_EQ(lines[0].rfind("revnmt " + command + ": error: ", 0), 0u) << lines[0];
  EXPECT_FALSE(contains(lines[0], "internal error")) << lines[0];
  for (const std::string& needle : needles)
    EXPECT_TRUE(contains(lines[0], needle)) << "'" << needle << "' not in: " << lines[0];
  EXPECT_EQ(r.out, "");
}

std::vector<std::string> temporaries_in(const std::string& dir) {
  std::vector<std::string> found;
  for (const std::string& name : testing::files_in(dir))
    if (contains(name, ".tmp.")) found.push_back(name);
  return found;
}

std::string repeat_words(int n) {
  std::string line;
  for (int i = 0; i < n; ++i) line += (i ? " " : "") + std::string(i % 2 ? "mann" : "ein");
  return line;
}

// A tiny trained model, made once per test process (removed when the process ends).
const std::string& tiny_model_dir() {
  static TempDir dir;
  static const std::string run = [] {
    const std::string path = dir.file("run");
    const CommandResult r = run_cli("train " + tiny_recipe() + " --set run_dir=" + path +
                                    " --set data.dir=" + fixtures() +
                                    " --set train.max_updates=6 --set "
                                    "train.valid_metrics=[perplexity] --quiet");
    if (r.exit_code != 0) ADD_FAILURE() << "training the tiny model failed: " << r.err;
    return path;
  }();
  return run;
}

std::string read_bytes(const std::string& path) { return testing::read_text(path); }
void write_bytes(const std::string& path, const std::string& bytes) { write_text(path, bytes); }

// ------------------------------------------------------------------ train: recipes

TEST(TrainErrors, RecipeProblemsNameTheFileLineAndKey) {
  TempDir dir;
  const std::string run = dir.file("run");
  const std::string data = " --set data.dir=" + fixtures() + " --set run_dir=" + run;
  make_directories(dir.file("a_directory.yaml"));
  struct Case {
    std::string name;
    std::string yaml;  // written to NAME when not empty
    std::string extra;
    int code;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {"a_directory.yaml", "", "", 1, {"a_directory.yaml", "directory"}},
      {"syntax.yaml", "train:\n  lr: [0.1\n", "", 1, {"syntax.yaml:3:1", "YAML syntax error"}},
      // yaml-cpp 0.7 used to loop forever, filling the memory, on a ',' outside a flow.
      {"comma.yaml", "train:\n  lr: 0.1\n,\n", "", 1, {"comma.yaml:3:1", "YAML syntax error"}},
      {"comma2.yaml", ",e: 8}", "", 1, {"comma2.yaml:1:1", "YAML syntax error"}},
      {"typed.yaml",
       "model:\n  hidden_size: big\n",
       "",
       1,
       {"typed.yaml:2", "model.hidden_size", "expected an integer", "'big'"}},
      {"list.yaml", "train:\n  lr: [1, 2]\n", "", 1, {"list.yaml:2", "train.lr", "a list"}},
      {"section.yaml", "train: 5\n", "", 1, {"section.yaml:1", "'train' is a section"}},
      {"utf8.yaml",
       "run_dir: runs/x\ndata:\n  dir: d\xC3\x28\n",
       "",
       1,
       {"utf8.yaml:3:9", "invalid UTF-8"}},
      {"nul.yaml", std::string("train:\n  lr: 0.1\0\n", 17), "", 1, {"nul.yaml:2:10", "NUL byte"}},
      {"escape.yaml",
       "data:\n  vocab: \"v\\0.spm\"\n",
       "",
       1,
       {"escape.yaml:2", "data.vocab", "UTF-8"}},
      {"unknown.yaml",
       "model:\n  hiden_size: 8\n",
       "",
       1,
       {"unknown.yaml:2", "model.hiden_size", "model.hidden_size"}},
      {"range.yaml",
       "model:\n  hidden_size: 64\n  slice_dim: 40\n",
       "",
       1,
       {"range.yaml:3", "model.slice_dim", "1..32", "40"}},
      {"tiny", "", " --set train.batch_size=-8", 1, {"train.batch_size", ">= 1", "-8"}},
      {"tiny", "", " --set model.layers=0", 1, {"model.layers", "0"}},
      {"tiny", "", " --set model.hidden_size=63", 1, {"model.hidden_size", "even", "63"}},
      {"tiny", "", " --set model.dropout_emb=1", 1, {"model.dropout_emb", "[0.0, 1.0)"}},
      {"tiny", "", " --set translate.beam=0", 1, {"translate.beam", "0"}},
      {"tiny", "", " --set train.valid_beam=0", 1, {"train.valid_beam", "0"}},
      {"tiny", "", " --set train.lr=-1", 1, {"train.lr", "-1"}},
      {"tiny", "", " --set train.max_memory_mb=-1", 1, {"train.max_memory_mb", ">= 0"}},
      {"tiny", "", " --max-memory-mb -5", 2, {"--max-memory-mb", ">= 0", "-5"}},
      {"tiny", "", " --max-memory-mb lots", 2, {"max-memory-mb", "lots"}},
      {"tiny", "", " --set train.seed", 1, {"--set train.seed", "key.path=value"}},
  };
  for (const Case& c : cases) {
    std::string recipe = tiny_recipe();
    if (c.name != "tiny") {
      recipe = dir.file(c.name);
      if (!c.yaml.empty()) write_bytes(recipe, c.yaml);
    }
    const CommandResult r = run_cli("train " + shell_quoted(recipe) + data + c.extra, "", 60);
    expect_error("train " + c.name + c.extra, r, c.code, c.needles);
    EXPECT_FALSE(file_exists(run)) << c.name << c.extra << ": the run directory was created";
  }
}

// An empty recipe is all defaults; the default data files are missing from the working
// directory, and the error says which key names them.
TEST(TrainErrors, EmptyRecipeMeansDefaultsWhoseDataIsMissing) {
  TempDir dir;
  write_text(dir.file("empty.yaml"), "");
  const CommandResult r =
      run_cli("train " + dir.file("empty.yaml") + " --set run_dir=" + dir.file("run"));
  expect_error("train empty", r, 1, {"train.en.gz", "data.train_src"});
}

// ------------------------------------------------------------------ train: data

TEST(TrainErrors, DataProblemsNameTheFileAndLine) {
  TempDir dir;
  const std::string run = dir.file("run");
  const std::vector<std::string> names = {"train.en", "train.de", "valid.en", "valid.de"};
  auto fresh_copy = [&] {
    std::filesystem::remove_all(dir.file("data"));
    make_directories(dir.file("data"));
    for (const auto& name : names)
      write_text(dir.file("data/" + name), testing::read_text(fixtures() + "/" + name));
  };
  auto replace_line = [&](const std::string& name, int number, const std::string& text) {
    const auto lines = lines_of(testing::read_text(dir.file("data/" + name)));
    std::string out;
    for (int i = 0; i < int(lines.size()); ++i) out += (i + 1 == number ? text : lines[i]) + "\n";
    write_text(dir.file("data/" + name), out);
  };
  struct Case {
    std::string what;
    std::function<void()> damage;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {"empty source",
       [&] { write_text(dir.file("data/train.en"), ""); },
       {"train.en", "empty file"}},
      {"missing target",
       [&] { std::filesystem::remove(dir.file("data/train.de")); },
       {"train.de", "data.train_tgt"}},
      {"directory",
       [&] {
         std::filesystem::remove(dir.file("data/valid.en"));
         make_directories(dir.file("data/valid.en"));
       },
       {"valid.en", "directory"}},
      {"invalid UTF-8",
       [&] { replace_line("train.en", 7, "a \xFF\xFE man"); },
       {"train.en:7", "invalid UTF-8 at byte 3"}},
      {"NUL byte",
       [&] { replace_line("train.de", 3, std::string("ein\0mann", 8)); },
       {"train.de:3", "NUL byte at byte 4"}},
      {"validation line counts",
       [&] { replace_line("valid.de", 8, "x\ny"); },
       {"valid.en", "valid.de"}},
  };
  for (const Case& c : cases) {
    fresh_copy();
    c.damage();
    const CommandResult r = run_cli("train " + tiny_recipe() + " --set run_dir=" + run +
                                    " --set data.dir=" + dir.file("data") + " --quiet");
    expect_error("train " + c.what, r, 1, c.needles);
    // No vocabulary trained from data that failed, no checkpoint, no temporary file.
    EXPECT_FALSE(file_exists(run + "/vocab.spm")) << c.what;
    EXPECT_TRUE(list_checkpoints(run).empty()) << c.what;
    if (file_exists(run)) {
      EXPECT_TRUE(temporaries_in(run).empty()) << c.what;
    }
    std::filesystem::remove_all(run);
  }
}

// A 100,000-word training pair is dropped by data.max_length (counted in the log), not a
// crash or an hour-long step.
TEST(TrainErrors, AHundredThousandWordPairIsDroppedAsTooLong) {
  TempDir dir;
  make_directories(dir.file("data"));
  for (const std::string name : {"train.en", "train.de", "valid.en", "valid.de"})
    write_text(dir.file("data/" + name), testing::read_text(fixtures() + "/" + name));
  std::ofstream(dir.file("data/train.en"), std::ios::app) << repeat_words(100000) << "\n";
  std::ofstream(dir.file("data/train.de"), std::ios::app) << "ein mann\n";
  const CommandResult r =
      run_cli("train " + tiny_recipe() + " --set run_dir=" + dir.file("run") +
              " --set data.dir=" + dir.file("data") +
              " --set train.max_updates=2 --set train.valid_metrics=[perplexity]");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.err, "41 pairs, kept 40, empty 0, too long (> 30 tokens) 1")) << r.err;
}

// ------------------------------------------------------------------ train: checkpoints,
// vocabularies

TEST(TrainErrors, DamagedCheckpointsAndForeignVocabularies) {
  TempDir dir;
  const std::string run = dir.file("run");
  const std::string args = "train " + tiny_recipe() + " --set run_dir=" + run +
                           " --set data.dir=" + fixtures() +
                           " --set train.valid_metrics=[perplexity] --quiet";
  ASSERT_EQ(run_cli(args + " --set train.max_updates=5").exit_code, 0);
  const std::string checkpoint = run + "/checkpoint.5.rnmt";
  const std::string good = read_bytes(checkpoint);

  // The only checkpoint truncated, or with a flipped byte: no valid checkpoint to resume.
  write_bytes(checkpoint, good.substr(0, good.size() / 3));
  expect_error("train truncated checkpoint", run_cli(args), 1,
               {run, "no valid checkpoint", "checkpoint.5.rnmt", "truncated"});
  std::string flipped = good;
  flipped[flipped.size() / 2] ^= 0x10;
  write_bytes(checkpoint, flipped);
  expect_error("train corrupted checkpoint", run_cli(args), 1,
               {"checkpoint.5.rnmt", "checksum mismatch"});
  write_bytes(checkpoint, good);

  // A vocabulary that does not match the checkpoint's, and one that is no vocabulary.
  ASSERT_EQ(
      run_cli("vocab -i " + fixtures() + "/train.de -m " + dir.file("other.spm") + " --size 60")
          .exit_code,
      0);
  expect_error("train other vocabulary",
               run_cli(args + " --set data.vocab=" + dir.file("other.spm")), 1,
               {"checkpoint.5.rnmt", "another vocabulary", "other.spm"});
  write_text(dir.file("text.spm"), "this is not a SentencePiece model\n");
  expect_error("train text vocabulary", run_cli(args + " --set data.vocab=" + dir.file("text.spm")),
               1, {"text.spm"});
  EXPECT_EQ(read_bytes(checkpoint), good);  // nothing was overwritten
  EXPECT_TRUE(temporaries_in(run).empty());
}

// ------------------------------------------------------------------ translate

TEST(TranslateErrors, DamagedAndForeignModelFiles) {
  TempDir dir;
  const std::string model = read_bytes(tiny_model_dir() + "/model.rnmt");
  ASSERT_GT(model.size(), 100u);
  write_text(dir.file("in.txt"), "ein mann .\n");
  std::string corrupted = model, version = model;
  corrupted[model.size() / 2] ^= 0x01;
  version[8] = 9;  // the format version follows the 8-byte magic
  const std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> cases = {
      {"truncated.rnmt", model.substr(0, model.size() / 2), {"truncated.rnmt", "truncated"}},
      {"truncated_header.rnmt", model.substr(0, 10), {"truncated_header.rnmt", "truncated"}},
      {"corrupted.rnmt", corrupted, {"corrupted.rnmt", "checksum mismatch"}},
      {"version.rnmt", version, {"version.rnmt", "format version 9", "reads version 1"}},
      {"empty.rnmt", "", {"empty.rnmt", "not a revnmt model"}},
      {"vocab.rnmt",
       read_bytes(tiny_model_dir() + "/vocab.spm"),
       {"vocab.rnmt", "not a revnmt model"}},
      // Found by fuzz_model: SentencePiece throws (not a status) on an empty piece; this
      // was "internal error", exit 3.
      {"empty_piece.rnmt",
       read_bytes(testing::test_data_dir() + "/fuzz/model/regression_empty_piece.rnmt"),
       {"empty_piece.rnmt (vocabulary): not a SentencePiece model", "zero-length key"}},
  };
  for (const auto& [name, bytes, needles] : cases) {
    write_bytes(dir.file(name), bytes);
    const CommandResult r = run_cli("translate -m " + dir.file(name) + " -i " + dir.file("in.txt") +
                                    " -o " + dir.file("out.txt"));
    expect_error("translate " + name, r, 1, needles);
    EXPECT_FALSE(file_exists(dir.file("out.txt"))) << name;
    EXPECT_TRUE(temporaries_in(dir.path()).empty()) << name;
  }
  // A checkpoint is a model file with more sections: it translates.
  const CommandResult r = run_cli("translate -m " + tiny_model_dir() + "/checkpoint.6.rnmt -i " +
                                  dir.file("in.txt") + " --quiet");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_of(r.out).size(), 1u);
}

TEST(TranslateErrors, InputAndOutputProblems) {
  TempDir dir;
  const std::string model = " -m " + tiny_model_dir() + "/model.rnmt";
  write_text(dir.file("in.txt"), "ein mann .\n");
  make_directories(dir.file("in_dir"));
  struct Case {
    std::string args;
    int code;
    std::vector<std::string> needles;
  };
  const std::vector<Case> cases = {
      {model + " -i " + dir.file("in_dir") + " -o " + dir.file("out.txt"),
       1,
       {"in_dir", "directory"}},
      {model + " -i " + dir.file("in.txt") + " -o " + dir.file("no/such/dir/out.txt"),
       1,
       {"no/such/dir/out.txt", "cannot write"}},
      {model + " -i " + dir.file("in.txt") + " -o " + dir.file("out.txt") +
           " --max-input-tokens -1",
       2,
       {"--max-input-tokens", "-1"}},
      {model + " -i " + dir.file("in.txt") + " -o " + dir.file("out.txt") + " --beam -3",
       2,
       {"--beam", "-3"}},
  };
  for (const Case& c : cases) {
    expect_error("translate" + c.args, run_cli("translate" + c.args), c.code, c.needles);
    EXPECT_FALSE(file_exists(dir.file("out.txt"))) << c.args;
  }
  EXPECT_TRUE(temporaries_in(dir.path()).empty());

  // An empty input file is an empty translation, not an error.
  write_text(dir.file("empty.txt"), "");
  const CommandResult empty = run_cli("translate" + model + " -i " + dir.file("empty.txt") +
                                      " -o " + dir.file("out.txt") + " --quiet");
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_TRUE(file_exists(dir.file("out.txt")));
  EXPECT_EQ(testing::read_text(dir.file("out.txt")), "");
}

// Attention costs source × target length: a 100,000-word line would take hours. It is
// cropped to --max-input-tokens (with a warning naming the line) and answered on its line.
TEST(TranslateErrors, AHundredThousandWordLineIsCroppedAndAnswered) {
  TempDir dir;
  write_text(dir.file("in.txt"), "ein mann .\n" + repeat_words(100000) + "\n\x01\x02\n");
  const CommandResult r = run_cli("translate -m " + tiny_model_dir() + "/model.rnmt -i " +
                                      dir.file("in.txt") + " --beam 1 --quiet",
                                  "", 300);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(lines_of(r.out).size(), 3u) << r.out.substr(0, 300);
  EXPECT_TRUE(contains(r.err, "in.txt:2: long line (")) << r.err;
  EXPECT_TRUE(contains(r.err, "only its first 1000 are translated (--max-input-tokens)")) << r.err;
}

// ------------------------------------------------------------------ score, vocab, selftest

TEST(ScoreErrors, EmptyFilesNulBytesAndLongLines) {
  TempDir dir;
  write_text(dir.file("empty.txt"), "");
  write_text(dir.file("two.txt"), "a man\na dog\n");
  expect_error("score empty",
               run_cli("score -r " + dir.file("empty.txt") + " " + dir.file("empty.txt")), 1,
               {"empty.txt", "no lines to score"});
  expect_error("score counts",
               run_cli("score -r " + dir.file("two.txt") + " " + dir.file("empty.txt")), 1,
               {"line count mismatch", "empty.txt", "two.txt"});
  // Text with NUL bytes or a 100,000-word line is scored, not refused.
  write_text(dir.file("nul.txt"), std::string("a\0man\na dog\n", 12));
  const CommandResult nul =
      run_cli("score -r " + dir.file("two.txt") + " " + dir.file("nul.txt") + " -b");
  EXPECT_EQ(nul.exit_code, 0) << nul.err;
  EXPECT_EQ(lines_of(nul.out).size(), 1u);
  write_text(dir.file("long.txt"), repeat_words(100000) + "\n");
  const CommandResult long_line =
      run_cli("score -r " + dir.file("long.txt") + " " + dir.file("long.txt") + " -b");
  EXPECT_EQ(long_line.exit_code, 0) << long_line.err;
  EXPECT_EQ(long_line.out, "100.00\n");
}

TEST(VocabErrors, DirectoriesEmptyInputNulBytesAndLongLines) {
  TempDir dir;
  make_directories(dir.file("a_dir"));
  write_text(dir.file("empty.txt"), "");
  write_text(dir.file("nul.txt"), std::string("ein mann\nein\0hund\n", 18));
  const std::string out = " -m " + dir.file("out.spm");
  expect_error("vocab dir", run_cli("vocab -i " + dir.file("a_dir") + out), 1,
               {"a_dir", "directory"});
  expect_error("vocab empty", run_cli("vocab -i " + dir.file("empty.txt") + out), 1,
               {"empty.txt", "no text"});
  expect_error("vocab nul", run_cli("vocab -i " + dir.file("nul.txt") + out), 1,
               {"nul.txt:2", "NUL byte at byte 4"});
  expect_error("vocab output dir",
               run_cli("vocab -i " + fixtures() + "/train.en -m " + dir.file("a_dir")), 1,
               {"a_dir", "directory"});
  expect_error("vocab max-lines",
               run_cli("vocab -i " + fixtures() + "/train.en" + out + " --max-lines -1"), 2,
               {"--max-lines"});
  EXPECT_FALSE(file_exists(dir.file("out.spm")));
  EXPECT_TRUE(temporaries_in(dir.path()).empty());
  // A 100,000-word line does not stop vocabulary training.
  write_text(dir.file("long.txt"),
             testing::read_text(fixtures() + "/train.en") + repeat_words(100000) + "\n");
  const CommandResult r = run_cli("vocab -i " + dir.file("long.txt") + out + " --size 60");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(file_exists(dir.file("out.spm")));
}

TEST(SelftestErrors, OutOfRangeAndMalformedValues) {
  expect_error("selftest 0", run_cli("selftest --steps 0"), 1, {"--steps", "0"});
  expect_error("selftest x", run_cli("selftest --steps x"), 2, {"--steps", "'x'"});
  expect_error("selftest -1", run_cli("selftest --steps -1"), 1, {"--steps", "-1"});
}

// ------------------------------------------------------------------ memory, report

TEST(MemoryAndReportErrors, DamagedModelFilesAndMetrics) {
  TempDir dir;
  const std::string model = read_bytes(tiny_model_dir() + "/model.rnmt");
  write_bytes(dir.file("truncated.rnmt"), model.substr(0, model.size() - 7));
  expect_error("memory truncated",
               run_cli("memory " + tiny_recipe() + " --set run_dir=" + dir.file("run") +
                       " --set data.dir=" + fixtures() + " --model " + dir.file("truncated.rnmt")),
               1, {"truncated.rnmt", "checksum mismatch"});
  // A metrics.jsonl with broken, binary and half-written lines still gives a report.
  const std::string run = dir.file("copy");
  std::filesystem::copy(tiny_model_dir(), run);
  std::ofstream(run + "/metrics.jsonl", std::ios::app)
      << "not json\n"
      << std::string("{\"kind\":\"train\",\0\xFF\n", 20) << "{\"kind\":\"valid\",";
  const CommandResult r = run_cli("report " + run + " -q");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(file_exists(run + "/report/report.html"));
}

// ------------------------------------------------------------------ unreadable files

TEST(UnreadableFiles, AreErrorsNamingThePath) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads every file";
  TempDir dir;
  write_text(dir.file("recipe.yaml"), "train:\n  lr: 0.1\n");
  write_text(dir.file("in.txt"), "ein mann\n");
  ::chmod(dir.file("recipe.yaml").c_str(), 0);
  ::chmod(dir.file("in.txt").c_str(), 0);
  expect_error("train unreadable", run_cli("train " + dir.file("recipe.yaml")), 1, {"recipe.yaml"});
  expect_error("translate unreadable",
               run_cli("translate -m " + tiny_model_dir() + "/model.rnmt -i " + dir.file("in.txt")),
               1, {"in.txt"});
  expect_error("score unreadable",
               run_cli("score -r " + dir.file("in.txt") + " " + dir.file("in.txt")), 1, {"in.txt"});
}

}  // namespace
}  // namespace revnmt
