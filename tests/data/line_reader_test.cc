#include "nmt/data/line_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "nmt/core/error.h"
#include "tests/data/data_test_util.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

using testing::input_error_of;
using testing::TempDir;
using testing::write_gzip;
using testing::write_text;
using Lines = std::vector<std::string>;
using namespace std::string_literals;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(LineReader, GzipAndPlainGiveTheSameLines) {
  TempDir dir;
  const std::string text =
      "first line\n\nMädchen läuft \xE2\x82\xAC\r\n  spaced  \nlast without newline";
  const Lines expected = {"first line", "", "Mädchen läuft \xE2\x82\xAC", "  spaced  ",
                          "last without newline"};
  write_text(dir.file("plain.txt"), text);
  write_gzip(dir.file("packed.gz"), text);
  write_gzip(dir.file("packed.txt"), text);  // gzip is recognised by content, not by name
  EXPECT_EQ(read_lines(dir.file("plain.txt")), expected);
  EXPECT_EQ(read_lines(dir.file("packed.gz")), expected);
  EXPECT_EQ(read_lines(dir.file("packed.txt")), expected);

  LineReader plain(dir.file("plain.txt"));
  LineReader packed(dir.file("packed.txt"));
  EXPECT_FALSE(plain.compressed());
  EXPECT_TRUE(packed.compressed());
}

TEST(LineReader, LineEndingsAndLineNumbers) {
  TempDir dir;
  const auto lines_of = [&](const std::string& text) {
    write_text(dir.file("t.txt"), text);
    return read_lines(dir.file("t.txt"));
  };
  EXPECT_EQ(lines_of("a\r\nb\r\n\r\nc"), (Lines{"a", "b", "", "c"}));
  EXPECT_EQ(lines_of("a\n"), (Lines{"a"}));  // a final newline adds no empty line
  EXPECT_EQ(lines_of("a"), (Lines{"a"}));
  EXPECT_EQ(lines_of("\n"), (Lines{""}));
  EXPECT_EQ(lines_of(""), (Lines{}));
  EXPECT_EQ(lines_of("in\rside\r\r\n"), (Lines{"in\rside\r"}));  // only one trailing \r goes
  EXPECT_EQ(lines_of("\xEF\xBB\xBFwith bom\n\xEF\xBB\xBFsecond"),
            (Lines{"with bom", "\xEF\xBB\xBFsecond"}));  // only a leading BOM is dropped

  write_text(dir.file("n.txt"), "one\ntwo\nthree\n");
  LineReader reader(dir.file("n.txt"));
  std::string line;
  EXPECT_EQ(reader.line_number(), 0);
  ASSERT_TRUE(reader.next(line));
  ASSERT_TRUE(reader.next(line));
  EXPECT_EQ(line, "two");
  EXPECT_EQ(reader.line_number(), 2);
  ASSERT_TRUE(reader.next(line));
  EXPECT_FALSE(reader.next(line));
  EXPECT_EQ(reader.line_number(), 3);
}

TEST(LineReader, ManyLinesAcrossBufferBoundaries) {
  TempDir dir;
  std::string text;
  Lines expected;
  for (int i = 0; i < 60000; ++i) {
    expected.push_back("line " + std::to_string(i) + std::string(i % 37, 'x'));
    text += expected.back() + (i % 3 == 0 ? "\r\n" : "\n");
  }
  write_text(dir.file("big.txt"), text);
  write_gzip(dir.file("big.gz"), text);
  EXPECT_EQ(read_lines(dir.file("big.txt")), expected);
  EXPECT_EQ(read_lines(dir.file("big.gz")), expected);
}

TEST(LineReader, ConcatenatedGzipMembersAreOneStream) {
  TempDir dir;
  write_gzip(dir.file("a.gz"), "one\ntw");
  write_gzip(dir.file("b.gz"), "o\nthree\n");
  write_text(dir.file("ab.gz"),
             testing::read_text(dir.file("a.gz")) + testing::read_text(dir.file("b.gz")));
  EXPECT_EQ(read_lines(dir.file("ab.gz")), (Lines{"one", "two", "three"}));
}

TEST(LineReader, RejectPolicyNamesFileLineAndByte) {
  TempDir dir;
  const auto path = dir.file("bad.txt");
  write_text(path, "fine\nbad \xC3( here\n");
  const std::string invalid = input_error_of([&] { read_lines(path); });
  EXPECT_EQ(invalid, path + ":2: invalid UTF-8 at byte 5 (expected UTF-8 text)");

  write_text(path, "fine\nalso fine\nnul\0here\n"s);
  const std::string nul = input_error_of([&] { read_lines(path); });
  EXPECT_TRUE(contains(nul, path + ":3: NUL byte at byte 4")) << nul;

  write_gzip(dir.file("bad.gz"), "ok\n\xFF\n");
  EXPECT_TRUE(contains(input_error_of([&] { read_lines(dir.file("bad.gz")); }),
                       dir.file("bad.gz") + ":2: invalid UTF-8 at byte 1"));
}

