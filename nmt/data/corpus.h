#pragma once
// A parallel training corpus held as subword ids: all ids of one side in a single arena,
// sentence i being ids[offsets[i] .. offsets[i+1]) (no EOS stored).

#include <cstdint>
#include <string>
#include <vector>

#include "nmt/data/vocab.h"

namespace revnmt {

// A read-only view of one sentence's ids.
struct TokenSpan {
  const int32_t* data = nullptr;
  int32_t size = 0;
  const int32_t* begin() const { return data; }
  const int32_t* end() const { return data + size; }
  int32_t operator[](int32_t i) const { return data[i]; }
  std::vector<int32_t> to_vector() const { return {begin(), end()}; }
};

// The ids the batcher frames sentences with.
struct SpecialIds {
  int32_t bos = Vocab::kBosId;
  int32_t eos = Vocab::kEosId;
  int32_t pad = Vocab::kPadId;
};

struct CorpusOptions {
  int max_length = 0;  // skip pairs with more subwords than this on either side; 0 = no limit
};

struct CorpusStats {
  int64_t lines = 0;  // pairs read
  int64_t kept = 0;
  int64_t empty = 0;     // either side empty (after trimming, or no subwords)
  int64_t too_long = 0;  // either side longer than max_length
};

class ParallelCorpus {
 public:
  ParallelCorpus() = default;
  ParallelCorpus(SpecialIds src_ids, SpecialIds tgt_ids) : src_ids_(src_ids), tgt_ids_(tgt_ids) {}

  // Reads both files in lockstep (plain or gzip, invalid UTF-8 rejected), encodes every line
  // and keeps the pairs that pass the filters. Throws InputError for an empty file, a
  // line-count mismatch (naming both files) or when no pair is left.
  static ParallelCorpus load(const std::string& src_path, const std::string& tgt_path,
                             const Vocab& src_vocab, const Vocab& tgt_vocab,
                             const CorpusOptions& options);

  // Appends a pair (ids without EOS) read from 1-based line `line`.
  void add(const std::vector<int32_t>& src, const std::vector<int32_t>& tgt, int64_t line);

  int64_t size() const { return static_cast<int64_t>(lines_.size()); }
  TokenSpan src(int64_t i) const { return span(src_ids_arena_, src_offsets_, i); }
  TokenSpan tgt(int64_t i) const { return span(tgt_ids_arena_, tgt_offsets_, i); }
  int32_t src_length(int64_t i) const { return src(i).size; }
  int32_t tgt_length(int64_t i) const { return tgt(i).size; }
  // 1-based line of pair i in the input files.
  int64_t line_number(int64_t i) const { return lines_[i]; }
  int64_t src_tokens() const { return static_cast<int64_t>(src_ids_arena_.size()); }
  int64_t tgt_tokens() const { return static_cast<int64_t>(tgt_ids_arena_.size()); }

  const SpecialIds& src_special() const { return src_ids_; }
  const SpecialIds& tgt_special() const { return tgt_ids_; }
  const CorpusStats& stats() const { return stats_; }

 private:
  static TokenSpan span(const std::vector<int32_t>& arena, const std::vector<int64_t>& offsets,
                        int64_t i) {
    return {arena.data() + offsets[i], static_cast<int32_t>(offsets[i + 1] - offsets[i])};
  }

  SpecialIds src_ids_, tgt_ids_;
  std::vector<int32_t> src_ids_arena_, tgt_ids_arena_;
  std::vector<int64_t> src_offsets_{0}, tgt_offsets_{0};
  std::vector<int64_t> lines_;
  CorpusStats stats_;
};

}  // namespace revnmt
