#include "nmt/data/corpus.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "nmt/core/error.h"
#include "nmt/data/line_reader.h"
#include "tests/data/data_test_util.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

using testing::data_fixture;
using testing::fixture_vocab;
using testing::input_error_of;
using testing::TempDir;
using testing::write_gzip;
using testing::write_text;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

ParallelCorpus load(const std::string& src, const std::string& tgt, int max_length = 0) {
  return ParallelCorpus::load(src, tgt, fixture_vocab(), fixture_vocab(), {max_length});
}

TEST(ParallelCorpus, LoadsTheFixtureAsIds) {
  const ParallelCorpus corpus = load(data_fixture("small.en"), data_fixture("small.de"));
  const auto en = read_lines(data_fixture("small.en"));
  const auto de = read_lines(data_fixture("small.de"));
  ASSERT_EQ(corpus.size(), 160);
  EXPECT_EQ(corpus.stats().lines, 160);
  EXPECT_EQ(corpus.stats().kept, 160);
  int64_t src_tokens = 0;
  for (int64_t i = 0; i < corpus.size(); ++i) {
    EXPECT_EQ(corpus.line_number(i), i + 1);
    EXPECT_EQ(corpus.src(i).to_vector(), fixture_vocab().encode(en[i]));
    EXPECT_EQ(corpus.tgt(i).to_vector(), fixture_vocab().encode(de[i]));
    src_tokens += corpus.src_length(i);
  }
  EXPECT_EQ(corpus.src_tokens(), src_tokens);
  EXPECT_EQ(corpus.tgt_special().eos, fixture_vocab().eos_id());
}

TEST(ParallelCorpus, GzipAndPlainGiveTheSameCorpus) {
  TempDir dir;
  std::string text;
  for (const auto& line : read_lines(data_fixture("small.de"))) text += line + "\n";
  write_gzip(dir.file("de.gz"), text);
  const ParallelCorpus plain = load(data_fixture("small.en"), data_fixture("small.de"));
  const ParallelCorpus packed = load(data_fixture("small.en"), dir.file("de.gz"));
  ASSERT_EQ(plain.size(), packed.size());
  for (int64_t i = 0; i < plain.size(); ++i)
    EXPECT_EQ(plain.tgt(i).to_vector(), packed.tgt(i).to_vector());
}

TEST(ParallelCorpus, SkipsEmptyAndOverlongPairsAndKeepsLineNumbers) {
  TempDir dir;
  const std::string long_text = "A man is walking in the park next to a red car under a tree.";
  write_text(dir.file("s.txt"),
             "A man is walking.\n"  // 1 kept
             "\n"                   // 2 empty source
             "Two dogs.\n"          // 3 empty target
             "   \t\n"              // 4 whitespace only
                 + long_text +
                 "\n"                       // 5 too long on the source side
                 "The child is running.\n"  // 6 too long on the target side
                 "A woman is sitting.\n");  // 7 kept
  write_text(dir.file("t.txt"),
             "Ein Mann geht.\n"
             "Ein Kind.\n"
             "  \n"
             "Leer.\n"
             "Ein Mann.\n" +
                 long_text +
                 "\n"
                 "Eine Frau sitzt.\n");
  // The limit: the longest side of the pairs meant to be kept.
  int max_length = 0;
  for (const char* kept :
       {"A man is walking.", "Ein Mann geht.", "A woman is sitting.", "Eine Frau sitzt."})
    max_length = std::max(max_length, int(fixture_vocab().encode(kept).size()));
  ASSERT_GT(fixture_vocab().encode(long_text).size(), size_t(max_length));
  const ParallelCorpus corpus = load(dir.file("s.txt"), dir.file("t.txt"), max_length);
  EXPECT_EQ(corpus.stats().lines, 7);
  EXPECT_EQ(corpus.stats().empty, 3);
  EXPECT_EQ(corpus.stats().too_long, 2);
  EXPECT_EQ(corpus.stats().kept, 2);
  ASSERT_EQ(corpus.size(), 2);
  EXPECT_EQ(corpus.line_number(0), 1);
  EXPECT_EQ(corpus.line_number(1), 7);
  EXPECT_EQ(corpus.tgt(1).to_vector(), fixture_vocab().encode("Eine Frau sitzt."));

  // No limit: the long pairs stay.
  EXPECT_EQ(load(dir.file("s.txt"), dir.file("t.txt"), 0).stats().kept, 4);
}

