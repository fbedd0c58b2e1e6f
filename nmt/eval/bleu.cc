#include "nmt/eval/bleu.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "nmt/core/error.h"
#include "nmt/eval/ngram_counter.h"
#include "nmt/eval/text.h"

namespace revnmt::eval {

namespace {

// sacreBLEU's utils.my_log: log(0) is floored to a huge negative number instead of -inf, so a
// zero precision drives the geometric mean (and the score) to exactly 0.
double floored_log(double x) { return x == 0.0 ? -9999999999.0 : std::log(x); }

// sacreBLEU's BLEU._preprocess_segment: optional lowercasing, rstrip, tokenization; the result
// is then split on whitespace by the n-gram extraction.
std::string preprocess(std::string_view segment, const BleuOptions& options) {
  std::string text = sanitize_utf8(segment);
  if (options.lowercase) text = lowercase(text);
  const std::string_view stripped = rstrip_whitespace(text);
  if (options.tokenizer == Tokenizer::kNone) return std::string(stripped);
  return tokenize(options.tokenizer, stripped);
}

// Statistics of one hypothesis against its already-filtered (non-empty) references.
BleuStats segment_stats(std::string_view hypothesis, const std::vector<std::string_view>& refs,
                        const BleuOptions& options) {
  const int max_order = options.max_ngram_order;
  BleuStats stats(max_order);
  TokenVocabulary vocabulary;

  // The strings must outlive the token views and the n-gram views into the id sequences.
  std::vector<std::string> texts;
  texts.reserve(refs.size() + 1);
  texts.push_back(preprocess(hypothesis, options));
  for (std::string_view ref : refs) texts.push_back(preprocess(ref, options));
  std::vector<std::vector<uint32_t>> sequences;
  sequences.reserve(texts.size());
  for (const std::string& text : texts) sequences.push_back(vocabulary.ids(split_whitespace(text)));

  // Reference counts merged by max over references; closest reference length, ties -> shorter.
  const int64_t hyp_len = static_cast<int64_t>(sequences[0].size());
  NGramCounts ref_max;
  NGramCounts this_ref;
  int64_t closest_diff = -1;
  int64_t closest_len = -1;
  for (size_t r = 1; r < sequences.size(); ++r) {
    const int64_t ref_len = static_cast<int64_t>(sequences[r].size());
    const int64_t diff = std::llabs(hyp_len - ref_len);
    if (closest_diff == -1 || diff < closest_diff) {
      closest_diff = diff;
      closest_len = ref_len;
    } else if (diff == closest_diff && ref_len < closest_len) {
      closest_len = ref_len;
    }
    this_ref.clear();
    count_ngrams(sequences[r], 1, max_order, this_ref);
    for (const auto& [ngram, count] : this_ref) {
      int64_t& merged = ref_max[ngram];
      if (count > merged) merged = count;
    }
  }

  NGramCounts hyp_counts;
  count_ngrams(sequences[0], 1, max_order, hyp_counts);
  for (const auto& [ngram, count] : hyp_counts) {
    const size_t order = ngram.size - 1;
    stats.total[order] += count;
    const auto it = ref_max.find(ngram);
    if (it != ref_max.end()) stats.correct[order] += std::min(count, it->second);
  }
  stats.sys_len = hyp_len;
  stats.ref_len = closest_len;
  return stats;
}

std::vector<std::string_view> non_empty(const std::vector<std::string>& refs) {
  std::vector<std::string_view> out;
  for (const std::string& ref : refs)
    if (!ref.empty()) out.emplace_back(ref);
  return out;
}

}  // namespace

const char* smooth_method_name(SmoothMethod method) {
  switch (method) {
    case SmoothMethod::kExp:
      return "exp";
    case SmoothMethod::kFloor:
      return "floor";
    case SmoothMethod::kAddK:
      return "add-k";
    case SmoothMethod::kNone:
      return "none";
  }
  return "?";
}

SmoothMethod parse_smooth_method(std::string_view name) {
  for (SmoothMethod m :
       {SmoothMethod::kExp, SmoothMethod::kFloor, SmoothMethod::kAddK, SmoothMethod::kNone})
    if (name == smooth_method_name(m)) return m;
  fail("unknown smoothing method '", name, "' (expected one of: exp, floor, add-k, none)");
}

std::optional<double> default_smooth_value(SmoothMethod method) {
  switch (method) {
    case SmoothMethod::kFloor:
      return 0.1;
    case SmoothMethod::kAddK:
      return 1.0;
    default:
      return std::nullopt;
  }
}

void BleuOptions::validate() const {
  require(max_ngram_order >= 1, "BLEU: max n-gram order must be at least 1, got ", max_ngram_order);
  require(!smooth_value || std::isfinite(*smooth_value),
          "BLEU: the smoothing value must be a finite number");
}

double BleuOptions::resolved_smooth_value() const {
  if (smooth_value) return *smooth_value;
  return default_smooth_value(smooth_method).value_or(0.0);
}

BleuStats& BleuStats::operator+=(const BleuStats& other) {
  REVNMT_CHECK(correct.size() == other.correct.size(), "BLEU statistics of different orders");
  sys_len += other.sys_len;
  ref_len += other.ref_len;
  for (size_t i = 0; i < correct.size(); ++i) {
    correct[i] += other.correct[i];
    total[i] += other.total[i];
  }
  return *this;
}

std::vector<std::string> bleu_tokens(std::string_view segment, const BleuOptions& options) {
  const std::string text = preprocess(segment, options);
  std::vector<std::string> tokens;
  for (std::string_view token : split_whitespace(text)) tokens.emplace_back(token);
  return tokens;
}

BleuStats bleu_segment_stats(std::string_view hypothesis,
                             const std::vector<std::string>& references,
                             const BleuOptions& options) {
  options.validate();
  const auto refs = non_empty(references);
  require(!refs.empty(), "BLEU: a segment has no non-empty reference");
  return segment_stats(hypothesis, refs, options);
}

BleuScore compute_bleu(const BleuStats& stats, const BleuOptions& options, int num_refs) {
  options.validate();
  const int max_order = options.max_ngram_order;
  REVNMT_CHECK(stats.correct.size() == static_cast<size_t>(max_order) &&
                   stats.total.size() == static_cast<size_t>(max_order),
               "BLEU statistics do not match max_ngram_order");
  BleuScore result;
  result.options = options;
  result.num_refs = num_refs;
  result.sys_len = stats.sys_len;
  result.ref_len = stats.ref_len;
  result.counts = stats.correct;
  result.totals = stats.total;
  result.precisions.assign(static_cast<size_t>(max_order), 0.0);
  result.ratio = stats.ref_len != 0
                     ? static_cast<double>(stats.sys_len) / static_cast<double>(stats.ref_len)
                     : 0.0;
  if (stats.sys_len < stats.ref_len) {
    result.bp = stats.sys_len > 0 ? std::exp(1.0 - static_cast<double>(stats.ref_len) /
                                                       static_cast<double>(stats.sys_len))
                                  : 0.0;
  } else {
    result.bp = 1.0;
  }

  // No matching n-gram at all: score 0 (sacreBLEU #141), whatever the smoothing.
  bool any_correct = false;
  for (int64_t c : stats.correct) any_correct = any_correct || c != 0;
  if (!any_correct) return result;

  const SmoothMethod method = options.smooth_method;
  const double smooth_value = options.resolved_smooth_value();
  double smooth_mteval = 1.0;
  int eff_order = max_order;
  for (int n = 1; n <= max_order; ++n) {
    double correct = static_cast<double>(stats.correct[n - 1]);
    double total = static_cast<double>(stats.total[n - 1]);
    if (method == SmoothMethod::kAddK && n > 1) {
      correct += smooth_value;
      total += smooth_value;
    }
    if (total == 0.0) break;
    if (options.effective_order) eff_order = n;
    double& precision = result.precisions[n - 1];
    if (correct == 0.0) {
      if (method == SmoothMethod::kExp) {
        smooth_mteval *= 2.0;
        precision = 100.0 / (smooth_mteval * total);
      } else if (method == SmoothMethod::kFloor) {
        precision = 100.0 * smooth_value / total;
      }
    } else {
      precision = 100.0 * correct / total;
    }
  }
  // Summed left to right like Python's sum(), for bit-identical results.
  double log_sum = 0.0;
  for (int n = 0; n < eff_order; ++n) log_sum += floored_log(result.precisions[n]);
  result.score = result.bp * std::exp(log_sum / eff_order);
  return result;
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& ref_streams,
                      const BleuOptions& options) {
  options.validate();
  require(!ref_streams.empty(), "BLEU: at least one reference stream is needed");
  for (size_t r = 0; r < ref_streams.size(); ++r)
    require(ref_streams[r].size() == hyps.size(), "BLEU: reference stream ", r + 1, " has ",
            ref_streams[r].size(), " segments but there are ", hyps.size(), " hypotheses");
  BleuStats total(options.max_ngram_order);
  int num_refs = static_cast<int>(ref_streams.size());
  bool first = true;
  std::vector<std::string_view> refs;
  for (size_t i = 0; i < hyps.size(); ++i) {
    refs.clear();
    for (const auto& stream : ref_streams)
      if (!stream[i].empty()) refs.emplace_back(stream[i]);
    require(!refs.empty(), "BLEU: segment ", i + 1, " has no non-empty reference");
    const int count = static_cast<int>(refs.size());
    if (first) num_refs = count;
    if (!first && count != num_refs) num_refs = kVariableRefs;
    first = false;
    total += segment_stats(hyps[i], refs, options);
  }
  return compute_bleu(total, options, num_refs);
}

BleuScore sentence_bleu(std::string_view hypothesis, const std::vector<std::string>& references,
                        BleuOptions options) {
  options.effective_order = true;
  const BleuStats stats = bleu_segment_stats(hypothesis, references, options);
  return compute_bleu(stats, options, static_cast<int>(non_empty(references).size()));
}

std::string BleuScore::signature(bool short_form) const {
  return format_signature(report().signature, short_form);
}

std::string BleuScore::verbose() const {
  std::string out;
  for (size_t i = 0; i < precisions.size(); ++i) {
    if (i > 0) out.push_back('/');
    out += format_fixed(precisions[i], 1);
  }
  out += " (BP = " + format_fixed(bp, 3) + " ratio = " + format_fixed(ratio, 3) +
         " hyp_len = " + std::to_string(sys_len) + " ref_len = " + std::to_string(ref_len) + ")";
  return out;
}

std::string BleuScore::format(int width, bool score_only) const {
  return report().to_text(width, score_only);
}

ScoreReport BleuScore::report() const {
  std::string smooth = smooth_method_name(options.smooth_method);
  if (default_smooth_value(options.smooth_method))  // methods that take a value print it
    smooth += "[" + format_fixed(options.resolved_smooth_value(), 2) + "]";
  ScoreReport report;
  report.name = "BLEU";
  report.score = score;
  report.verbose = verbose();
  report.signature = {
      {"nrefs", "#", nrefs_value(num_refs)},
      {"case", "c", options.lowercase ? "lc" : "mixed"},
      {"eff", "e", options.effective_order ? "yes" : "no"},
      {"tok", "tok", tokenizer_name(options.tokenizer)},
      {"smooth", "s", smooth},
      {"version", "v", kSacrebleuVersion},
  };
  return report;
}

}  // namespace revnmt::eval
