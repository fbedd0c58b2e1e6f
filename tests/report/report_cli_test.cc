// `revnmt memory`, `revnmt report` and recipes/multi30k/run.sh end to end on tiny runs, and
// their error paths.

#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>

#include "nmt/core/file_io.h"
#include "nmt/report/json.h"
#include "tests/report/xml_tree.h"
#include "tests/support/test_support.h"

namespace revnmt::report {
namespace {

using testing::CommandResult;
using testing::TempDir;

std::string tiny_recipe(const std::string& cell = "revgru") {
  return testing::source_dir() + "/recipes/tiny/" + cell + ".yaml";
}
std::string fixtures() { return testing::source_dir() + "/tests/fixtures/train"; }

// "--set run_dir=RUN --set data.dir=<fixtures>"
std::string sets(const std::string& run_dir) {
  return " --set run_dir='" + run_dir + "' --set data.dir=" + fixtures();
}

// Runs a shell command line, capturing stdout and stderr.
CommandResult run_shell(const std::string& command) {
  TempDir dir;
  const std::string out = dir.file("out"), err = dir.file("err");
  const int status = std::system((command + " >" + out + " 2>" + err + " </dev/null").c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = testing::read_text(out);
  r.err = testing::read_text(err);
  return r;
}

void train_tiny(const std::string& run_dir, int updates) {
  const CommandResult r =
      testing::run_revnmt("train " + tiny_recipe() + sets(run_dir) + " --set train.max_updates=" +
                          std::to_string(updates) + " --set train.log_every=4 -q");
  ASSERT_EQ(r.exit_code, 0) << r.err;
}

TEST(MemoryCli, PrintsTheLedgerAsTextAndJson) {
  TempDir dir;
  const std::string run = dir.file("run");
  const CommandResult text =
      testing::run_revnmt("memory " + tiny_recipe() + sets(run) + " --batches 3");
  ASSERT_EQ(text.exit_code, 0) << text.err;
  for (const char* label :
       {"the first 3 training batches", "model:    revgru", "standard: gru",
        "actual ratio (baseline / held)", "optimal ratio (baseline / optimal)",
        "paper's actual ratio (held without final states)", "Real bytes held for backward",
        "whole model (both stacks + token ids)"})
    EXPECT_NE(text.out.find(label), std::string::npos) << label << "\n" << text.out;
  EXPECT_NE(text.err.find("training the same vocabulary into a temporary directory"),
            std::string::npos)
      << text.err;
  EXPECT_FALSE(std::filesystem::exists(run));

  const std::string json_file = dir.file("memory.json");
  const CommandResult json = testing::run_revnmt(
      "memory " + tiny_recipe() + sets(run) + " --batches 3 --format json -q --json " + json_file);
  ASSERT_EQ(json.exit_code, 0) << json.err;
  EXPECT_EQ(json.err, "");  // --quiet
  const JsonValue parsed = parse_json(json.out, "stdout");
  EXPECT_EQ(parsed.number_at("batches"), 3.0);
  const JsonValue* total = parsed.find("total");
  ASSERT_NE(total, nullptr);
  EXPECT_GT(*total->number_at("held_bytes"), 0);
  EXPECT_LT(*total->number_at("held_bytes"), *total->number_at("standard_held_bytes"));
  for (const char* stack : {"encoder", "decoder"}) {
    const JsonValue* s = parsed.find(stack);
    ASSERT_NE(s, nullptr);
    EXPECT_GT(*s->number_at("baseline_bits"), *s->number_at("held_bits"));
    EXPECT_GT(*s->number_at("actual_ratio"), 1.0);
    EXPECT_LT(*s->number_at("held_bytes"), *s->number_at("standard_held_bytes"));
  }
  // Deterministic: the file holds exactly what stdout got.
  EXPECT_EQ(testing::read_text(json_file), json.out);
}

TEST(MemoryCli, Errors) {
  TempDir dir;
  const std::string run = dir.file("run");
  struct Case {
    std::string args;
    int code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"memory", 2, "the option '--recipe' is required"},
      {"memory " + dir.file("none.yaml"), 1, "none.yaml"},
      {"memory " + tiny_recipe() + sets(run) + " --format xml", 2, "--format must be text or json"},
      {"memory " + tiny_recipe() + sets(run) + " --batches 0", 2, "--batches must be at least 1"},
      {"memory " + tiny_recipe() + sets(run) + " --standard-context slice", 2,
       "--standard-context must be hidden or same"},
      {"memory " + tiny_recipe() + sets(run) + " --set model.nosuch=1", 1, "model.nosuch"},
      {"memory " + tiny_recipe() + sets(run) + " --set data.train_tgt=none.de", 1,
       "data.train_tgt"},
      {"memory " + tiny_recipe() + sets(run) + " --model " + dir.file("none.rnmt"), 1, "none.rnmt"},
  };
  for (const Case& c : cases) {
    const CommandResult r = testing::run_revnmt(c.args);
    EXPECT_EQ(r.exit_code, c.code) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.message), std::string::npos) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find("revnmt memory: error: "), std::string::npos) << r.err;
  }

  // A model file of another model than the recipe's: named key, both values.
  train_tiny(run, 2);
  const CommandResult other = testing::run_revnmt("memory " + tiny_recipe("gru") + sets(run) +
                                                  " --model " + run + "/model.rnmt");
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("model.cell is revgru in this model file but gru in the recipe"),
            std::string::npos)
      << other.err;
}

