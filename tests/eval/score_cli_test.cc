// End-to-end tests of `revnmt score` through the built binary.

#include <gtest/gtest.h>

#include <string>

#include "tests/support/test_support.h"

namespace revnmt {
namespace {

using testing::run_revnmt;
using testing::TempDir;
using testing::write_text;

constexpr const char* kBleuLine =
    "BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 48.53 "
    "82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)";

// sacreBLEU's README example as files in a temporary directory.
class ScoreCli : public ::testing::Test {
 protected:
  void SetUp() override {
    write_text(ref1(), "The dog bit the man.\nIt was not unexpected.\nThe man bit him first.\n");
    write_text(ref2(),
               "The dog had bit the man.\nNo one was surprised.\nThe man had bitten the dog.\n");
    write_text(hyp(), hyp_text());
  }
  static std::string hyp_text() {
    return "The dog bit the man.\nIt wasn't surprising.\nThe man had just bitten him.\n";
  }
  std::string ref1() const { return dir_.file("ref.0"); }
  std::string ref2() const { return dir_.file("ref.1"); }
  std::string hyp() const { return dir_.file("hyp.txt"); }
  std::string refs() const { return "--ref " + ref1() + " -r " + ref2(); }

  TempDir dir_;
};

TEST_F(ScoreCli, TextOutputMatchesSacrebleuExactly) {
  const auto result = run_revnmt("score " + refs() + " " + hyp());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, std::string(kBleuLine) + "\n");
  EXPECT_EQ(result.err, "");
}

TEST_F(ScoreCli, ReadsTheHypothesisFromStandardInput) {
  const auto from_stdin = run_revnmt("score " + refs(), hyp_text());
  ASSERT_EQ(from_stdin.exit_code, 0) << from_stdin.err;
  EXPECT_EQ(from_stdin.out, std::string(kBleuLine) + "\n");
  const auto dash = run_revnmt("score " + refs() + " -", hyp_text());
  EXPECT_EQ(dash.out, from_stdin.out);
}

TEST_F(ScoreCli, CarriageReturnsAndMissingFinalNewlineDoNotMatter) {
  write_text(hyp(),
             "The dog bit the man.\r\nIt wasn't surprising.\r\nThe man had just bitten him.");
  const auto result = run_revnmt("score " + refs() + " " + hyp());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, std::string(kBleuLine) + "\n");
}

TEST_F(ScoreCli, JsonOutputHasSacrebleusFields) {
  const auto result = run_revnmt("score --format json " + refs() + " " + hyp());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const std::string& out = result.out;
  EXPECT_EQ(out.front(), '{');
  EXPECT_EQ(out.substr(out.size() - 2), "}\n");
  for (const char* field :
       {"\"name\": \"BLEU\"", "\"score\": 48.53",
        "\"signature\": \"nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0\"",
        "\"verbose_score\": \"82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 "
        "ref_len = 18)\"",
        "\"nrefs\": \"2\"", "\"case\": \"mixed\"", "\"eff\": \"no\"", "\"tok\": \"13a\"",
        "\"smooth\": \"exp\"", "\"version\": \"2.6.0\""})
    EXPECT_NE(out.find(field), std::string::npos) << field << " missing from\n" << out;
}

TEST_F(ScoreCli, SeveralMetricsPrintOneAlignedLineEach) {
  const auto repeated = run_revnmt("score --metric chrf --metric bleu " + refs() + " " + hyp());
  ASSERT_EQ(repeated.exit_code, 0) << repeated.err;
  const std::string chrf_prefix =
      "chrF2|nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = ";
  // BLEU first (sacreBLEU sorts metrics), padded so that both '=' line up.
  ASSERT_EQ(repeated.out.rfind("  " + std::string(kBleuLine) + "\n" + chrf_prefix, 0), 0u)
      << repeated.out;
  const auto list = run_revnmt("score -m bleu,chrf " + refs() + " " + hyp());
  EXPECT_EQ(list.out, repeated.out);
  const auto json = run_revnmt("score -m bleu,chrf -f json " + refs() + " " + hyp());
  EXPECT_EQ(json.out.rfind("[\n{\n", 0), 0u) << json.out;
  EXPECT_NE(json.out.find("\"name\": \"chrF2\""), std::string::npos);
}

