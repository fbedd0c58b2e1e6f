// Model files: round trips, and every kind of damaged or foreign file is a clear error.

#include "nmt/model/model_io.h"

#include <gtest/gtest.h>

#include <cstring>

#include "nmt/core/error.h"
#include "nmt/core/file_io.h"
#include "nmt/model/archive.h"
#include "nmt/model/seq2seq.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

Archive small_archive() {
  Archive archive;
  archive.set_bytes("kind", "model");
  archive.set_bytes("config", "cell: revgru\n");
  Tensor a({2, 3}, DType::f32), b({4}, DType::i64);
  for (int i = 0; i < 6; ++i) a.data<float>()[i] = 0.5f * i;
  for (int i = 0; i < 4; ++i) b.data<int64_t>()[i] = -(int64_t(1) << (10 * i));
  archive.set_tensors("params", {{"x/W", a}, {"y/count", b}});
  return archive;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

TEST(Archive, RoundTrip) {
  const std::string bytes = small_archive().serialize();
  const Archive back = Archive::parse(bytes, "m.rnmt");
  EXPECT_EQ(back.bytes("kind"), "model");
  EXPECT_EQ(back.bytes("config"), "cell: revgru\n");
  const auto& tensors = back.tensors("params");
  ASSERT_EQ(tensors.size(), 2u);
  EXPECT_EQ(tensors[0].name, "x/W");
  EXPECT_EQ(tensors[0].tensor.shape(), Shape({2, 3}));
  EXPECT_EQ(tensors[0].tensor.data<float>()[5], 2.5f);
  EXPECT_EQ(tensors[1].tensor.data<int64_t>()[3], -(int64_t(1) << 30));
  EXPECT_EQ(back.serialize(), bytes);
  EXPECT_NE(error_of([&] { back.bytes("missing"); }).find("no 'missing' section"),
            std::string::npos);
}

TEST(Archive, EveryTruncationIsAnError) {
  const std::string bytes = small_archive().serialize();
  for (size_t n = 0; n < bytes.size(); ++n) {
    const std::string message = error_of([&] { Archive::parse(bytes.substr(0, n), "m.rnmt"); });
    ASSERT_FALSE(message.empty()) << "prefix of " << n << " bytes accepted";
    ASSERT_EQ(message.rfind("m.rnmt: ", 0), 0u) << message;
  }
}

TEST(Archive, EveryCorruptedByteIsAnError) {
  const std::string bytes = small_archive().serialize();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = char(damaged[i] ^ 0x5a);
    ASSERT_FALSE(error_of([&] { Archive::parse(damaged, "m.rnmt"); }).empty()) << "byte " << i;
  }
}

TEST(Archive, ForeignFilesAndVersions) {
  EXPECT_NE(error_of([] {
              Archive::parse("hello world, not a model at all", "x");
            }).find("not a revnmt model"),
            std::string::npos);
  std::string bytes = small_archive().serialize();
  bytes[8] = 7;  // format version
  EXPECT_NE(error_of([&] { Archive::parse(bytes, "x"); }).find("format version 7"),
            std::string::npos);
  testing::TempDir dir;
  EXPECT_NE(error_of([&] { Archive::load(dir.file("none.rnmt")); }).find("none.rnmt"),
            std::string::npos);
  EXPECT_NE(error_of([&] { Archive::load(dir.path()); }).find("directory"), std::string::npos);
}

TEST(Archive, SaveIsAtomicAndLoadable) {
  testing::TempDir dir;
  const std::string path = dir.file("m.rnmt");
  small_archive().save(path);
  EXPECT_EQ(Archive::load(path).bytes("kind"), "model");
}

