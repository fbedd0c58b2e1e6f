// Translator on the real model with a SentencePiece vocabulary: batch invariance of the
// n-best lists (every cell type, greedy and beam 5, batch sizes and company), empty
// sources, unknown-word replacement from attention, option checks.

#include "nmt/decode/translator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "nmt/core/error.h"
#include "nmt/model/model_io.h"
#include "tests/decode/decode_test_util.h"

namespace revnmt {
namespace {

using testing::bits;
using testing::fixture_lines;
using testing::fixture_vocab;
using testing::tiny_model_config;

void expect_same_list(const std::vector<Hypothesis>& a, const std::vector<Hypothesis>& b,
                      const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].tokens, b[i].tokens) << what << " #" << i;
    EXPECT_EQ(a[i].text, b[i].text) << what << " #" << i;
    EXPECT_EQ(bits(a[i].score), bits(b[i].score)) << what << " #" << i;
    EXPECT_EQ(bits(a[i].log_prob), bits(b[i].log_prob)) << what << " #" << i;
  }
}

std::vector<std::string> invariance_sources() {
  std::vector<std::string> de = fixture_lines("small.de"), en = fixture_lines("small.en");
  std::vector<std::string> sources(de.begin(), de.begin() + 9);
  sources.push_back("");
  sources.insert(sources.end(), en.begin() + 20, en.begin() + 24);
  sources.push_back("   ");
  sources.push_back(de[30] + " " + de[31] + " " + de[32]);  // longer than the rest
  sources.push_back(de[40]);                                // a duplicate in the batch
  sources.push_back(de[40]);
  return sources;
}

// A sentence's n-best list (tokens, text, score bits) is the same alone, in batches of
// several sizes, and among other sentences in another order.
TEST(Translator, NBestListsAreBatchInvariant) {
  const Vocab& vocab = fixture_vocab();
  const std::vector<std::string> sources = invariance_sources();
  std::vector<std::string> company = sources;
  std::reverse(company.begin(), company.end());
  const auto en = fixture_lines("small.en");
  company.insert(company.begin() + 3, en.begin() + 50, en.begin() + 56);
  for (CellType cell : {CellType::revgru, CellType::revlstm, CellType::gru, CellType::lstm}) {
    Seq2Seq model(tiny_model_config(cell, 2, 8), vocab.size(), vocab.size(),
                  special_tokens_of(vocab));
    model.initialize(11);
    for (int beam : {1, 5}) {
      TranslateOptions options;
      options.beam = beam;
      options.n_best = beam;
      options.max_length_ratio = 1.0f;
      options.batch = 1;
      Translator alone(model, vocab, vocab, options);
      std::vector<std::vector<Hypothesis>> reference;
      for (const std::string& source : sources) reference.push_back(alone.translate({source})[0]);
      const std::string what = to_string(cell) + " beam " + std::to_string(beam);
      for (int batch : {2, 5, 64}) {
        options.batch = batch;
        Translator batched(model, vocab, vocab, options);
        const auto lists = batched.translate(sources);
        ASSERT_EQ(lists.size(), sources.size());
        for (size_t i = 0; i < sources.size(); ++i)
          expect_same_list(
              lists[i], reference[i],
              what + " batch " + std::to_string(batch) + " sentence " + std::to_string(i));
      }
      options.batch = 4;
      Translator mixed(model, vocab, vocab, options);
      const auto lists = mixed.translate(company);
      for (size_t i = 0; i < sources.size(); ++i) {
        const size_t j = std::find(company.begin(), company.end(), sources[i]) - company.begin();
        expect_same_list(lists[j], reference[i],
                         what + " in company, sentence " + std::to_string(i));
      }
      // The translations are real: non-empty sources got non-empty hypotheses.
      for (size_t i = 0; i < sources.size(); ++i) {
        const bool empty_source = vocab.encode(sources[i]).empty();
        ASSERT_FALSE(reference[i].empty());
        EXPECT_EQ(reference[i][0].tokens.empty(), empty_source) << what << " sentence " << i;
        if (!empty_source) {
          EXPECT_EQ(int(reference[i].size()), beam);
        }
      }
    }
  }
}

TEST(Translator, EmptySourcesGiveOneEmptyHypothesis) {
  const Vocab& vocab = fixture_vocab();
  Seq2Seq model(tiny_model_config(CellType::gru), vocab.size(), vocab.size(),
                special_tokens_of(vocab));
  model.initialize(2);
  TranslateOptions options;
  options.n_best = 3;
  Translator translator(model, vocab, vocab, options);
  const auto lists = translator.translate({"", " \t ", "Ein Hund.", ""});
  ASSERT_EQ(lists.size(), 4u);
  for (int i : {0, 1, 3}) {
    ASSERT_EQ(lists[i].size(), 1u);
    EXPECT_TRUE(lists[i][0].tokens.empty());
    EXPECT_EQ(lists[i][0].text, "");
    EXPECT_EQ(lists[i][0].score, 0.0f);
  }
  EXPECT_EQ(lists[2].size(), 3u);
  const auto best = translator.translate_best({"", "Ein Hund.", " "});
  ASSERT_EQ(best.size(), 3u);
  EXPECT_EQ(best[0], "");
  EXPECT_EQ(best[1], lists[2][0].text);
  EXPECT_EQ(best[2], "");
  EXPECT_EQ(translator.stats().sentences, 7);
}

