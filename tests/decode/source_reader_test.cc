// SourceReader: encoded lines in order with their numbers, bounded read-ahead, idle pipes
// hand over what has arrived (all of it at once), errors after the good lines.

#include "nmt/decode/source_reader.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <string>
#include <thread>

#include "nmt/core/error.h"
#include "tests/decode/decode_test_util.h"

namespace revnmt {
namespace {

using namespace std::chrono_literals;
using testing::fixture_lines;
using testing::fixture_vocab;
using testing::TempDir;

TEST(SourceReader, LinesInOrderEncodedAndBounded) {
  const Vocab& vocab = fixture_vocab();
  TempDir dir;
  const auto de = fixture_lines("small.de");
  std::string text;
  for (int i = 0; i < 100; ++i) text += (i % 10 == 3 ? std::string() : de[i]) + "\n";
  testing::write_text(dir.file("in.txt"), text);
  SourceReaderOptions options;
  options.capacity = 3;
  options.pieces = true;
  SourceReader reader(dir.file("in.txt"), vocab, options);
  EXPECT_FALSE(reader.interactive());
  std::vector<SourceLine> chunk;
  int64_t next = 1;
  while (reader.take(7, 0ms, chunk)) {
    EXPECT_LE(chunk.size(), 7u);
    for (const SourceLine& line : chunk) {
      ASSERT_EQ(line.number, next);
      const std::string source = (next - 1) % 10 == 3 ? std::string() : de[next - 1];
      EXPECT_EQ(line.ids, vocab.encode(source));
      EXPECT_EQ(line.pieces, vocab.encode_pieces(source));
      ++next;
    }
  }
  EXPECT_EQ(next, 101);
  EXPECT_FALSE(reader.take(7, 0ms, chunk));
  EXPECT_TRUE(chunk.empty());
}

// Through a pipe: take() returns the lines written so far without waiting for the end,
// and returns everything that is ready in one go.
TEST(SourceReader, IdlePipeHandsOverWhatHasArrived) {
  const Vocab& vocab = fixture_vocab();
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  {
    // LineReader looks at the first bytes (gzip or not) when it opens the input, so the
    // first lines are written before.
    std::string burst;
    for (int i = 0; i < 50; ++i) burst += "Ein Hund.\n";
    ASSERT_EQ(::write(fds[1], burst.data(), burst.size()), ssize_t(burst.size()));
    SourceReader reader("/dev/fd/" + std::to_string(fds[0]), vocab, SourceReaderOptions{});
    EXPECT_TRUE(reader.interactive());
    std::this_thread::sleep_for(50ms);  // the reader has queued them all by now
    std::vector<SourceLine> chunk;
    ASSERT_TRUE(reader.take(1000, 20ms, chunk));
    EXPECT_EQ(chunk.size(), 50u);
    ASSERT_EQ(::write(fds[1], "Ein Mann.\n", 10), 10);
    ASSERT_TRUE(reader.take(1000, 20ms, chunk));
    ASSERT_EQ(chunk.size(), 1u);
    EXPECT_EQ(chunk[0].number, 51);
    ::close(fds[1]);
    EXPECT_FALSE(reader.take(1000, 20ms, chunk));
  }
  ::close(fds[0]);
}

TEST(SourceReader, ErrorsComeAfterTheGoodLines) {
  const Vocab& vocab = fixture_vocab();
  TempDir dir;
  EXPECT_THROW(SourceReader(dir.file("missing.txt"), vocab, SourceReaderOptions{}), InputError);
  // A gzip file cut in the middle: the lines before the cut are delivered, then the error.
  std::string text;
  for (int i = 0; i < 2000; ++i) text += "Ein Mann " + std::to_string(i) + " sitzt am Strand.\n";
  const std::string path = dir.file("cut.gz");
  gzFile gz = gzopen(path.c_str(), "wb1");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, text.data(), unsigned(text.size())), int(text.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
  const std::string bytes = testing::read_text(path);
  testing::write_text(path, bytes.substr(0, bytes.size() / 2));
  SourceReader reader(path, vocab, SourceReaderOptions{});
  std::vector<SourceLine> chunk;
  int64_t lines = 0;
  std::string error;
  try {
    while (reader.take(100, 0ms, chunk)) lines += int64_t(chunk.size());
  } catch (const InputError& e) {
    error = e.what();
  }
  EXPECT_GT(lines, 10);
  EXPECT_LT(lines, 2000);
  EXPECT_NE(error.find("cut.gz"), std::string::npos) << error;
}

}  // namespace
}  // namespace revnmt