TEST(ReportCli, ReportsATinyRealRun) {
  TempDir dir;
  const std::string run = dir.file("run");
  train_tiny(run, 12);
  const CommandResult memory =
      testing::run_revnmt("memory " + tiny_recipe() + sets(run) + " -q --model " + run +
                          "/model.best.rnmt --json " + run + "/memory.json");
  ASSERT_EQ(memory.exit_code, 0) << memory.err;

  const CommandResult r = testing::run_revnmt("report " + run);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char* name : {"report.html", "perplexity.svg", "validation_bleu.svg",
                           "memory_bits.svg", "memory_bytes.svg", "memory_ratio.svg"}) {
    const std::string path = run + "/report/" + name;
    ASSERT_TRUE(file_exists(path)) << path;
    EXPECT_NE(r.out.find("wrote " + path), std::string::npos) << r.out;
    const std::string text = testing::read_text(path);
    if (std::string(name) == "report.html")
      EXPECT_NO_THROW(testing::parse_html(text)) << name;
    else
      EXPECT_NO_THROW(testing::parse_xml(text)) << name;
  }
  const std::string page = testing::read_text(run + "/report/report.html");
  const auto html = testing::parse_html(page);
  // 12 updates logged every 4, validated at every epoch end (5 updates) and at the end.
  const auto ppl = testing::parse_xml(testing::read_text(run + "/report/perplexity.svg"));
  const auto train = ppl->find_all("g", "data-series", "training");
  ASSERT_EQ(train.size(), 1u);
  EXPECT_EQ(train[0]->find_all("polyline").size(), 1u);
  EXPECT_EQ(ppl->find_all("g", "data-series", "validation")[0]->find_all("circle").size(), 3u);
  EXPECT_NE(page.find("revgru, 1 layer, emb 32, hidden 64, context slice_emb (slice 8)"),
            std::string::npos);
  EXPECT_NE(page.find("memory.json: sums over the first 5 training batches"), std::string::npos);
  EXPECT_NE(page.find("BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:"),
            std::string::npos);
  EXPECT_NE(page.find("scores.json is missing"), std::string::npos);  // not written here
  EXPECT_EQ(html->find_all("svg").size(), 5u);

  // -o elsewhere; rerunning overwrites.
  const CommandResult other =
      testing::run_revnmt("report " + run + " -o " + dir.file("out") + " -q");
  ASSERT_EQ(other.exit_code, 0) << other.err;
  EXPECT_EQ(other.out, "");
  EXPECT_EQ(testing::read_text(dir.file("out/report.html")), page);
}

