#include "nmt/data/corpus.h"

#include <exception>

#include "nmt/core/error.h"
#include "nmt/data/line_reader.h"
#include "nmt/core/utf8.h"

namespace revnmt {

namespace {

// Pairs are read in blocks and encoded in parallel (SentencePiece encoding is const and
// thread-safe); the block is then filtered in file order, so the result is deterministic.
constexpr size_t kBlock = 8192;

struct Block {
  std::vector<std::string> src, tgt;
  std::vector<std::vector<int32_t>> src_ids, tgt_ids;
  int64_t first_line = 0;
};

void encode_block(Block& block, const Vocab& src_vocab, const Vocab& tgt_vocab) {
  const int64_t n = static_cast<int64_t>(block.src.size());
  block.src_ids.assign(n, {});
  block.tgt_ids.assign(n, {});
  std::exception_ptr error;
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < n; ++i) {
    if (trim_ascii_space(block.src[i]).empty() || trim_ascii_space(block.tgt[i]).empty()) continue;
    try {
      block.src_ids[i] = src_vocab.encode(block.src[i]);
      block.tgt_ids[i] = tgt_vocab.encode(block.tgt[i]);
    } catch (...) {
#pragma omp critical(revnmt_corpus_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace

void ParallelCorpus::add(const std::vector<int32_t>& src, const std::vector<int32_t>& tgt,
                         int64_t line) {
  src_ids_arena_.insert(src_ids_arena_.end(), src.begin(), src.end());
  tgt_ids_arena_.insert(tgt_ids_arena_.end(), tgt.begin(), tgt.end());
  src_offsets_.push_back(static_cast<int64_t>(src_ids_arena_.size()));
  tgt_offsets_.push_back(static_cast<int64_t>(tgt_ids_arena_.size()));
  lines_.push_back(line);
}

ParallelCorpus ParallelCorpus::load(const std::string& src_path, const std::string& tgt_path,
                                    const Vocab& src_vocab, const Vocab& tgt_vocab,
                                    const CorpusOptions& options) {
  require(options.max_length >= 0, "max length must not be negative, not ", options.max_length);
  ParallelCorpus corpus({src_vocab.bos_id(), src_vocab.eos_id(), src_vocab.pad_id()},
                        {tgt_vocab.bos_id(), tgt_vocab.eos_id(), tgt_vocab.pad_id()});
  LineReader src_reader(src_path, BadBytes::reject);
  LineReader tgt_reader(tgt_path, BadBytes::reject);
  CorpusStats& stats = corpus.stats_;
  Block block;
  bool more = true;
  while (more) {
    block.src.clear();
    block.tgt.clear();
    block.first_line = stats.lines + 1;
    std::string s, t;
    while (block.src.size() < kBlock) {
      const bool has_src = src_reader.next(s);
      const bool has_tgt = tgt_reader.next(t);
      if (has_src != has_tgt) {
        const int64_t line = has_src ? src_reader.line_number() : tgt_reader.line_number();
        const auto& ended = has_src ? tgt_reader.display_name() : src_reader.display_name();
        const auto& longer = has_src ? src_reader.display_name() : tgt_reader.display_name();
        if (line == 1) fail(ended, ": empty file, expected one sentence per line");
        fail("line-count mismatch between source ", src_reader.display_name(), " and target ",
             tgt_reader.display_name(), ": ", ended, " ends after line ", line - 1, " but ", longer,
             " continues at line ", line);
      }
      if (!has_src) {
        more = false;
        break;
      }
      block.src.push_back(std::move(s));
      block.tgt.push_back(std::move(t));
      ++stats.lines;
    }
    if (stats.lines == 0)
      fail(src_reader.display_name(), ": empty file, expected one sentence per line (",
           tgt_reader.display_name(), " is empty too)");
    encode_block(block, src_vocab, tgt_vocab);
    for (size_t i = 0; i < block.src.size(); ++i) {
      const auto& src = block.src_ids[i];
      const auto& tgt = block.tgt_ids[i];
      if (src.empty() || tgt.empty()) {
        ++stats.empty;
      } else if (options.max_length > 0 &&
                 (static_cast<int64_t>(src.size()) > options.max_length ||
                  static_cast<int64_t>(tgt.size()) > options.max_length)) {
        ++stats.too_long;
      } else {
        corpus.add(src, tgt, block.first_line + static_cast<int64_t>(i));
        ++stats.kept;
      }
    }
  }
  if (stats.kept == 0)
    fail(src_reader.display_name(), ", ", tgt_reader.display_name(), ": no sentence pair left (",
         stats.empty, " empty, ", stats.too_long, " longer than max length ", options.max_length,
         ")");
  return corpus;
}

}  // namespace revnmt