TEST(LineReader, ReplacePolicyCountsReplacements) {
  TempDir dir;
  const auto path = dir.file("mixed.txt");
  write_text(path,
             "good\nb\xFF"
             "d\n\xED\xA0\x80\nn\0l\nend"s);
  LineReader reader(path, BadBytes::replace);
  std::string line;
  Lines lines;
  std::vector<int64_t> per_line;
  while (reader.next(line)) {
    lines.push_back(line);
    per_line.push_back(reader.line_replacements());
  }
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(lines, (Lines{"good", "b" + r + "d", r + r + r, "n" + r + "l", "end"}));
  EXPECT_EQ(per_line, (std::vector<int64_t>{0, 1, 3, 1, 0}));
  EXPECT_EQ(reader.replacements(), 5);
}

TEST(LineReader, OpenErrorsNameThePath) {
  TempDir dir;
  EXPECT_EQ(input_error_of([&] { LineReader r(dir.file("missing.txt")); }),
            dir.file("missing.txt") + ": no such file");
  EXPECT_EQ(input_error_of([&] { LineReader r(dir.path()); }),
            dir.path() + ": is a directory, expected a text file");
  if (::geteuid() != 0) {  // root reads anything
    write_text(dir.file("locked.txt"), "secret\n");
    ::chmod(dir.file("locked.txt").c_str(), 0);
    EXPECT_TRUE(contains(input_error_of([&] { LineReader r(dir.file("locked.txt")); }),
                         dir.file("locked.txt") + ": cannot open"));
  }
}

TEST(LineReader, CorruptGzipIsAnError) {
  TempDir dir;
  // Magic bytes followed by garbage.
  write_text(dir.file("garbage.gz"), std::string("\x1f\x8b\x08\x00", 4) + std::string(200, 'z'));
  const std::string garbage = input_error_of([&] { read_lines(dir.file("garbage.gz")); });
  EXPECT_TRUE(contains(garbage, dir.file("garbage.gz") + ": corrupt gzip data")) << garbage;

  // A truncated stream: the lines before the cut are fine, then an error.
  std::string text;
  for (int i = 0; i < 5000; ++i) text += "sentence number " + std::to_string(i * 7919) + "\n";
  write_gzip(dir.file("full.gz"), text);
  const std::string bytes = testing::read_text(dir.file("full.gz"));
  write_text(dir.file("cut.gz"), bytes.substr(0, bytes.size() / 2));
  const std::string cut = input_error_of([&] { read_lines(dir.file("cut.gz")); });
  EXPECT_TRUE(contains(cut, dir.file("cut.gz") + ": corrupt gzip data")) << cut;
  EXPECT_TRUE(contains(cut, "truncated")) << cut;

  // Garbage after a complete member.
  write_text(dir.file("tail.gz"), bytes + "not gzip");
  EXPECT_TRUE(contains(input_error_of([&] { read_lines(dir.file("tail.gz")); }), "trailing"));
}

TEST(LineReader, MultiMegabyteLine) {
  TempDir dir;
  std::string huge;
  huge.reserve(2 << 20);
  for (int i = 0; huge.size() < (2u << 20); ++i) huge += "w" + std::to_string(i % 1000) + " ";
  huge.pop_back();
  ASSERT_GT(std::count(huge.begin(), huge.end(), ' '), 100000);
  const std::string text = "short\n" + huge + "\nafter\n";
  write_text(dir.file("huge.txt"), text);
  write_gzip(dir.file("huge.gz"), text);
  for (const auto& name : {"huge.txt", "huge.gz"}) {
    const Lines lines = read_lines(dir.file(name));
    ASSERT_EQ(lines.size(), 3u) << name;
    EXPECT_EQ(lines[0], "short");
    EXPECT_TRUE(lines[1] == huge) << name;
    EXPECT_EQ(lines[2], "after");
  }
}

TEST(LineReader, ReadsStdin) {
  TempDir dir;
  write_gzip(dir.file("in.gz"), "from\nstdin\n");
  const int saved = ::dup(STDIN_FILENO);
  const int fd = ::open(dir.file("in.gz").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ::dup2(fd, STDIN_FILENO);
  ::close(fd);
  Lines lines;
  std::string name;
  {
    LineReader reader("-");
    name = reader.display_name();
    std::string line;
    while (reader.next(line)) lines.push_back(line);
  }
  ::dup2(saved, STDIN_FILENO);
  ::close(saved);
  EXPECT_EQ(lines, (Lines{"from", "stdin"}));
  EXPECT_EQ(name, "<stdin>");
}

}  // namespace
}  // namespace revnmt
