#pragma once
// Corpus and sentence BLEU with sacreBLEU 2.x semantics (mjpost/sacrebleu v2.6.0,
// metrics/bleu.py): the statistics are summed over segments (not an average of sentence
// scores); per segment the reference n-gram counts are merged by max across references and the
// reference length is the one closest to the hypothesis length (ties -> the shorter one).
// Empty hypotheses are kept; empty references are skipped, and a segment needs at least one
// non-empty reference. Scores are on the 0-100 scale.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nmt/eval/score_report.h"
#include "nmt/eval/tokenizer.h"

namespace revnmt::eval {

enum class SmoothMethod { kExp, kFloor, kAddK, kNone };

// "exp", "floor", "add-k", "none".
const char* smooth_method_name(SmoothMethod method);
// Throws InputError naming the valid choices for an unknown name.
SmoothMethod parse_smooth_method(std::string_view name);
// The value a method uses when none is given: floor 0.1, add-k 1 (exp and none take none).
std::optional<double> default_smooth_value(SmoothMethod method);

struct BleuOptions {
  bool lowercase = false;
  Tokenizer tokenizer = Tokenizer::k13a;
  SmoothMethod smooth_method = SmoothMethod::kExp;
  std::optional<double> smooth_value;  // unset: default_smooth_value(smooth_method)
  int max_ngram_order = 4;
  // Average only over the n-gram orders the hypothesis has (sentence-level BLEU).
  bool effective_order = false;

  // Throws InputError for a max_ngram_order below 1 or a non-finite smoothing value.
  void validate() const;
  double resolved_smooth_value() const;
};

// Sufficient statistics of one segment or of a whole corpus (the sum over segments).
struct BleuStats {
  int64_t sys_len = 0;
  int64_t ref_len = 0;
  std::vector<int64_t> correct;  // matched n-grams of order 1..max_ngram_order
  std::vector<int64_t> total;    // hypothesis n-grams of order 1..max_ngram_order

  explicit BleuStats(int max_ngram_order = 4)
      : correct(static_cast<size_t>(max_ngram_order), 0),
        total(static_cast<size_t>(max_ngram_order), 0) {}
  BleuStats& operator+=(const BleuStats& other);
};

struct BleuScore {
  double score = 0.0;              // 0-100
  std::vector<double> precisions;  // 0-100, one per order (smoothed as configured)
  double bp = 0.0;                 // brevity penalty
  double ratio = 0.0;              // sys_len / ref_len (0 when ref_len is 0)
  int64_t sys_len = 0;
  int64_t ref_len = 0;
  std::vector<int64_t> counts;  // matched n-grams per order (before add-k smoothing)
  std::vector<int64_t> totals;  // hypothesis n-grams per order (before add-k smoothing)
  BleuOptions options;
  int num_refs = 1;  // references per segment; kVariableRefs when it varies

  // "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0" (short: "#:1|c:mixed|...").
  std::string signature(bool short_form = false) const;
  // "82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)".
  std::string verbose() const;
  // The sacreBLEU text line: "BLEU|<signature> = 48.53 <verbose>".
  std::string format(int width = 2, bool score_only = false) const;
  ScoreReport report() const;
};

// Lowercases (optionally), strips trailing whitespace and tokenizes one segment, then splits it
// into tokens: sacreBLEU's BLEU preprocessing. Exposed for tests and for callers that cache.
std::vector<std::string> bleu_tokens(std::string_view segment, const BleuOptions& options);

// Statistics of one segment against its references (empty references are skipped; throws
// InputError when none is left).
BleuStats bleu_segment_stats(std::string_view hypothesis,
                             const std::vector<std::string>& references,
                             const BleuOptions& options);

// BLEU from statistics (sacreBLEU's BLEU.compute_bleu).
BleuScore compute_bleu(const BleuStats& stats, const BleuOptions& options, int num_refs = 1);

// `ref_streams[r][i]` is reference r of segment i; every stream must have hyps.size() lines
// (InputError otherwise).
BleuScore corpus_bleu(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& ref_streams,
                      const BleuOptions& options = {});

// Sentence-level BLEU as sacreBLEU's sentence_score with effective_order=True (the CLI and
// compat defaults); `options.effective_order` is forced on.
BleuScore sentence_bleu(std::string_view hypothesis, const std::vector<std::string>& references,
                        BleuOptions options = {});

}  // namespace revnmt::eval
