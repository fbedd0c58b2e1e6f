#include "nmt/decode/translator.h"

#include <algorithm>
#include <numeric>

#include "nmt/core/error.h"
#include "nmt/core/log.h"

namespace revnmt {

namespace {

constexpr const char* kSpaceMarker = "\xE2\x96\x81";   // U+2581, SentencePiece's space
constexpr const char* kUnkSurface = " \xE2\x81\x87 ";  // " ⁇ ", SentencePiece's unk text

bool any_replacement(const std::vector<int32_t>& unk_source) {
  return std::any_of(unk_source.begin(), unk_source.end(), [](int32_t s) { return s >= 0; });
}

}  // namespace

SearchOptions search_options(const TranslateOptions& options) {
  SearchOptions search;
  search.beam = options.beam;
  search.n_best = options.n_best;
  search.alpha = options.alpha;
  search.max_length_ratio = options.max_length_ratio;
  search.max_length_offset = options.max_length_offset;
  search.unk_positions = options.replace_unk;
  return search;
}

std::string decode_with_replacements(const Vocab& tgt_vocab, const std::vector<int32_t>& tokens,
                                     const std::vector<int32_t>& unk_source,
                                     const std::vector<std::string>& source_pieces) {
  if (!any_replacement(unk_source)) return tgt_vocab.decode(tokens);
  std::string joined;
  for (size_t i = 0; i < tokens.size(); ++i) {
    const int32_t token = tokens[i];
    if (token == tgt_vocab.eos_id()) break;
    if (token == tgt_vocab.bos_id() || token == tgt_vocab.pad_id()) continue;
    if (token == tgt_vocab.unk_id()) {
      const int32_t s = i < unk_source.size() ? unk_source[i] : -1;
      joined += s >= 0 && size_t(s) < source_pieces.size() ? source_pieces[s] : kUnkSurface;
      continue;
    }
    joined += tgt_vocab.piece(token);
  }
  std::string text;
  text.reserve(joined.size());
  for (size_t i = 0; i < joined.size();) {
    if (joined.compare(i, 3, kSpaceMarker) == 0) {
      text += ' ';
      i += 3;
    } else {
      text += joined[i++];
    }
  }
  if (!text.empty() && text[0] == ' ') text.erase(0, 1);  // the dummy prefix
  return text;
}

Translator::Translator(Seq2Seq& model, const Vocab& src_vocab, const Vocab& tgt_vocab,
                       const TranslateOptions& options)
    : model_(model),
      src_vocab_(src_vocab),
      tgt_vocab_(tgt_vocab),
      options_(options),
      search_(search_options(options)),
      decoder_(model, src_vocab.eos_id(), src_vocab.pad_id()) {
  require(options.batch >= 1, "batch size must be at least 1, not ", options.batch);
  require(model.tgt_vocab() == tgt_vocab.size(), "the target vocabulary has ", tgt_vocab.size(),
          " pieces but the model expects ", model.tgt_vocab());
  require(model.src_vocab() == src_vocab.size(), "the source vocabulary has ", src_vocab.size(),
          " pieces but the model expects ", model.src_vocab());
}

std::vector<std::vector<Hypothesis>> Translator::translate(
    const std::vector<std::string>& sources) {
  std::vector<std::vector<int32_t>> ids(sources.size());
  std::vector<std::vector<std::string>> pieces(options_.replace_unk ? sources.size() : 0);
  for (size_t i = 0; i < sources.size(); ++i)
    src_vocab_.encode(sources[i], &ids[i], options_.replace_unk ? &pieces[i] : nullptr);
  return translate_ids(ids, pieces);
}

std::vector<std::string> Translator::translate_best(const std::vector<std::string>& sources) {
  const auto lists = translate(sources);
  std::vector<std::string> best;
  best.reserve(lists.size());
  for (const auto& list : lists) best.push_back(list.empty() ? std::string() : list[0].text);
  return best;
}

std::vector<std::vector<Hypothesis>> Translator::translate_ids(
    const std::vector<std::vector<int32_t>>& sources,
    const std::vector<std::vector<std::string>>& source_pieces) {
  const size_t n = sources.size();
  require(!options_.replace_unk || source_pieces.size() == n,
          "replace_unk needs the source pieces of every sentence");
  std::vector<std::vector<Hypothesis>> results(n);
  std::vector<size_t> order;
  order.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    for (const int32_t id : sources[i])
      require(id >= 0 && id < model_.src_vocab(), "source token id ", id,
              " outside the vocabulary of ", model_.src_vocab());
    if (sources[i].empty())
      results[i].push_back(Hypothesis{});  // an empty source translates to an empty line
    else
      order.push_back(i);
    stats_.source_tokens += int64_t(sources[i].size());
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return sources[a].size() > sources[b].size(); });

  const int64_t padded_budget = int64_t(options_.batch) * kPaddedTokensPerSentence;
  const Seq2Seq::FixedDecodeWeights fixed(model_);  // packed once for all the batches
  std::vector<std::vector<int32_t>> batch;
  for (size_t begin = 0; begin < order.size();) {
    // Sorted by decreasing length: the first sentence sets the padded length.
    const int64_t steps = int64_t(sources[order[begin]].size()) + 1;
    size_t end = begin + 1;
    while (end < order.size() && int(end - begin) < options_.batch &&
           int64_t(end - begin + 1) * steps <= padded_budget)
      ++end;
    batch.clear();
    for (size_t k = begin; k < end; ++k) batch.push_back(sources[order[k]]);
    const auto lists = search_batch(batch);
    for (size_t k = begin; k < end; ++k) {
      const size_t i = order[k];
      const std::vector<std::string>* pieces = options_.replace_unk ? &source_pieces[i] : nullptr;
      for (const SearchHypothesis& found : lists[k - begin])
        results[i].push_back(to_hypothesis(found, pieces));
    }
    begin = end;
  }
  for (const auto& list : results) {
    ++stats_.sentences;
    if (!list.empty()) stats_.target_tokens += int64_t(list[0].tokens.size());
  }
  return results;
}

std::vector<std::vector<SearchHypothesis>> Translator::search_batch(
    const std::vector<std::vector<int32_t>>& batch) {
  try {
    auto lists = search_.search(decoder_, batch);
    stats_.decoder_steps += search_.last_steps();
    stats_.decoder_rows += search_.last_rows();
    return lists;
  } catch (const RangeError& e) {
    if (batch.size() > 1) {
      std::vector<std::vector<SearchHypothesis>> lists;
      for (const auto& source : batch)
        lists.push_back(search_batch(std::vector<std::vector<int32_t>>{source})[0]);
      return lists;
    }
    log_warn("a sentence of ", batch[0].size(),
             " source tokens could not be translated and is left empty: ", e.what());
    ++stats_.failed;
    return {{SearchHypothesis{}}};
  }
}

Hypothesis Translator::to_hypothesis(const SearchHypothesis& found,
                                     const std::vector<std::string>* source_pieces) const {
  Hypothesis hyp;
  hyp.tokens = found.tokens;
  hyp.score = found.score;
  hyp.log_prob = found.log_prob;
  hyp.text = source_pieces != nullptr ? decode_with_replacements(tgt_vocab_, found.tokens,
                                                                 found.unk_source, *source_pieces)
                                      : tgt_vocab_.decode(found.tokens);
  return hyp;
}

}  // namespace revnmt