TEST(ModelParameters, MismatchesAreNamed) {
  ParameterSet params;
  params.add("x/W", {2, 3});
  params.add("y/count", {4});
  Archive archive = small_archive();
  // dtype/shape mismatch on y/count (i64 in the file).
  EXPECT_NE(error_of([&] { load_parameters(archive, "params", params); }).find("'y/count'"),
            std::string::npos);
  ParameterSet fewer;
  fewer.add("x/W", {2, 3});
  EXPECT_NE(error_of([&] {
              load_parameters(archive, "params", fewer);
            }).find("unexpected parameter 'y/count'"),
            std::string::npos);
  ParameterSet more;
  more.add("x/W", {2, 3});
  more.add("y/count", {4});
  more.add("z/b", {1});
  archive.set_tensors("params", parameter_tensors(more));
  ParameterSet target;
  target.add("x/W", {2, 3});
  target.add("y/count", {4});
  target.add("z/b", {1});
  target.add("w/new", {1});
  EXPECT_NE(
      error_of([&] { load_parameters(archive, "params", target); }).find("'w/new' is missing"),
      std::string::npos);
}

// Dimensions each within range whose product overflows 64 bits (found by fuzz_model: the
// product was formed before the range check, signed overflow).
TEST(Archive, HugeTensorDimensionsAreAnErrorNotAnOverflow) {
  std::string payload;
  auto put = [&payload](auto value) {
    payload.append(reinterpret_cast<const char*>(&value), sizeof value);
  };
  put(uint32_t(1));  // one tensor
  put(uint32_t(1));
  payload += "w";
  put(uint8_t(DType::f32));
  put(uint8_t(2));
  put(int64_t(1) << 39);
  put(int64_t(1) << 39);
  Archive archive;
  archive.set_bytes("params", payload);
  std::string bytes = archive.serialize();
  bytes[8 + 4 + 4 + 4 + 6] = 1;  // the section's kind byte: tensors
  const uint32_t crc = crc32_of(std::string_view(bytes).substr(0, bytes.size() - 4));
  std::memcpy(&bytes[bytes.size() - 4], &crc, 4);
  EXPECT_NE(
      error_of([&] { Archive::parse(bytes, "m.rnmt"); }).find("tensor 'w' has an invalid shape"),
      std::string::npos);
}

Vocab tiny_vocab() { return Vocab::load(testing::test_data_dir() + "/fuzz/tiny.spm"); }

ModelConfig tiny_config(CellType cell, ContextType context, int layers) {
  ModelConfig config;
  config.cell = cell;
  config.context = context;
  config.layers = layers;
  config.emb_size = 3;
  config.hidden_size = 4;
  config.slice_dim = 2;
  return config;
}

// The loader's size check (below) must never refuse a real model file.
TEST(ModelFiles, EveryCellContextAndDepthLoadsBack) {
  const Vocab vocab = tiny_vocab();
  for (CellType cell : {CellType::revgru, CellType::revlstm, CellType::gru, CellType::lstm})
    for (ContextType context :
         {ContextType::hidden, ContextType::slice, ContextType::emb, ContextType::slice_emb})
      for (int layers : {1, 3}) {
        Seq2Seq model(tiny_config(cell, context, layers), vocab.size(), vocab.size(),
                      special_tokens_of(vocab));
        model.initialize(7);
        Archive archive;
        add_model_sections(archive, model, vocab, vocab);
        const LoadedModel loaded = model_from_archive(Archive::parse(archive.serialize(), "m"));
        EXPECT_EQ(loaded.model->params().numel(), model.params().numel());
      }
}

// A damaged config that describes a far larger model than the file holds is refused before
// the model is built (found by fuzz_model: the loader allocated what the config said).
TEST(ModelFiles, ConfigLargerThanTheStoredParametersIsRefusedBeforeAllocating) {
  const Vocab vocab = tiny_vocab();
  const ModelConfig small = tiny_config(CellType::revgru, ContextType::slice, 1);
  Seq2Seq model(small, vocab.size(), vocab.size(), special_tokens_of(vocab));
  Archive archive;
  add_model_sections(archive, model, vocab, vocab);
  ModelConfig huge = small;
  huge.hidden_size = 1 << 30;  // 2^61 recurrent weights per layer
  archive.set_bytes("config", model_config_to_yaml(huge));
  const std::string message =
      error_of([&] { model_from_archive(Archive::parse(archive.serialize(), "m.rnmt")); });
  EXPECT_EQ(message.rfind("m.rnmt: the file holds ", 0), 0u) << message;
  EXPECT_NE(message.find("needs at least"), std::string::npos) << message;
}

}  // namespace
}  // namespace revnmt