TEST(ParallelCorpus, LineCountMismatchNamesBothFiles) {
  TempDir dir;
  write_text(dir.file("five.en"), "a\nb\nc\nd\ne\n");
  write_text(dir.file("four.de"), "a\nb\nc\nd\n");
  const std::string shorter_target =
      input_error_of([&] { load(dir.file("five.en"), dir.file("four.de")); });
  EXPECT_TRUE(contains(shorter_target, "line-count mismatch")) << shorter_target;
  EXPECT_TRUE(contains(shorter_target, dir.file("four.de") + " ends after line 4"))
      << shorter_target;
  EXPECT_TRUE(contains(shorter_target, dir.file("five.en") + " continues at line 5"))
      << shorter_target;

  const std::string shorter_source =
      input_error_of([&] { load(dir.file("four.de"), dir.file("five.en")); });
  EXPECT_TRUE(contains(shorter_source, dir.file("four.de") + " ends after line 4"))
      << shorter_source;
}

TEST(ParallelCorpus, InputErrors) {
  TempDir dir;
  write_text(dir.file("empty.txt"), "");
  write_text(dir.file("one.txt"), "A man.\n");
  EXPECT_TRUE(contains(input_error_of([&] { load(dir.file("empty.txt"), dir.file("one.txt")); }),
                       dir.file("empty.txt") + ": empty file"));
  EXPECT_TRUE(contains(input_error_of([&] { load(dir.file("one.txt"), dir.file("empty.txt")); }),
                       dir.file("empty.txt") + ": empty file"));
  EXPECT_TRUE(contains(input_error_of([&] { load(dir.file("empty.txt"), dir.file("empty.txt")); }),
                       dir.file("empty.txt") + ": empty file"));

  write_text(dir.file("bad.txt"), "A man.\nA \xC3 man.\n");
  write_text(dir.file("two.txt"), "Ein Mann.\nEin Mann.\n");
  EXPECT_TRUE(contains(input_error_of([&] { load(dir.file("two.txt"), dir.file("bad.txt")); }),
                       dir.file("bad.txt") + ":2: invalid UTF-8 at byte 3"));

  EXPECT_TRUE(contains(input_error_of([&] { load(dir.file("missing"), dir.file("two.txt")); }),
                       dir.file("missing") + ": no such file"));

  write_text(dir.file("blank.txt"), "\n\n");
  EXPECT_TRUE(contains(input_error_of([&] { load(dir.file("blank.txt"), dir.file("two.txt")); }),
                       "no sentence pair left (2 empty"));
}

TEST(ParallelCorpus, StoresIdsInOneArena) {
  ParallelCorpus corpus;
  corpus.add({5, 6, 7}, {8}, 1);
  corpus.add({}, {9, 10}, 3);
  corpus.add({11}, {12, 13, 14}, 4);
  ASSERT_EQ(corpus.size(), 3);
  EXPECT_EQ(corpus.src(0).data + 3, corpus.src(1).data);  // contiguous
  EXPECT_EQ(corpus.src(1).data, corpus.src(2).data);
  EXPECT_EQ(corpus.src(2).to_vector(), (std::vector<int32_t>{11}));
  EXPECT_EQ(corpus.tgt_length(2), 3);
  EXPECT_EQ(corpus.line_number(1), 3);
  EXPECT_EQ(corpus.tgt_tokens(), 6);
}

}  // namespace
}  // namespace revnmt
