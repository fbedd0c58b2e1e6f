#include "nmt/eval/score_report.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace revnmt::eval {
namespace {

TEST(ScoreReport, FixedFormattingRoundsLikePython) {
  EXPECT_EQ(format_fixed(48.530827, 2), "48.53");
  EXPECT_EQ(format_fixed(0.125, 2), "0.12");  // exact tie: half to even
  EXPECT_EQ(format_fixed(0.375, 2), "0.38");
  EXPECT_EQ(format_fixed(2.675, 2), "2.67");  // 2.675 is 2.67499999... in binary
  EXPECT_EQ(format_fixed(99.995, 2), "100.00");
  EXPECT_EQ(format_fixed(0.0, 3), "0.000");
  EXPECT_EQ(format_fixed(37.5, 0), "38");
}

TEST(ScoreReport, FloatReprLikePython) {
  EXPECT_EQ(python_float_repr(48.53), "48.53");
  EXPECT_EQ(python_float_repr(0.0), "0.0");
  EXPECT_EQ(python_float_repr(100.0), "100.0");
  EXPECT_EQ(python_float_repr(0.1), "0.1");
  EXPECT_EQ(python_float_repr(0.0001), "0.0001");
  EXPECT_EQ(python_float_repr(0.00001), "1e-05");
  EXPECT_EQ(python_float_repr(2.5e-07), "2.5e-07");
  EXPECT_EQ(python_float_repr(123.456), "123.456");
  EXPECT_EQ(python_float_repr(1e16), "1e+16");
  EXPECT_EQ(python_float_repr(1234567890123456.0), "1234567890123456.0");
  EXPECT_EQ(python_float_repr(-3.5), "-3.5");
}

ScoreReport bleu_report() {
  ScoreReport report;
  report.name = "BLEU";
  report.score = 48.530827;
  report.verbose = "82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)";
  report.signature = {{"nrefs", "#", "2"},   {"case", "c", "mixed"}, {"eff", "e", "no"},
                      {"tok", "tok", "13a"}, {"smooth", "s", "exp"}, {"version", "v", "2.6.0"}};
  return report;
}

TEST(ScoreReport, TextLine) {
  const ScoreReport report = bleu_report();
  EXPECT_EQ(report.to_text(),
            "BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 48.53 "
            "82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
  EXPECT_EQ(report.to_text(1, false, /*short_signature=*/true),
            "BLEU|#:2|c:mixed|e:no|tok:13a|s:exp|v:2.6.0 = 48.5 "
            "82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
  EXPECT_EQ(report.to_text(3, /*score_only=*/true), "48.531");
}

TEST(ScoreReport, JsonLikeSacrebleu) {
  EXPECT_EQ(bleu_report().to_json(),
            "{\n"
            " \"name\": \"BLEU\",\n"
            " \"score\": 48.53,\n"
            " \"signature\": \"nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0\",\n"
            " \"verbose_score\": \"82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 "
            "ref_len = 18)\",\n"
            " \"nrefs\": \"2\",\n"
            " \"case\": \"mixed\",\n"
            " \"eff\": \"no\",\n"
            " \"tok\": \"13a\",\n"
            " \"smooth\": \"exp\",\n"
            " \"version\": \"2.6.0\"\n"
            "}");
  ScoreReport chrf;
  chrf.name = "chrF2";
  chrf.score = 100.0;
  chrf.signature = {{"nrefs", "#", "1"}, {"version", "v", "2.6.0"}};
  EXPECT_EQ(chrf.to_json(2, /*compact=*/true),
            "{\"name\": \"chrF2\", \"score\": 100.0, \"signature\": \"nrefs:1|version:2.6.0\", "
            "\"nrefs\": \"1\", \"version\": \"2.6.0\"}");
}

TEST(ScoreReport, SeveralMetricsAreAlignedOnTheEqualsSign) {
  EXPECT_EQ(align_text_lines({"BLEU|x:1 = 1.00 more", "chrF2|x:1|y:2 = 2.00"}),
            "     BLEU|x:1 = 1.00 more\n"
            "chrF2|x:1|y:2 = 2.00\n");
  EXPECT_EQ(align_text_lines({"1.00", "2.00"}), "1.00\n2.00\n");  // score-only lines
  EXPECT_EQ(align_text_lines({"only = 1"}), "only = 1\n");
  EXPECT_EQ(join_json_objects({"{}"}), "{}\n");
  EXPECT_EQ(join_json_objects({"{}", "{}"}), "[\n{},\n{}\n]\n");
}

TEST(ScoreReport, NrefsValue) {
  EXPECT_EQ(nrefs_value(1), "1");
  EXPECT_EQ(nrefs_value(kVariableRefs), "var");
}

}  // namespace
}  // namespace revnmt::eval
