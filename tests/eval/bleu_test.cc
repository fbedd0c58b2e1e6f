#include "nmt/eval/bleu.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nmt/core/error.h"
#include "nmt/eval/score_report.h"

namespace revnmt::eval {
namespace {

using Strings = std::vector<std::string>;
using Streams = std::vector<Strings>;

// sacreBLEU's test/test_bleu.py README example: two reference streams.
const Streams kRefs = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."},
};
const Strings kHyps = {"The dog bit the man.", "It wasn't surprising.",
                       "The man had just bitten him."};

BleuOptions with_tokenizer(Tokenizer tokenizer) {
  BleuOptions options;
  options.tokenizer = tokenizer;
  return options;
}

// sacreBLEU's compat raw_corpus_bleu: no tokenization, floor smoothing, effective order.
BleuScore raw_corpus_bleu(const Strings& hyps, const Streams& refs, std::optional<double> floor) {
  BleuOptions options;
  options.tokenizer = Tokenizer::kNone;
  options.smooth_method = SmoothMethod::kFloor;
  options.smooth_value = floor;
  options.effective_order = true;
  return corpus_bleu(hyps, refs, options);
}

TEST(Bleu, CorpusVectorsFromSacrebleuSuite) {
  constexpr double kEps = 1e-8;  // test_bleu.py's EPSILON
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs).score, 48.530827, kEps);
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs, with_tokenizer(Tokenizer::k13a)).score, 48.530827, kEps);
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs, with_tokenizer(Tokenizer::kNone)).score, 49.1919566, kEps);
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs, with_tokenizer(Tokenizer::kIntl)).score, 43.91623493, kEps);
  BleuOptions no_smoothing;
  no_smoothing.smooth_method = SmoothMethod::kNone;
  EXPECT_NEAR(corpus_bleu(kHyps, kRefs, no_smoothing).score, 48.530827, kEps);
}

TEST(Bleu, EmptyHypothesesAreKeptAndScoreZero) {
  const BleuScore score = corpus_bleu({"", "", ""}, kRefs);
  EXPECT_EQ(score.score, 0.0);
  EXPECT_EQ(score.sys_len, 0);
  EXPECT_EQ(score.ref_len, 17);  // the shortest reference of each segment: 6 + 5 + 6
  EXPECT_EQ(score.bp, 0.0);
}

TEST(Bleu, MaxNgramOrderVectors) {
  const char* expected[] = {"77.65", "60.50", "53.93", "48.53", "46.14", "43.28"};
  for (int order = 1; order <= 6; ++order) {
    BleuOptions options;
    options.max_ngram_order = order;
    const BleuScore score = corpus_bleu(kHyps, kRefs, options);
    EXPECT_EQ(format_fixed(score.score, 2), expected[order - 1]) << "order " << order;
    EXPECT_EQ(score.precisions.size(), static_cast<size_t>(order));
  }
}

