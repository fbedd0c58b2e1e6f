#include "nmt/data/vocab.h"

#include <gtest/gtest.h>
#include <sentencepiece_trainer.h>

#include <string>
#include <vector>

#include "nmt/core/error.h"
#include "nmt/core/file_io.h"
#include "nmt/data/line_reader.h"
#include "tests/data/data_test_util.h"
#include "tests/support/test_support.h"

namespace revnmt {
namespace {

using testing::data_fixture;
using testing::fixture_vocab;
using testing::input_error_of;
using testing::TempDir;
using testing::write_text;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

VocabTrainOptions small_options(const TempDir& dir, const std::string& name) {
  VocabTrainOptions options;
  options.inputs = {data_fixture("small.en"), data_fixture("small.de")};
  options.model_path = dir.file(name);
  options.vocab_size = 80;
  return options;
}

TEST(Vocab, TrainLoadEncodeDecodeRoundTrip) {
  TempDir dir;
  VocabTrainSummary summary;
  const Vocab trained = Vocab::train(small_options(dir, "m.spm"), &summary);
  EXPECT_EQ(summary.lines_read, 320);
  EXPECT_EQ(summary.lines_used, 320);
  EXPECT_EQ(summary.pieces, trained.size());
  EXPECT_GT(trained.size(), 40);
  EXPECT_LE(trained.size(), 80);

  const Vocab loaded = Vocab::load(dir.file("m.spm"));
  EXPECT_EQ(loaded.size(), trained.size());
  EXPECT_EQ(loaded.fingerprint(), trained.fingerprint());
  EXPECT_EQ(loaded.serialized(), read_file(dir.file("m.spm")));
  for (const auto& file : {"small.en", "small.de"}) {
    for (const auto& line : read_lines(data_fixture(file))) {
      const std::vector<int32_t> ids = loaded.encode(line);
      ASSERT_FALSE(ids.empty());
      for (const int32_t id : ids) {
        EXPECT_GE(id, 4);  // no specials inside the text (unk only for unseen characters)
        EXPECT_LT(id, loaded.size());
      }
      EXPECT_EQ(loaded.decode(ids), line);
      EXPECT_EQ(trained.encode(line), ids);
    }
  }
}

TEST(Vocab, TrainingIsDeterministic) {
  TempDir dir;
  const Vocab a = Vocab::train(small_options(dir, "a.spm"));
  const Vocab b = Vocab::train(small_options(dir, "b.spm"));
  EXPECT_EQ(read_file(dir.file("a.spm")), read_file(dir.file("b.spm")));
  EXPECT_EQ(a.fingerprint(), b.fingerprint());
  EXPECT_EQ(a.fingerprint(), crc32_of(read_file(dir.file("a.spm"))));
}

TEST(Vocab, SpecialIdsAreFixed) {
  const Vocab& v = fixture_vocab();
  EXPECT_EQ(v.unk_id(), 0);
  EXPECT_EQ(v.bos_id(), 1);
  EXPECT_EQ(v.eos_id(), 2);
  EXPECT_EQ(v.pad_id(), 3);
  EXPECT_EQ(v.piece(0), "<unk>");
  EXPECT_EQ(v.piece(1), "<s>");
  EXPECT_EQ(v.piece(2), "</s>");
  EXPECT_EQ(v.piece(3), "<pad>");
}

TEST(Vocab, DecodeStopsAtEosAndSkipsBosAndPad) {
  const Vocab& v = fixture_vocab();
  const std::vector<int32_t> ids = v.encode("A man is walking.");
  std::vector<int32_t> framed = {v.bos_id()};
  framed.insert(framed.end(), ids.begin(), ids.end());
  framed.push_back(v.pad_id());
  framed.push_back(v.eos_id());
  framed.insert(framed.end(), ids.begin(), ids.end());  // after EOS: ignored
  EXPECT_EQ(v.decode(framed), "A man is walking.");
  EXPECT_EQ(v.decode({v.eos_id()}), "");
  EXPECT_THROW(v.decode({v.size()}), InternalError);
}

TEST(Vocab, PiecesAlignWithIdsAndKeepUnknownCharacters) {
  const Vocab& v = fixture_vocab();
  const std::string text = "A man \xE4\xB8\xAD walking";  // U+4E2D never seen in training
  std::vector<int32_t> ids;
  std::vector<std::string> pieces;
  v.encode(text, &ids, &pieces);
  EXPECT_EQ(ids, v.encode(text));
  EXPECT_EQ(pieces, v.encode_pieces(text));
  ASSERT_EQ(ids.size(), pieces.size());
  bool found_unknown = false;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == v.unk_id()) {
      found_unknown = true;
      EXPECT_TRUE(contains(pieces[i], "\xE4\xB8\xAD")) << pieces[i];
    } else {
      EXPECT_EQ(pieces[i], v.piece(ids[i]));
    }
  }
  EXPECT_TRUE(found_unknown);
}

