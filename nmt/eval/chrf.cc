#include "nmt/eval/chrf.h"

#include <algorithm>

#include "nmt/core/error.h"
#include "nmt/eval/ngram_counter.h"
#include "nmt/eval/text.h"

namespace revnmt::eval {

namespace {

// Python's string.punctuation, the set chrF++ splits off words.
bool is_ascii_punctuation(char32_t cp) {
  return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) || (cp >= 0x5B && cp <= 0x60) ||
         (cp >= 0x7B && cp <= 0x7E);
}

// One side (hypothesis or a reference) of a segment, ready for counting.
struct Side {
  std::u32string text;  // lowercased if asked
  std::vector<uint32_t> chars;
  std::vector<std::string> words;  // after punctuation splitting (chrF++ only)
  std::vector<uint32_t> word_ids;
};

// sacreBLEU's CHRF._remove_punctuation: a word longer than one character loses a trailing
// punctuation mark, or else a leading one (only one of them: "(hi)" -> "(hi", ")").
std::vector<std::string> split_punctuation(const std::u32string& text) {
  std::vector<std::string> words;
  const std::string utf8 = encode_utf8(text);
  for (std::string_view token : split_whitespace(utf8)) {
    const std::u32string word = decode_utf8(token);
    if (word.size() == 1) {
      words.emplace_back(token);
    } else if (is_ascii_punctuation(word.back())) {
      words.push_back(encode_utf8(std::u32string_view(word).substr(0, word.size() - 1)));
      words.push_back(encode_utf8(std::u32string_view(word).substr(word.size() - 1)));
    } else if (is_ascii_punctuation(word.front())) {
      words.push_back(encode_utf8(std::u32string_view(word).substr(0, 1)));
      words.push_back(encode_utf8(std::u32string_view(word).substr(1)));
    } else {
      words.emplace_back(token);
    }
  }
  return words;
}

Side prepare(std::string_view segment, const ChrfOptions& options) {
  Side side;
  side.text = decode_utf8(segment);
  if (options.lowercase) side.text = lowercase(side.text);
  side.chars.reserve(side.text.size());
  for (char32_t cp : side.text)
    if (options.whitespace || !is_space(cp)) side.chars.push_back(cp);
  if (options.word_order > 0) side.words = split_punctuation(side.text);
  return side;
}

// sacreBLEU's CHRF._get_match_statistics for one order.
void match_statistics(const NGramCounts& hyp, const NGramCounts& ref, int64_t* out) {
  int64_t hyp_count = 0, ref_count = 0, matched = 0;
  for (const auto& [ngram, count] : hyp) {
    hyp_count += count;
    const auto it = ref.find(ngram);
    if (it != ref.end()) matched += std::min(count, it->second);
  }
  for (const auto& entry : ref) ref_count += entry.second;
  out[0] = ref.empty() ? 0 : hyp_count;  // no reference n-grams of this order: no hits counted
  out[1] = ref_count;
  out[2] = matched;
}

ChrfStats side_stats(const Side& hyp, const Side& ref, const ChrfOptions& options) {
  ChrfStats stats(options);
  NGramCounts hyp_counts, ref_counts;
  int64_t* out = stats.values.data();
  for (int n = 1; n <= options.char_order; ++n, out += 3) {
    hyp_counts.clear();
    ref_counts.clear();
    count_ngrams(hyp.chars, n, n, hyp_counts);
    count_ngrams(ref.chars, n, n, ref_counts);
    match_statistics(hyp_counts, ref_counts, out);
  }
  for (int n = 1; n <= options.word_order; ++n, out += 3) {
    hyp_counts.clear();
    ref_counts.clear();
    count_ngrams(hyp.word_ids, n, n, hyp_counts);
    count_ngrams(ref.word_ids, n, n, ref_counts);
    match_statistics(hyp_counts, ref_counts, out);
  }
  return stats;
}

ChrfStats segment_stats(std::string_view hypothesis, const std::vector<std::string_view>& refs,
                        const ChrfOptions& options) {
  Side hyp = prepare(hypothesis, options);
  std::vector<Side> sides;
  sides.reserve(refs.size());
  for (std::string_view ref : refs) sides.push_back(prepare(ref, options));
  if (options.word_order > 0) {
    TokenVocabulary vocabulary;  // views into the words, which stay put from here on
    auto to_views = [](const std::vector<std::string>& words) {
      return std::vector<std::string_view>(words.begin(), words.end());
    };
    hyp.word_ids = vocabulary.ids(to_views(hyp.words));
    for (Side& side : sides) side.word_ids = vocabulary.ids(to_views(side.words));
  }
  ChrfStats best(options);
  double best_f = -1.0;
  for (const Side& ref : sides) {
    ChrfStats stats = side_stats(hyp, ref, options);
    const double f = chrf_f_score(stats, options);
    if (f > best_f) {  // the first reference wins ties
      best_f = f;
      best = std::move(stats);
    }
  }
  return best;
}

std::vector<std::string_view> non_empty(const std::vector<std::string>& refs) {
  std::vector<std::string_view> out;
  for (const std::string& ref : refs)
    if (!ref.empty()) out.emplace_back(ref);
  return out;
}

}  // namespace

