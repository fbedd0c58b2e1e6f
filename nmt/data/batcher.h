#pragma once
// Length-bucketed mini-batches in the Marian/OpenNMT style. An epoch's plan is a pure
// function of (seed, epoch): shuffle the corpus (Philox), cut it into pools of
// `pool_batches` batches' worth of sentences (Marian's maxi-batch), sort each pool by
// length, cut it into batches, shuffle the batch order. A resumed run therefore needs only
// (epoch, batch position) to continue exactly.

#include <cstdint>
#include <vector>

#include "nmt/data/batch.h"
#include "nmt/data/corpus.h"

namespace revnmt {

struct BatcherOptions {
  int batch_size = 64;       // sentences per batch; ignored when batch_tokens > 0
  int64_t batch_tokens = 0;  // budget for rows * tgt_steps (target tokens incl. padding)
  int pool_batches = 100;    // batches' worth of sentences sorted together
  bool shuffle = true;       // false (validation): whole corpus sorted by length, no randomness
  uint64_t seed = 1;
};

// An epoch's batches in order; each lists corpus indices in the row order of its Batch.
using BatchPlan = std::vector<std::vector<int64_t>>;

class Batcher {
 public:
  // Keeps a reference to `corpus`, which must outlive the batcher.
  Batcher(const ParallelCorpus& corpus, const BatcherOptions& options);

  // Every corpus index appears exactly once. A sentence whose own padded target exceeds
  // batch_tokens forms a batch by itself.
  BatchPlan epoch_plan(int64_t epoch) const;

  // The padded batch for `indices` (any order): rows sorted by decreasing source length,
  // ties by corpus index.
  Batch make_batch(const std::vector<int64_t>& indices) const;

  const BatcherOptions& options() const { return options_; }
  // Sentences per pool.
  int64_t pool_size() const { return pool_size_; }

 private:
  void cut_into_batches(const std::vector<int64_t>& sorted, size_t begin, size_t end,
                        BatchPlan& plan) const;
  void sort_rows(std::vector<int64_t>& indices) const;

  const ParallelCorpus& corpus_;
  BatcherOptions options_;
  int64_t pool_size_ = 0;
};

// A source-only batch of `sources` (ids without EOS) in the given order, for translation:
// row b is sources[b] and index[b] == b; the tgt_* fields stay empty.
Batch make_source_batch(const std::vector<std::vector<int32_t>>& sources, int32_t eos, int32_t pad);

}  // namespace revnmt
