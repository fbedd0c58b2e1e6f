// `revnmt vocab` end to end, through the built binary.

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "nmt/core/file_io.h"
#include "nmt/data/line_reader.h"
#include "nmt/data/vocab.h"
#include "tests/data/data_test_util.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

using testing::data_fixture;
using testing::run_revnmt;
using testing::TempDir;
using testing::write_gzip;
using testing::write_text;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

int count_lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

TEST(VocabCommand, TrainsAModelFromPlainAndGzipInputs) {
  TempDir dir;
  std::string de;
  for (const auto& line : read_lines(data_fixture("small.de"))) de += line + "\n";
  write_gzip(dir.file("de.gz"), de);
  const auto result =
      run_revnmt("vocab --input " + data_fixture("small.en") + " --input " + dir.file("de.gz") +
                 " --model " + dir.file("out.spm") + " --size 70 --type bpe");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.err, "");  // SentencePiece's own logging is silenced
  EXPECT_EQ(count_lines(result.out), 1) << result.out;
  EXPECT_TRUE(contains(result.out, dir.file("out.spm"))) << result.out;
  EXPECT_TRUE(contains(result.out, "from 320 of 320 lines")) << result.out;

  const Vocab vocab = Vocab::load(dir.file("out.spm"));
  EXPECT_TRUE(contains(result.out, std::to_string(vocab.size()) + " pieces")) << result.out;
  EXPECT_EQ(vocab.pad_id(), 3);
  EXPECT_EQ(vocab.decode(vocab.encode("Zwei Hunde spielen im Schnee.")),
            "Zwei Hunde spielen im Schnee.");

  // Same command, same bytes.
  const auto again =
      run_revnmt("vocab -i " + data_fixture("small.en") + " -i " + dir.file("de.gz") + " -m " +
                 dir.file("again.spm") + " --size 70 --type bpe");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(read_file(dir.file("out.spm")), read_file(dir.file("again.spm")));
}

TEST(VocabCommand, ErrorsAreOneLineWithExitCodes) {
  TempDir dir;
  const auto model = " --model " + dir.file("m.spm");
  const auto expect_error = [&](const std::string& args, int code, const std::string& part) {
    const auto result = run_revnmt("vocab " + args);
    EXPECT_EQ(result.exit_code, code) << args << "\n" << result.err;
    EXPECT_EQ(count_lines(result.err), 1) << result.err;
    EXPECT_TRUE(contains(result.err, part)) << result.err;
    EXPECT_EQ(result.out, "");
  };
  expect_error("--input " + dir.file("missing.txt") + model, 1,
               dir.file("missing.txt") + ": no such file");
  write_text(dir.file("bad.txt"), "ok\nno\xC3\n");
  expect_error("--input " + dir.file("bad.txt") + model, 1,
               dir.file("bad.txt") + ":2: invalid UTF-8");
  expect_error("--input " + data_fixture("small.en") + " --model " + dir.file("none/m.spm"), 1,
               "does not exist");
  expect_error("--input " + data_fixture("small.en") + model + " --type word", 2, "unigram or bpe");
  expect_error("--input " + data_fixture("small.en") + model + " --size 2", 2, "--size");
  expect_error("--input " + data_fixture("small.en"), 2, "--model");
  expect_error(model, 2, "--input");
  EXPECT_FALSE(std::filesystem::exists(dir.file("m.spm")));
}

}  // namespace
}  // namespace revnmt
