#include "nmt/eval/chrf.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "nmt/core/error.h"

namespace revnmt::eval {
namespace {

using Strings = std::vector<std::string>;

ChrfOptions beta3(bool eps_smoothing, bool whitespace = false) {
  ChrfOptions options;
  options.char_order = 6;
  options.word_order = 0;
  options.beta = 3;
  options.eps_smoothing = eps_smoothing;
  options.whitespace = whitespace;
  return options;
}

struct Vector {
  Strings hyps, refs;
  double expected;
};

// test_chrf.py test_cases: corpus_chrf(hyps, [refs], char_order=6, word_order=0, beta=3,
// eps_smoothing=True), EPSILON 1e-4.
TEST(Chrf, EpsilonSmoothingVectors) {
  const Vector vectors[] = {
      {{"abcdefg"}, {"hijklmnop"}, 0.0},
      {{"a"}, {"b"}, 0.0},
      {{""}, {"b"}, 0.0},
      {{""}, {"ref"}, 0.0},
      {{""}, {"reference"}, 0.0},
      {{"aa"}, {"ab"}, 8.3333},
      {{"a", "b"}, {"a", "c"}, 8.3333},
      {{"a"}, {"a"}, 16.6667},
      {{"a b c"}, {"a b c"}, 50.0},
      {{"a b c"}, {"abc"}, 50.0},
      {{" risk assessment must be made of those who are qualified and expertise in the sector - "
        "these are the scientists ."},
       {"risk assessment has to be undertaken by those who are qualified and expert in that area "
        "- that is the scientists ."},
       63.361730},
      {{" Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. "},
       {"Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."},
       64.1302698},
      {{"Niemand hat die Absicht, eine Mauer zu errichten"},
       {"Niemand hat die Absicht, eine Mauer zu errichten"},
       100.0},
  };
  for (const Vector& v : vectors)
    EXPECT_NEAR(corpus_chrf(v.hyps, {v.refs}, beta3(true)).score, v.expected, 1e-4) << v.hyps[0];
}

// test_cases_effective_order: eps_smoothing=False (sacreBLEU < 2.0 style effective order).
TEST(Chrf, EffectiveOrderVectors) {
  const Vector vectors[] = {
      {{"a"}, {"a"}, 100.0},       {{""}, {"reference"}, 0.0}, {{"a b c"}, {"a b c"}, 100.0},
      {{"a b c"}, {"abc"}, 100.0}, {{""}, {"c"}, 0.0},         {{"a", "b"}, {"a", "c"}, 50.0},
      {{"aa"}, {"ab"}, 25.0},
  };
  for (const Vector& v : vectors)
    EXPECT_NEAR(corpus_chrf(v.hyps, {v.refs}, beta3(false)).score, v.expected, 1e-4) << v.hyps[0];
}

// test_cases_keep_whitespace: remove_whitespace=False, eps_smoothing=False.
TEST(Chrf, KeepWhitespaceVectors) {
  const Vector vectors[] = {
      {{"Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich."},
       {"Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich."},
       67.3481606},
      {{"risk assessment must be made of those who are qualified and expertise in the sector - "
        "these are the scientists ."},
       {"risk assessment has to be undertaken by those who are qualified and expert in that area "
        "- that is the scientists ."},
       65.2414427},
  };
  for (const Vector& v : vectors)
    EXPECT_NEAR(corpus_chrf(v.hyps, {v.refs}, beta3(false, true)).score, v.expected, 1e-4)
        << v.hyps[0];
}

// test_sentence_level_chrf: sentence_chrf(hyp, refs, eps_smoothing=True) with beta 2.
TEST(Chrf, SentenceLevelVectors) {
  ChrfOptions options;
  options.eps_smoothing = true;
  EXPECT_NEAR(sentence_chrf("Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo "
                            "zemře.",
                            {"Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít "
                             "a kdo zemře."},
                            options)
                  .score,
              39.14078509, 1e-4);
  EXPECT_NEAR(sentence_chrf("Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.",
                            {"A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali "
                             "lékaři."},
                            options)
                  .score,
              31.22557079, 1e-4);
  EXPECT_NEAR(sentence_chrf("Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.",
                            {"Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl "
                             "začít, připomněli."},
                            options)
                  .score,
              57.15704367, 1e-4);
}

TEST(Chrf, DefaultsNameAndSignature) {
  const ChrfScore score = corpus_chrf({"a b c"}, {{"a b c"}});
  EXPECT_NEAR(score.score, 100.0, 1e-9);
  EXPECT_EQ(score.name(), "chrF2");
  EXPECT_EQ(score.signature(), "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0");
  EXPECT_EQ(score.signature(true), "#:1|c:mixed|e:yes|nc:6|nw:0|s:no|v:2.6.0");
  EXPECT_EQ(score.format(),
            "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = "
            "100.00");
  ChrfOptions plus;
  plus.word_order = 2;
  plus.lowercase = true;
  plus.eps_smoothing = true;
  plus.whitespace = true;
  const ChrfScore score_plus = corpus_chrf({"a b c"}, {{"a b c"}, {"x"}}, plus);
  EXPECT_EQ(score_plus.name(), "chrF2++");
  EXPECT_EQ(score_plus.signature(), "nrefs:2|case:lc|eff:no|nc:6|nw:2|space:yes|version:2.6.0");
}

TEST(Chrf, WordNgramsForChrfPlusPlus) {
  // Hand-computed: characters a,b,c,d vs a,b,c,e: P = R = 3/4; words {ab, cd} vs {ab, ce}:
  // P = R = 1/2; effective-order average 0.625 -> F = 62.5.
  ChrfOptions options;
  options.char_order = 1;
  options.word_order = 1;
  options.beta = 1;
  EXPECT_NEAR(corpus_chrf({"ab cd"}, {{"ab ce"}}, options).score, 62.5, 1e-9);
}

TEST(Chrf, PunctuationIsSplitOffWordsForChrfPlusPlus) {
  ChrfOptions words_only;
  words_only.char_order = 0;
  words_only.word_order = 1;
  // "(hi)" -> "(hi" ")": only the trailing mark is split off (sacreBLEU #124), so against
  // "( hi )" one of 2 hypothesis words matches one of 3 reference words:
  // P = 1/2, R = 1/3, F2 = 5 * (1/6) / (2 + 1/3) = 5/14.
  EXPECT_NEAR(corpus_chrf({"(hi)"}, {{"( hi )"}}, words_only).score, 500.0 / 14.0, 1e-9);
  EXPECT_NEAR(corpus_chrf({"there,"}, {{"there ,"}}, words_only).score, 100.0, 1e-9);
  // A leading mark is split when there is no trailing one; one-character words stay whole.
  EXPECT_NEAR(corpus_chrf({"\"quote - x"}, {{"\" quote - x"}}, words_only).score, 100.0, 1e-9);
}

TEST(Chrf, BestReferencePerSegment) {
  const ChrfScore score = corpus_chrf({"abc", "xyz"}, {{"uvw", "xyz"}, {"abc", "qrs"}});
  EXPECT_NEAR(score.score, 100.0, 1e-9);
  EXPECT_EQ(score.num_refs, 2);
}

TEST(Chrf, LowercaseAndWhitespaceHandling) {
  ChrfOptions options;
  EXPECT_LT(corpus_chrf({"ABC"}, {{"abc"}}, options).score, 1.0);
  options.lowercase = true;
  EXPECT_NEAR(corpus_chrf({"ABC"}, {{"abc"}}, options).score, 100.0, 1e-9);
  // Unicode whitespace is removed like ASCII whitespace.
  EXPECT_NEAR(corpus_chrf({"a\xC2\xA0"
                           "b\xE3\x80\x80"
                           "c"},
                          {{"abc"}})
                  .score,
              100.0, 1e-9);
}

TEST(Chrf, StatisticsSumOverSegments) {
  ChrfOptions options;
  const Strings hyps = {"Die Katze sitzt.", "Ein Hund bellt laut!"};
  const Strings refs = {"Die Katze saß.", "Der Hund bellt."};
  ChrfStats sum(options);
  for (size_t i = 0; i < hyps.size(); ++i) sum += chrf_segment_stats(hyps[i], {refs[i]}, options);
  EXPECT_EQ(chrf_f_score(sum, options), corpus_chrf(hyps, {refs}, options).score);
  // Characters, not bytes: "ß" is one unigram.
  const ChrfStats stats = chrf_segment_stats("ß", {"ß"}, options);
  EXPECT_EQ(stats.values[0], 1);
  EXPECT_EQ(stats.values[1], 1);
  EXPECT_EQ(stats.values[2], 1);
}

TEST(Chrf, InputErrors) {
  EXPECT_THROW(corpus_chrf({"a"}, {{""}}), InputError);
  EXPECT_THROW(corpus_chrf({"a", "b"}, {{"a"}}), InputError);
  ChrfOptions options;
  options.char_order = 0;
  EXPECT_THROW(corpus_chrf({"a"}, {{"a"}}, options), InputError);
  EXPECT_NO_THROW(corpus_chrf({"\xFF\xFE"}, {{"\xC3"}}));
}

}  // namespace
}  // namespace revnmt::eval