TEST_F(ScoreCli, ScoreOnlyWidthAndOptions) {
  EXPECT_EQ(run_revnmt("score -b " + refs() + " " + hyp()).out, "48.53\n");
  EXPECT_EQ(run_revnmt("score --score-only --width 4 " + refs() + " " + hyp()).out, "48.5308\n");
  EXPECT_EQ(run_revnmt("score -b --tokenize none " + refs() + " " + hyp()).out, "49.19\n");
  EXPECT_EQ(run_revnmt("score -b -tok intl " + refs() + " " + hyp()).out, "43.92\n");
  const auto floor =
      run_revnmt("score -lc --smooth floor --smooth-value 0.5 " + refs() + " " + hyp());
  EXPECT_NE(floor.out.find("|case:lc|eff:no|tok:13a|smooth:floor[0.50]|"), std::string::npos)
      << floor.out << floor.err;
}

TEST_F(ScoreCli, SentenceLevelPrintsOneLinePerSegment) {
  const auto result = run_revnmt("score --sentence " + refs() + " " + hyp());
  ASSERT_EQ(result.exit_code, 0) << result.err;
  size_t lines = 0;
  for (char c : result.out) lines += c == '\n';
  EXPECT_EQ(lines, 3u);
  EXPECT_EQ(result.out.rfind("BLEU|nrefs:2|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0 = "
                             "100.00 100.0/100.0/100.0/100.0",
                             0),
            0u)
      << result.out;
  EXPECT_NE(run_revnmt("score --sentence -m bleu,chrf " + refs() + " " + hyp()).exit_code, 0);
}

TEST_F(ScoreCli, LineCountMismatchIsAOneLineErrorNamingBothFiles) {
  const std::string short_ref = dir_.file("short.ref");
  write_text(short_ref, "only one line\nand two\n");
  const auto result = run_revnmt("score -r " + short_ref + " " + hyp());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_EQ(result.out, "");
  EXPECT_EQ(result.err, "revnmt score: error: line count mismatch: hypothesis " + hyp() +
                            " has 3 lines but reference " + short_ref + " has 2 lines\n");
}

TEST_F(ScoreCli, MissingOrDirectoryFilesAreErrorsNamingThePath) {
  const std::string missing = dir_.file("no-such-ref.txt");
  const auto no_ref = run_revnmt("score -r " + missing + " " + hyp());
  EXPECT_EQ(no_ref.exit_code, 1);
  EXPECT_NE(no_ref.err.find(missing), std::string::npos) << no_ref.err;
  EXPECT_EQ(no_ref.err.find('\n'), no_ref.err.size() - 1) << "not one line: " << no_ref.err;

  const auto no_hyp = run_revnmt("score -r " + ref1() + " " + dir_.file("no-such-hyp.txt"));
  EXPECT_EQ(no_hyp.exit_code, 1);
  EXPECT_NE(no_hyp.err.find("no-such-hyp.txt"), std::string::npos) << no_hyp.err;

  const auto directory = run_revnmt("score -r " + dir_.path() + " " + hyp());
  EXPECT_EQ(directory.exit_code, 1);
  EXPECT_NE(directory.err.find("directory"), std::string::npos) << directory.err;
}

TEST_F(ScoreCli, EmptyReferenceLineIsAnErrorNamingFileAndLine) {
  const std::string ref = dir_.file("gap.ref");
  write_text(ref, "a\n\nc\n");
  const auto result = run_revnmt("score -r " + ref + " " + hyp());
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.err.find(ref + ":2: empty reference line"), std::string::npos) << result.err;
}

TEST_F(ScoreCli, UsageErrors) {
  EXPECT_EQ(run_revnmt("score " + hyp()).exit_code, 2);  // --ref is required
  EXPECT_EQ(run_revnmt("score -m ter " + refs() + " " + hyp()).exit_code, 2);
  EXPECT_EQ(run_revnmt("score --format xml " + refs() + " " + hyp()).exit_code, 2);
  const auto tokenizer = run_revnmt("score --tokenize moses " + refs() + " " + hyp());
  EXPECT_NE(tokenizer.exit_code, 0);
  EXPECT_NE(tokenizer.err.find("13a, none, intl, char"), std::string::npos) << tokenizer.err;
  EXPECT_EQ(run_revnmt("score --help").exit_code, 0);
}

TEST_F(ScoreCli, InvalidUtf8DoesNotCrash) {
  write_text(hyp(), "caf\xE9 au lait\n\xFF\xFE\nok\n");
  const auto result = run_revnmt("score -m bleu,chrf -r " + ref1() + " " + hyp());
  EXPECT_EQ(result.exit_code, 0) << result.err;
}

}  // namespace
}  // namespace revnmt
