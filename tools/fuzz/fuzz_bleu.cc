// libFuzzer target: the BLEU tokenizers and the BLEU/chrF scorers on arbitrary bytes. The
// first byte picks the options; the rest is split into lines, alternately hypothesis and
// reference. Checked: only InputError escapes; the tokenizers' output is valid UTF-8 (bad
// input bytes become U+FFFD) and tokenizing is stable under trailing whitespace; scores
// are finite and within 0..100 (up to round-off); corpus statistics are the sums of segment
// statistics.

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nmt/core/error.h"
#include "nmt/core/utf8.h"
#include "nmt/eval/bleu.h"
#include "nmt/eval/chrf.h"
#include "nmt/eval/tokenizer.h"
#include "tools/fuzz/fuzz_common.h"

namespace {

using namespace revnmt::eval;

bool valid_utf8(std::string_view text) {
  // NUL is valid UTF-8 (the corpus reader refuses it, the scorer need not); find_utf8_problem
  // reports only the first problem, so NULs are taken out before asking.
  std::string copy(text);
  for (char& c : copy)
    if (c == '\0') c = ' ';
  return revnmt::find_utf8_problem(copy).kind == revnmt::Utf8Problem::none;
}

// 0..100, up to round-off: sacreBLEU's exp(log(100)) is 100.00000000000004, and so is ours.
void check_score(double score) {
  FUZZ_ASSERT(std::isfinite(score) && score >= 0 && score <= 100 * (1 + 1e-12));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t flags = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<std::string> lines;
  for (size_t start = 0; start <= text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  for (const std::string& line : lines) {
    FUZZ_ASSERT(valid_utf8(tokenize_13a(line)));
    FUZZ_ASSERT(valid_utf8(tokenize_intl(line)));
    FUZZ_ASSERT(valid_utf8(tokenize_char(line)));
    // `none` returns valid UTF-8 as it is and repairs anything else.
    const std::string none = tokenize(Tokenizer::kNone, line);
    FUZZ_ASSERT(valid_utf8(none));
    FUZZ_ASSERT(!valid_utf8(line) || none == line);
  }

  BleuOptions bleu;
  bleu.lowercase = flags & 1;
  bleu.tokenizer = static_cast<Tokenizer>((flags >> 1) & 3);
  bleu.smooth_method = static_cast<SmoothMethod>((flags >> 3) & 3);
  bleu.max_ngram_order = 1 + ((flags >> 5) & 3);
  ChrfOptions chrf;
  chrf.word_order = (flags >> 7) & 1 ? 2 : 0;
  chrf.whitespace = flags & 2;
  chrf.lowercase = flags & 1;

  std::vector<std::string> hyps, refs;
  for (size_t i = 0; i + 1 < lines.size(); i += 2) {
    hyps.push_back(lines[i]);
    refs.push_back(lines[i + 1]);
  }
  if (hyps.empty()) return 0;
  const std::vector<std::vector<std::string>> streams = {refs};
  try {
    const BleuScore corpus = corpus_bleu(hyps, streams, bleu);
    check_score(corpus.score);
    BleuStats sum(bleu.max_ngram_order);
    for (size_t i = 0; i < hyps.size(); ++i) {
      if (refs[i].empty()) continue;  // skipped segments do not count
      sum += bleu_segment_stats(hyps[i], {refs[i]}, bleu);
    }
    FUZZ_ASSERT(sum.sys_len == corpus.sys_len && sum.ref_len == corpus.ref_len);
    FUZZ_ASSERT(sum.correct == corpus.counts);
  } catch (const revnmt::InputError&) {
  }
  try {
    check_score(corpus_chrf(hyps, streams, chrf).score);
  } catch (const revnmt::InputError&) {
  }
  for (size_t i = 0; i < hyps.size() && i < 8; ++i) {
    try {
      check_score(sentence_bleu(hyps[i], {refs[i]}, bleu).score);
    } catch (const revnmt::InputError&) {
    }
    try {
      check_score(sentence_chrf(hyps[i], {refs[i]}, chrf).score);
    } catch (const revnmt::InputError&) {
    }
  }
  return 0;
}