TEST(Vocab, FingerprintDiffersBetweenModels) {
  TempDir dir;
  VocabTrainOptions bpe = small_options(dir, "bpe.spm");
  bpe.model_type = "bpe";
  VocabTrainOptions smaller = small_options(dir, "small.spm");
  smaller.vocab_size = 60;
  const Vocab a = Vocab::train(small_options(dir, "uni.spm"));
  const Vocab b = Vocab::train(bpe);
  const Vocab c = Vocab::train(smaller);
  EXPECT_NE(a.fingerprint(), b.fingerprint());
  EXPECT_NE(a.fingerprint(), c.fingerprint());
  EXPECT_NE(b.fingerprint(), c.fingerprint());
  // BPE works end to end too.
  EXPECT_EQ(b.decode(b.encode("The musician is reading.")), "The musician is reading.");
}

TEST(Vocab, MaxLinesTakesADeterministicSample) {
  TempDir dir;
  VocabTrainOptions options = small_options(dir, "s1.spm");
  options.max_lines = 50;
  VocabTrainSummary first, second;
  Vocab::train(options, &first);
  options.model_path = dir.file("s2.spm");
  Vocab::train(options, &second);
  EXPECT_EQ(first.lines_read, 320);
  EXPECT_EQ(first.lines_used, 50);
  EXPECT_EQ(read_file(dir.file("s1.spm")), read_file(dir.file("s2.spm")));
  options.model_path = dir.file("all.spm");
  options.max_lines = 0;
  VocabTrainSummary all;
  Vocab::train(options, &all);
  EXPECT_EQ(all.lines_used, 320);
  EXPECT_NE(read_file(dir.file("s1.spm")), read_file(dir.file("all.spm")));
}

TEST(Vocab, ExternalModelWithoutPadGetsOneAppended) {
  // SentencePiece's default ids: unk=0, bos=1, eos=2, no pad.
  std::string lines;
  for (const auto& line : read_lines(data_fixture("small.en"))) lines += line + "\n";
  TempDir dir;
  write_text(dir.file("train.txt"), lines);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(
      "--input=" + dir.file("train.txt") +
          " --vocab_size=50 --hard_vocab_limit=false --minloglevel=2",
      nullptr, &model);
  ASSERT_TRUE(status.ok()) << status.ToString();
  write_text(dir.file("external.model"), model);

  const Vocab v = Vocab::load(dir.file("external.model"));
  EXPECT_EQ(v.bos_id(), 1);
  EXPECT_EQ(v.eos_id(), 2);
  const int32_t pieces = v.size() - 1;
  EXPECT_EQ(v.pad_id(), pieces);
  EXPECT_EQ(v.piece(v.pad_id()), "<pad>");
  std::vector<int32_t> ids = v.encode("A man is walking.");
  for (const int32_t id : ids) EXPECT_LT(id, pieces);
  ids.push_back(v.pad_id());
  EXPECT_EQ(v.decode(ids), "A man is walking.");
}

TEST(Vocab, LoadErrorsNameThePath) {
  TempDir dir;
  EXPECT_TRUE(
      contains(input_error_of([&] { Vocab::load(dir.file("none.spm")); }), dir.file("none.spm")));
  write_text(dir.file("text.spm"), "this is not a model\n");
  EXPECT_TRUE(contains(input_error_of([&] { Vocab::load(dir.file("text.spm")); }),
                       dir.file("text.spm") + ": not a SentencePiece model"));
  write_text(dir.file("empty.spm"), "");
  EXPECT_TRUE(contains(input_error_of([&] { Vocab::load(dir.file("empty.spm")); }),
                       dir.file("empty.spm") + ": empty file"));
}

TEST(Vocab, TrainErrors) {
  TempDir dir;
  write_text(dir.file("bad.txt"), "fine\nnot \xFF fine\n");
  VocabTrainOptions options;
  options.inputs = {data_fixture("small.en"), dir.file("bad.txt")};
  options.model_path = dir.file("m.spm");
  options.vocab_size = 50;
  EXPECT_TRUE(contains(input_error_of([&] { Vocab::train(options); }),
                       dir.file("bad.txt") + ":2: invalid UTF-8"));

  write_text(dir.file("blank.txt"), "\n  \n\t\n");
  options.inputs = {dir.file("blank.txt")};
  EXPECT_TRUE(contains(input_error_of([&] { Vocab::train(options); }), "no text"));

  options.inputs = {data_fixture("small.en")};
  options.model_type = "word";
  EXPECT_TRUE(contains(input_error_of([&] { Vocab::train(options); }), "unigram or bpe"));
  options.model_type = "unigram";
  options.model_path = dir.file("no/such/dir/m.spm");
  EXPECT_TRUE(contains(input_error_of([&] { Vocab::train(options); }), "does not exist"));
  EXPECT_FALSE(file_exists(dir.file("m.spm")));
}

}  // namespace
}  // namespace revnmt
