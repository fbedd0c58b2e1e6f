#include "nmt/core/file_io.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "nmt/core/error.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

using testing::TempDir;

TEST(FileIo, AtomicWriteReplacesWholeFile) {
  TempDir dir;
  const auto path = dir.file("out.txt");
  write_file_atomic(path, "first");
  write_file_atomic(path, "second version");
  EXPECT_EQ(read_file(path), "second version");
  // No temporary files left behind.
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

TEST(FileIo, UncommittedWriterLeavesTargetUntouched) {
  TempDir dir;
  const auto path = dir.file("model.bin");
  write_file_atomic(path, "good");
  {
    AtomicFileWriter writer(path);
    writer.write("half-written garbage");
  }  // destroyed without commit, as after an exception
  EXPECT_EQ(read_file(path), "good");
  EXPECT_FALSE(std::filesystem::exists(path + ".tmp." + std::to_string(::getpid())));
}

TEST(FileIo, ErrorsNameThePath) {
  TempDir dir;
  try {
    read_file(dir.file("missing.txt"));
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing.txt"), std::string::npos);
  }
  try {
    read_file(dir.path());
    FAIL();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("directory"), std::string::npos);
  }
  EXPECT_THROW(AtomicFileWriter w(dir.path()), InputError);
}

TEST(FileIo, Crc32KnownValue) {
  EXPECT_EQ(crc32_of("123456789"), 0xCBF43926u);
  EXPECT_EQ(crc32_of("6789", crc32_of("12345")), 0xCBF43926u);
}

}  // namespace
}  // namespace revnmt