// decode_with_replacements puts the source piece where the unk was, with SentencePiece's
// spacing; without a replacement it is plain decoding.
TEST(Translator, DecodeWithReplacements) {
  const Vocab& vocab = fixture_vocab();
  std::vector<int32_t> tokens = vocab.encode("A man is");
  const size_t unk_at = tokens.size();
  tokens.push_back(vocab.unk_id());
  for (int32_t id : vocab.encode("in the snow.")) tokens.push_back(id);
  std::vector<int32_t> ids;
  std::vector<std::string> pieces;
  vocab.encode("Ein Mann \xE4\xBD\xA0\xE5\xA5\xBD im Schnee.", &ids, &pieces);  // 你好: unknown
  int unknown = -1;
  for (size_t p = 0; p < ids.size(); ++p)
    if (ids[p] == vocab.unk_id()) unknown = int(p);
  ASSERT_GE(unknown, 0) << "the fixture vocabulary should not know CJK characters";
  std::vector<int32_t> unk_source(tokens.size(), -1);
  EXPECT_EQ(decode_with_replacements(vocab, tokens, unk_source, pieces), vocab.decode(tokens));
  unk_source[unk_at] = unknown;
  std::string piece = pieces[unknown];
  if (piece.rfind("\xE2\x96\x81", 0) == 0) piece = " " + piece.substr(3);
  EXPECT_EQ(decode_with_replacements(vocab, tokens, unk_source, pieces),
            "A man is" + piece + " in the snow.");
  EXPECT_NE(piece.find("\xE4\xBD\xA0\xE5\xA5\xBD"), std::string::npos);
}

// A model made to output only unk: with --replace-unk each unk becomes the source piece
// with the highest attention weight of its step (replayed here through decode_step).
TEST(Translator, ReplaceUnkCopiesTheMostAttendedSourcePiece) {
  const Vocab& vocab = fixture_vocab();
  Seq2Seq model(tiny_model_config(CellType::revgru, 1, 8), vocab.size(), vocab.size(),
                special_tokens_of(vocab));
  model.initialize(5);
  model.params().get("generator/b").data()[vocab.unk_id()] = 50.0f;
  TranslateOptions options;
  options.beam = 2;
  options.n_best = 1;
  options.max_length_ratio = 1.0f;
  options.max_length_offset = 0;
  options.replace_unk = true;
  const std::string source = "Ein \xE4\xBD\xA0 Mann \xE2\x98\x83 im Schnee";  // 你 ☃ unknown
  Translator translator(model, vocab, vocab, options);
  const auto lists = translator.translate({source});
  ASSERT_EQ(lists[0].size(), 1u);
  const Hypothesis& hyp = lists[0][0];
  std::vector<int32_t> ids;
  std::vector<std::string> pieces;
  vocab.encode(source, &ids, &pieces);
  ASSERT_EQ(hyp.tokens.size(), ids.size());  // unk until the length limit
  Seq2SeqDecoder decoder(model, vocab.eos_id(), vocab.pad_id());
  decoder.begin({ids});
  std::vector<float> lp(vocab.size()), attention(decoder.source_steps());
  int32_t prev = vocab.bos_id(), sentence = 0;
  std::string expected;
  for (size_t t = 0; t < hyp.tokens.size(); ++t) {
    ASSERT_EQ(hyp.tokens[t], vocab.unk_id());
    decoder.step_log_probs(&prev, &sentence, 1, lp.data(), attention.data());
    const int best = int(std::max_element(attention.begin(), attention.begin() + ids.size()) -
                         attention.begin());
    expected += pieces[best];
    prev = vocab.unk_id();
  }
  std::string text;
  for (size_t i = 0; i < expected.size();)
    if (expected.compare(i, 3, "\xE2\x96\x81") == 0) {
      text += ' ';
      i += 3;
    } else {
      text += expected[i++];
    }
  if (!text.empty() && text[0] == ' ') text.erase(0, 1);
  EXPECT_EQ(hyp.text, text);
  EXPECT_EQ(hyp.text.find("\xE2\x81\x87"), std::string::npos);  // no ⁇ left

  // Without the option the unks stay unknown.
  options.replace_unk = false;
  Translator plain(model, vocab, vocab, options);
  EXPECT_NE(plain.translate_best({source})[0].find("\xE2\x81\x87"), std::string::npos);
}

TEST(Translator, OptionsAreChecked) {
  const Vocab& vocab = fixture_vocab();
  Seq2Seq model(tiny_model_config(CellType::gru), vocab.size(), vocab.size(),
                special_tokens_of(vocab));
  auto error = [&](TranslateOptions options) {
    try {
      Translator translator(model, vocab, vocab, options);
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  TranslateOptions options;
  options.batch = 0;
  EXPECT_NE(error(options).find("batch"), std::string::npos);
  options = TranslateOptions{};
  options.beam = 2;
  options.n_best = 3;
  EXPECT_NE(error(options).find("n-best"), std::string::npos);
  EXPECT_EQ(error(TranslateOptions{}), "");
  Seq2Seq other(tiny_model_config(CellType::gru), vocab.size() + 1, vocab.size(),
                special_tokens_of(vocab));
  EXPECT_THROW(Translator(other, vocab, vocab, TranslateOptions{}), InputError);
}

}  // namespace
}  // namespace revnmt