TEST(ReportCli, Errors) {
  TempDir dir;
  CommandResult r = testing::run_revnmt("report");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("revnmt report: error: "), std::string::npos);
  r = testing::run_revnmt("report " + dir.file("missing"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("missing: not a run directory (no such directory)"), std::string::npos)
      << r.err;
  testing::write_text(dir.file("file"), "x");
  r = testing::run_revnmt("report " + dir.file("file"));
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("not a directory"), std::string::npos) << r.err;
  // An empty run directory still gets a page (with notes).
  make_directories(dir.file("empty"));
  r = testing::run_revnmt("report " + dir.file("empty") + " -q");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(file_exists(dir.file("empty/report/report.html")));
  // The output directory cannot be created.
  r = testing::run_revnmt("report " + dir.file("empty") + " -o " + dir.file("file") + "/sub");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("revnmt report: error: "), std::string::npos) << r.err;
}

// The Multi30K script on the tiny recipe and fixtures (valid as the "test set"), started from
// another directory; a second run resumes (nothing left to train) and redoes the later steps.
TEST(RunScript, TinyEndToEndAndIdempotent) {
  TempDir dir;
  const std::string run = dir.file("run");
  const std::string command = "cd " + dir.path() + " && REVNMT=" + testing::revnmt_binary() +
                              " bash " + testing::source_dir() + "/recipes/multi30k/run.sh " +
                              tiny_recipe() + " " + fixtures() + " --set run_dir=" + run +
                              " --set data.test_src=valid.en --set data.test_tgt=valid.de"
                              " --set train.max_updates=15 --set train.log_every=5";
  const CommandResult first = run_shell(command);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  for (const char* label : {"Test scores", "BLEU (cased):", "chrF:", "case:lc",
                            "actual ratio (baseline / held)", "paper's actual ratio", "Report: "})
    EXPECT_NE(first.out.find(label), std::string::npos) << label << "\n" << first.out;
  for (const char* name : {"model.best.rnmt", "scores.json", "scores.txt", "memory.json",
                           "memory.txt", "test/valid.hyp", "test/valid.ref", "report/report.html"})
    EXPECT_TRUE(file_exists(run + "/" + name)) << name;

  const JsonValue scores = parse_json(testing::read_text(run + "/scores.json"), "scores.json");
  EXPECT_EQ(scores.string_at("test_set"), "valid");
  EXPECT_EQ(scores.number_at("beam"), 5.0);
  EXPECT_EQ(scores.find("bleu")->string_at("name"), "BLEU");
  EXPECT_NE(scores.find("bleu")->string_at("signature").find("case:mixed"), std::string::npos);
  EXPECT_EQ(scores.find("chrf")->string_at("name"), "chrF2");
  EXPECT_NE(scores.find("bleu_lowercased")->string_at("signature").find("case:lc"),
            std::string::npos);
  EXPECT_EQ(testing::read_text(run + "/test/valid.ref"),
            testing::read_text(fixtures() + "/valid.de"));
  const JsonValue memory = parse_json(testing::read_text(run + "/memory.json"), "memory.json");
  EXPECT_NE(memory.string_at("parameters").find("model.best.rnmt"), std::string::npos);
  const std::string page = testing::read_text(run + "/report/report.html");
  EXPECT_NE(page.find("lowercased (for comparison with the paper&#39;s tokenized-lowercased "
                      "numbers)"),
            std::string::npos);
  EXPECT_EQ(page.find("scores.json is missing"), std::string::npos);
  EXPECT_EQ(page.find("memory.json is missing"), std::string::npos);

  const CommandResult second = run_shell(command);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("Training had already finished"), std::string::npos) << second.err;
  EXPECT_EQ(testing::read_text(run + "/scores.json"), testing::read_text(run + "/scores.json"));
  EXPECT_EQ(testing::read_text(run + "/report/report.html"), page);  // same inputs, same page

  const CommandResult bad =
      run_shell("bash " + testing::source_dir() + "/recipes/multi30k/run.sh no-such-recipe");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("run.sh: error: no recipe 'no-such-recipe'"), std::string::npos);
}

}  // namespace
}  // namespace revnmt::report