TEST(Bleu, ReadmeVerboseLineAndSignature) {
  const BleuScore score = corpus_bleu(kHyps, kRefs);
  EXPECT_EQ(score.signature(), "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
  EXPECT_EQ(score.signature(/*short_form=*/true), "#:2|c:mixed|e:no|tok:13a|s:exp|v:2.6.0");
  EXPECT_EQ(score.format(),
            "BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 48.53 "
            "82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
  EXPECT_EQ(score.format(2, /*score_only=*/true), "48.53");
  EXPECT_EQ(score.format(4, true), "48.5308");
}

TEST(Bleu, SmokeVectorTheCatSatOnTheMat) {
  const BleuScore score = corpus_bleu({"the cat sat on the mat"}, {{"the cat is on the mat"}});
  ScoreReport report = score.report();
  report.signature.clear();  // sacreBLEU's str(score) has no signature
  EXPECT_EQ(report.to_text(),
            "BLEU = 37.99 83.3/60.0/25.0/16.7 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)");
  EXPECT_EQ(score.counts, (std::vector<int64_t>{5, 3, 1, 0}));
  EXPECT_EQ(score.totals, (std::vector<int64_t>{6, 5, 4, 3}));
}

TEST(Bleu, RawCorpusBleuVectors) {
  constexpr double kEps = 1e-8;
  EXPECT_NEAR(raw_corpus_bleu({"this is a test"}, {{"this is a test"}}, 0.01).score / 100, 1.0,
              kEps);
  EXPECT_NEAR(raw_corpus_bleu({"this is a fest"}, {{"this is a test"}}, 0.01).score / 100,
              0.223606797749979, kEps);
  // No n-gram matches at all: 0 whatever the smoothing (sacreBLEU #141).
  EXPECT_EQ(raw_corpus_bleu({"this is a test", "another test"}, {{"ref1", "ref2"}}, 0.01).score,
            0.0);
}

TEST(Bleu, EffectiveOrderVectors) {
  constexpr double kEps = 1e-8;
  EXPECT_NEAR(raw_corpus_bleu({"test"}, {{"a test"}}, 0.01).score / 100, 0.3678794411714425, kEps);
  EXPECT_NEAR(raw_corpus_bleu({"a test"}, {{"a test"}}, 0.01).score / 100, 1.0, kEps);
  EXPECT_NEAR(raw_corpus_bleu({"a little test"}, {{"a test"}}, 0.01).score / 100,
              0.03218297948685433, kEps);
}

TEST(Bleu, StatisticsAndFloorOffset) {
  const Strings hyp = {"am I am a character sequence"};
  const Streams ref = {{"I am a symbol string sequence a a"}};
  const BleuScore stats = raw_corpus_bleu(hyp, ref, 0.01);
  EXPECT_EQ(stats.counts, (std::vector<int64_t>{4, 2, 1, 0}));
  EXPECT_EQ(stats.totals, (std::vector<int64_t>{6, 5, 4, 3}));
  EXPECT_NEAR(raw_corpus_bleu(hyp, ref, std::nullopt).score / 100, 0.1555722182, 1e-8);
  EXPECT_NEAR(raw_corpus_bleu(hyp, ref, 0.1).score / 100, 0.1555722182, 1e-8);
  EXPECT_EQ(raw_corpus_bleu(hyp, ref, 0.0).score, 0.0);
}

BleuStats make_stats(std::vector<int64_t> correct, std::vector<int64_t> total, int64_t sys_len,
                     int64_t ref_len) {
  BleuStats stats(static_cast<int>(correct.size()));
  stats.correct = std::move(correct);
  stats.total = std::move(total);
  stats.sys_len = sys_len;
  stats.ref_len = ref_len;
  return stats;
}

TEST(Bleu, ComputeBleuFromCounts) {
  BleuOptions options;
  options.smooth_method = SmoothMethod::kNone;  // compute_bleu's default
  const BleuScore score = compute_bleu(make_stats({9, 7, 5, 3}, {10, 8, 6, 4}, 11, 11), options);
  EXPECT_NEAR(score.score / 100, 0.8375922397, 1e-8);
}

TEST(Bleu, DegenerateStatisticsScoreExactlyZero) {
  struct Case {
    std::vector<int64_t> correct, total;
    int64_t sys_len, ref_len;
    double floor;
  };
  const Case cases[] = {
      {{0, 0, 0, 0}, {4, 4, 2, 1}, 0, 1, 0.0}, {{0, 0, 0, 0}, {10, 11, 12, 0}, 14, 10, 0.0},
      {{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 0.0}, {{6, 5, 4, 0}, {6, 5, 4, 3}, 6, 6, 0.0},
      {{0, 0, 0, 0}, {0, 0, 0, 0}, 0, 0, 0.1}, {{0, 0, 0, 0}, {0, 0, 0, 0}, 1, 5, 0.01},
  };
  for (const Case& c : cases) {
    BleuOptions options;
    options.smooth_method = SmoothMethod::kFloor;
    options.smooth_value = c.floor;
    EXPECT_EQ(compute_bleu(make_stats(c.correct, c.total, c.sys_len, c.ref_len), options).score,
              0.0);
  }
}

TEST(Bleu, ClosestReferenceLengthPrefersTheShorterOnTies) {
  // Hypothesis of 3 tokens, references of 2 and 4: both 1 away, the shorter one counts.
  const BleuScore score = corpus_bleu({"a b c"}, {{"a b"}, {"a b c d"}});
  EXPECT_EQ(score.ref_len, 2);
  const BleuScore longer_first = corpus_bleu({"a b c"}, {{"a b c d"}, {"a b"}});
  EXPECT_EQ(longer_first.ref_len, 2);
  const BleuScore exact = corpus_bleu({"a b c"}, {{"a b"}, {"x y z"}});
  EXPECT_EQ(exact.ref_len, 3);
}

TEST(Bleu, ReferenceCountsAreMergedByMax) {
  BleuOptions options;
  options.tokenizer = Tokenizer::kNone;
  // "a" appears once in ref 1 and twice in ref 2: three hypothesis "a"s get 2 matches.
  const BleuScore score = corpus_bleu({"a a a"}, {{"a b"}, {"a a c"}}, options);
  EXPECT_EQ(score.counts[0], 2);
  EXPECT_EQ(score.totals[0], 3);
  EXPECT_EQ(score.counts[1], 1);  // "a a"
}

TEST(Bleu, CorpusStatisticsAreSumsOfSegmentStatistics) {
  BleuOptions options;
  BleuStats sum(4);
  for (size_t i = 0; i < kHyps.size(); ++i)
    sum += bleu_segment_stats(kHyps[i], {kRefs[0][i], kRefs[1][i]}, options);
  const BleuScore corpus = corpus_bleu(kHyps, kRefs, options);
  EXPECT_EQ(sum.correct, corpus.counts);
  EXPECT_EQ(sum.total, corpus.totals);
  EXPECT_EQ(sum.sys_len, corpus.sys_len);
  EXPECT_EQ(sum.ref_len, corpus.ref_len);
  EXPECT_EQ(compute_bleu(sum, options, 2).score, corpus.score);
}

TEST(Bleu, VariableReferenceCountAndEmptyReferences) {
  // An empty reference is skipped for its segment: the count varies -> nrefs:var.
  const BleuScore score =
      corpus_bleu({"a b c d", "e f g h"}, {{"a b c d", "e f g h"}, {"a b c d", ""}});
  EXPECT_EQ(score.num_refs, kVariableRefs);
  EXPECT_EQ(score.signature(), "nrefs:var|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0");
  EXPECT_NEAR(score.score, 100.0, 1e-9);
  // A segment without any non-empty reference is an input error, as in sacreBLEU.
  EXPECT_THROW(corpus_bleu({"a"}, {{""}}), InputError);
  EXPECT_THROW(corpus_bleu({"a", "b"}, {{"a"}}), InputError);  // stream length mismatch
  EXPECT_THROW(corpus_bleu({"a"}, {}), InputError);
}

TEST(Bleu, SmoothingSignatures) {
  BleuOptions options;
  options.smooth_method = SmoothMethod::kFloor;
  EXPECT_EQ(corpus_bleu(kHyps, kRefs, options).signature(),
            "nrefs:2|case:mixed|eff:no|tok:13a|smooth:floor[0.10]|version:2.6.0");
  options.smooth_value = 0.5;
  EXPECT_EQ(corpus_bleu(kHyps, kRefs, options).signature(),
            "nrefs:2|case:mixed|eff:no|tok:13a|smooth:floor[0.50]|version:2.6.0");
  options.smooth_method = SmoothMethod::kAddK;
  options.smooth_value.reset();
  options.lowercase = true;
  options.tokenizer = Tokenizer::kIntl;
  EXPECT_EQ(corpus_bleu(kHyps, kRefs, options).signature(),
            "nrefs:2|case:lc|eff:no|tok:intl|smooth:add-k[1.00]|version:2.6.0");
  options.smooth_method = SmoothMethod::kNone;
  options.smooth_value = 3.0;  // ignored by methods without a value, as in sacreBLEU
  EXPECT_EQ(corpus_bleu(kHyps, kRefs, options).signature(),
            "nrefs:2|case:lc|eff:no|tok:intl|smooth:none|version:2.6.0");
  EXPECT_THROW(parse_smooth_method("linear"), InputError);
  EXPECT_EQ(parse_smooth_method("add-k"), SmoothMethod::kAddK);
}

TEST(Bleu, LowercaseMatchesAcrossCase) {
  BleuOptions options;
  const double cased = corpus_bleu({"THE CAT SAT DOWN"}, {{"the cat sat down"}}, options).score;
  options.lowercase = true;
  const double lowered = corpus_bleu({"THE CAT SAT DOWN"}, {{"the cat sat down"}}, options).score;
  EXPECT_EQ(cased, 0.0);
  EXPECT_NEAR(lowered, 100.0, 1e-9);
}

TEST(Bleu, PreprocessingStripsTrailingWhitespaceBeforeTokenizing) {
  BleuOptions options;
  // rstrip first: "-\n" at the very end is not a line-break hyphen to join.
  EXPECT_EQ(bleu_tokens("foo-\n", options), (Strings{"foo-"}));
  EXPECT_EQ(bleu_tokens("Hello, world!\r\n", options), (Strings{"Hello", ",", "world", "!"}));
  options.tokenizer = Tokenizer::kNone;
  EXPECT_EQ(bleu_tokens("a\xC2\xA0"
                        "b  c ",
                        options),
            (Strings{"a", "b", "c"}));
  options.tokenizer = Tokenizer::kChar;
  EXPECT_EQ(bleu_tokens("ab c", options), (Strings{"a", "b", "c"}));
}

TEST(Bleu, InvalidUtf8IsScoredAsReplacementCharacters) {
  const BleuScore bad = corpus_bleu({"caf\xE9 au lait ok"}, {{"caf\xEF\xBF\xBD au lait ok"}});
  EXPECT_NEAR(bad.score, 100.0, 1e-9);
  EXPECT_NO_THROW(corpus_bleu({"\xFF\xFE\xC3"}, {{"\x80"}}));
}

TEST(Bleu, OptionsAreValidated) {
  BleuOptions options;
  options.max_ngram_order = 0;
  EXPECT_THROW(corpus_bleu(kHyps, kRefs, options), InputError);
}

// test_sentence_bleu.py: sentence_score with effective_order=True, EPSILON 1e-3.
const char* kSentenceRef = "producţia de zahăr brut se exprimă în zahăr alb;";
const char* kSentenceSys =
    "Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;";

double sentence_score(SmoothMethod method, std::optional<double> value, bool lowercase,
                      Tokenizer tokenizer, const std::string& sys = kSentenceSys,
                      const std::string& ref = kSentenceRef) {
  BleuOptions options;
  options.smooth_method = method;
  options.smooth_value = value;
  options.lowercase = lowercase;
  options.tokenizer = tokenizer;
  return sentence_bleu(sys, {ref}, options).score;
}

TEST(SentenceBleu, SmoothingVectors) {
  constexpr double kEps = 1e-3;
  EXPECT_NEAR(sentence_score(SmoothMethod::kExp, {}, false, Tokenizer::k13a), 8.493, kEps);
  EXPECT_NEAR(sentence_score(SmoothMethod::kNone, {}, false, Tokenizer::k13a), 0.0, kEps);
  EXPECT_NEAR(sentence_score(SmoothMethod::kFloor, {}, false, Tokenizer::k13a), 4.51688, kEps);
  EXPECT_NEAR(sentence_score(SmoothMethod::kFloor, 0.1, false, Tokenizer::k13a), 4.51688, kEps);
  EXPECT_NEAR(sentence_score(SmoothMethod::kFloor, 0.5, false, Tokenizer::k13a), 10.10, kEps);
  EXPECT_NEAR(sentence_score(SmoothMethod::kAddK, {}, false, Tokenizer::k13a), 14.882, kEps);
  EXPECT_NEAR(sentence_score(SmoothMethod::kAddK, 1, false, Tokenizer::k13a), 14.882, kEps);
  EXPECT_NEAR(sentence_score(SmoothMethod::kAddK, 2, false, Tokenizer::k13a), 21.389, kEps);
}

TEST(SentenceBleu, TokenizerAndCaseVectors) {
  constexpr double kEps = 1e-3;
  EXPECT_NEAR(sentence_score(SmoothMethod::kExp, {}, false, Tokenizer::kNone), 7.347, kEps);
  EXPECT_NEAR(sentence_score(SmoothMethod::kExp, {}, false, Tokenizer::kIntl), 8.493, kEps);
  EXPECT_NEAR(sentence_score(SmoothMethod::kExp, {}, false, Tokenizer::kChar), 40.8759, kEps);
  EXPECT_NEAR(sentence_score(SmoothMethod::kExp, {}, true, Tokenizer::kChar), 42.0267, kEps);
}

TEST(SentenceBleu, NoMatchesScoreZeroWhateverTheSmoothing) {
  for (SmoothMethod method :
       {SmoothMethod::kExp, SmoothMethod::kNone, SmoothMethod::kFloor, SmoothMethod::kAddK})
    EXPECT_EQ(sentence_score(method, {}, false, Tokenizer::k13a, "this is a cat", "okay thanks"),
              0.0);
}

TEST(SentenceBleu, UsesEffectiveOrder) {
  const BleuScore score = sentence_bleu("a test", {"a test"});
  EXPECT_TRUE(score.options.effective_order);
  EXPECT_NEAR(score.score, 100.0, 1e-9);  // only orders 1-2 exist: no smoothing penalty
  EXPECT_EQ(score.signature(), "nrefs:1|case:mixed|eff:yes|tok:13a|smooth:exp|version:2.6.0");
  EXPECT_EQ(sentence_bleu("a", {"a", "", "b"}).num_refs, 2);  // empty references do not count
}

}  // namespace
}  // namespace revnmt::eval
