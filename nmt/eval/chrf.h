#pragma once
// chrF and chrF++ with sacreBLEU 2.x semantics (mjpost/sacrebleu v2.6.0, metrics/chrf.py):
// character n-grams of order 1..char_order over code points (whitespace removed unless
// `whitespace`), plus word n-grams of order 1..word_order (chrF++) after splitting one leading or
// trailing ASCII punctuation mark off each word. Statistics are summed over segments; with
// several references a segment uses the reference with the best segment-level score.
// Scores are on the 0-100 scale.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "nmt/eval/score_report.h"

namespace revnmt::eval {

struct ChrfOptions {
  int char_order = 6;
  int word_order = 0;  // 2 = chrF++
  int beta = 2;
  bool lowercase = false;
  bool whitespace = false;  // keep whitespace inside character n-grams
  // true: chrF++.py/NLTK/Moses epsilon smoothing over all orders; false (sacreBLEU 2.x default):
  // average precision and recall over the orders that both sides have ("eff:yes").
  bool eps_smoothing = false;

  // Throws InputError for negative orders, no order at all, or a negative beta.
  void validate() const;
};

// Per order (character orders first, then word orders): hypothesis n-grams, reference n-grams,
// matched n-grams.
struct ChrfStats {
  std::vector<int64_t> values;  // 3 * (char_order + word_order)

  explicit ChrfStats(const ChrfOptions& options = {})
      : values(3 * static_cast<size_t>(options.char_order + options.word_order), 0) {}
  ChrfStats& operator+=(const ChrfStats& other);
};

struct ChrfScore {
  double score = 0.0;  // 0-100
  ChrfOptions options;
  int num_refs = 1;  // kVariableRefs when it varies

  // "chrF2", "chrF2++" (one '+' per word order, as sacreBLEU names it).
  std::string name() const;
  // "nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0".
  std::string signature(bool short_form = false) const;
  // "chrF2|<signature> = 53.60".
  std::string format(int width = 2, bool score_only = false) const;
  ScoreReport report() const;
};

// The F-score (0-100) of summed statistics (sacreBLEU's CHRF._compute_f_score).
double chrf_f_score(const ChrfStats& stats, const ChrfOptions& options);

// Statistics of one segment: the best-scoring non-empty reference (InputError when none).
ChrfStats chrf_segment_stats(std::string_view hypothesis,
                             const std::vector<std::string>& references,
                             const ChrfOptions& options);

// `ref_streams[r][i]` is reference r of segment i.
ChrfScore corpus_chrf(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& ref_streams,
                      const ChrfOptions& options = {});
ChrfScore sentence_chrf(std::string_view hypothesis, const std::vector<std::string>& references,
                        const ChrfOptions& options = {});

}  // namespace revnmt::eval