void ChrfOptions::validate() const {
  require(char_order >= 0 && word_order >= 0, "chrF: n-gram orders must not be negative (got ",
          "char order ", char_order, ", word order ", word_order, ")");
  require(char_order + word_order > 0, "chrF: the character and word orders are both 0");
  require(beta >= 0, "chrF: beta must not be negative, got ", beta);
}

ChrfStats& ChrfStats::operator+=(const ChrfStats& other) {
  REVNMT_CHECK(values.size() == other.values.size(), "chrF statistics of different orders");
  for (size_t i = 0; i < values.size(); ++i) values[i] += other.values[i];
  return *this;
}

double chrf_f_score(const ChrfStats& stats, const ChrfOptions& options) {
  const int order = options.char_order + options.word_order;
  REVNMT_CHECK(stats.values.size() == 3 * static_cast<size_t>(order),
               "chrF statistics do not match the options");
  constexpr double kEps = 1e-16;
  const double factor = static_cast<double>(options.beta) * options.beta;
  double score = 0.0;
  double avg_precision = 0.0, avg_recall = 0.0;
  int effective_order = 0;
  for (int i = 0; i < order; ++i) {
    const int64_t n_hyp = stats.values[3 * i];
    const int64_t n_ref = stats.values[3 * i + 1];
    const int64_t n_match = stats.values[3 * i + 2];
    const double precision = n_hyp > 0 ? static_cast<double>(n_match) / n_hyp : kEps;
    const double recall = n_ref > 0 ? static_cast<double>(n_match) / n_ref : kEps;
    const double denominator = factor * precision + recall;
    score += denominator > 0 ? (1 + factor) * precision * recall / denominator : kEps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_precision += precision;
      avg_recall += recall;
      ++effective_order;
    }
  }
  if (options.eps_smoothing) return 100 * score / order;
  if (effective_order == 0) return 0.0;
  avg_precision /= effective_order;
  avg_recall /= effective_order;
  if (avg_precision + avg_recall == 0.0) return 0.0;
  double f = (1 + factor) * avg_precision * avg_recall;
  f /= factor * avg_precision + avg_recall;
  return 100 * f;
}

ChrfStats chrf_segment_stats(std::string_view hypothesis,
                             const std::vector<std::string>& references,
                             const ChrfOptions& options) {
  options.validate();
  const auto refs = non_empty(references);
  require(!refs.empty(), "chrF: a segment has no non-empty reference");
  return segment_stats(hypothesis, refs, options);
}

ChrfScore corpus_chrf(const std::vector<std::string>& hyps,
                      const std::vector<std::vector<std::string>>& ref_streams,
                      const ChrfOptions& options) {
  options.validate();
  require(!ref_streams.empty(), "chrF: at least one reference stream is needed");
  for (size_t r = 0; r < ref_streams.size(); ++r)
    require(ref_streams[r].size() == hyps.size(), "chrF: reference stream ", r + 1, " has ",
            ref_streams[r].size(), " segments but there are ", hyps.size(), " hypotheses");
  ChrfStats total(options);
  int num_refs = static_cast<int>(ref_streams.size());
  std::vector<std::string_view> refs;
  for (size_t i = 0; i < hyps.size(); ++i) {
    refs.clear();
    for (const auto& stream : ref_streams)
      if (!stream[i].empty()) refs.emplace_back(stream[i]);
    require(!refs.empty(), "chrF: segment ", i + 1, " has no non-empty reference");
    const int count = static_cast<int>(refs.size());
    if (i == 0) num_refs = count;
    if (i > 0 && count != num_refs) num_refs = kVariableRefs;
    total += segment_stats(hyps[i], refs, options);
  }
  ChrfScore result;
  result.score = chrf_f_score(total, options);
  result.options = options;
  result.num_refs = num_refs;
  return result;
}

ChrfScore sentence_chrf(std::string_view hypothesis, const std::vector<std::string>& references,
                        const ChrfOptions& options) {
  ChrfScore result;
  result.score = chrf_f_score(chrf_segment_stats(hypothesis, references, options), options);
  result.options = options;
  result.num_refs = static_cast<int>(non_empty(references).size());
  return result;
}

std::string ChrfScore::name() const {
  return "chrF" + std::to_string(options.beta) +
         std::string(static_cast<size_t>(options.word_order), '+');
}

std::string ChrfScore::signature(bool short_form) const {
  return format_signature(report().signature, short_form);
}

std::string ChrfScore::format(int width, bool score_only) const {
  return report().to_text(width, score_only);
}

ScoreReport ChrfScore::report() const {
  ScoreReport report;
  report.name = name();
  report.score = score;
  report.signature = {
      {"nrefs", "#", nrefs_value(num_refs)},
      {"case", "c", options.lowercase ? "lc" : "mixed"},
      {"eff", "e", options.eps_smoothing ? "no" : "yes"},
      {"nc", "nc", std::to_string(options.char_order)},
      {"nw", "nw", std::to_string(options.word_order)},
      {"space", "s", options.whitespace ? "yes" : "no"},
      {"version", "v", kSacrebleuVersion},
  };
  return report;
}

}  // namespace revnmt::eval
