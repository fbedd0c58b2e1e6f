#include "nmt/data/batcher.h"

#include <algorithm>

#include "nmt/core/error.h"
#include "nmt/core/philox.h"

namespace revnmt {

namespace {

// Philox streams, so the corpus shuffle and the batch-order shuffle are independent.
constexpr uint32_t kSentenceStream = 0x53454e54u;  // "SENT"
constexpr uint32_t kBatchStream = 0x42415443u;     // "BATC"

// Fisher-Yates with the draw for position i taken from Philox(seed) at (i, epoch, stream).
template <typename T>
void shuffle(std::vector<T>& items, uint64_t seed, int64_t epoch, uint32_t stream) {
  const Philox philox(seed);
  for (size_t i = items.size(); i > 1; --i) {
    const uint64_t k = i - 1;
    const auto words = philox({uint32_t(k), uint32_t(k >> 32), uint32_t(uint64_t(epoch)),
                               stream ^ uint32_t(uint64_t(epoch) >> 32)});
    const uint64_t r = (uint64_t(words[0]) << 32) | words[1];
    std::swap(items[k], items[r % i]);  // bias below i / 2^64
  }
}

}  // namespace

Batcher::Batcher(const ParallelCorpus& corpus, const BatcherOptions& options)
    : corpus_(corpus), options_(options) {
  require(options.batch_tokens > 0 || options.batch_size > 0, "batch size must be positive, not ",
          options.batch_size);
  require(options.batch_tokens >= 0, "batch tokens must not be negative, not ",
          options.batch_tokens);
  require(options.pool_batches > 0, "pool batches must be positive, not ", options.pool_batches);
  int64_t per_batch = options.batch_size;
  if (options.batch_tokens > 0) {
    // Sentences a token budget holds on average: the budget over the mean target + EOS.
    const double mean_steps =
        corpus.size() > 0 ? double(corpus.tgt_tokens()) / double(corpus.size()) + 1.0 : 1.0;
    per_batch = std::max<int64_t>(1, int64_t(double(options.batch_tokens) / mean_steps));
  }
  pool_size_ = per_batch * options.pool_batches;
}

void Batcher::sort_rows(std::vector<int64_t>& indices) const {
  std::sort(indices.begin(), indices.end(), [&](int64_t a, int64_t b) {
    const int32_t la = corpus_.src_length(a), lb = corpus_.src_length(b);
    return la != lb ? la > lb : a < b;
  });
}

void Batcher::cut_into_batches(const std::vector<int64_t>& sorted, size_t begin, size_t end,
                               BatchPlan& plan) const {
  std::vector<int64_t> current;
  int64_t steps = 0;  // tgt_steps of `current`
  const auto close = [&] {
    if (current.empty()) return;
    sort_rows(current);
    plan.push_back(std::move(current));
    current.clear();
    steps = 0;
  };
  for (size_t i = begin; i < end; ++i) {
    const int64_t index = sorted[i];
    if (options_.batch_tokens > 0) {
      const int64_t new_steps = std::max<int64_t>(steps, corpus_.tgt_length(index) + 1);
      if (!current.empty() && int64_t(current.size() + 1) * new_steps > options_.batch_tokens) {
        close();
      }
      steps = std::max<int64_t>(steps, corpus_.tgt_length(index) + 1);
    } else if (int64_t(current.size()) == options_.batch_size) {
      close();
    }
    current.push_back(index);
  }
  close();
}

BatchPlan Batcher::epoch_plan(int64_t epoch) const {
  const int64_t n = corpus_.size();
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  const auto by_length = [&](int64_t a, int64_t b) {
    const int32_t sa = corpus_.src_length(a), sb = corpus_.src_length(b);
    if (sa != sb) return sa < sb;
    return corpus_.tgt_length(a) < corpus_.tgt_length(b);
  };
  BatchPlan plan;
  if (!options_.shuffle) {
    std::stable_sort(order.begin(), order.end(), by_length);  // ties stay in corpus order
    cut_into_batches(order, 0, order.size(), plan);
    return plan;
  }
  shuffle(order, options_.seed, epoch, kSentenceStream);
  for (int64_t begin = 0; begin < n; begin += pool_size_) {
    const int64_t end = std::min(n, begin + pool_size_);
    std::stable_sort(order.begin() + begin, order.begin() + end, by_length);
    cut_into_batches(order, size_t(begin), size_t(end), plan);
  }
  shuffle(plan, options_.seed, epoch, kBatchStream);
  return plan;
}

Batch Batcher::make_batch(const std::vector<int64_t>& indices) const {
  REVNMT_CHECK(!indices.empty(), "empty batch");
  std::vector<int64_t> rows = indices;
  for (const int64_t i : rows)
    REVNMT_CHECK(i >= 0 && i < corpus_.size(), "corpus index ", i, " of ", corpus_.size());
  sort_rows(rows);

  const SpecialIds& s = corpus_.src_special();
  const SpecialIds& t = corpus_.tgt_special();
  Batch batch;
  const int b_count = static_cast<int>(rows.size());
  batch.rows = b_count;
  batch.index = rows;
  batch.src_len.resize(b_count);
  batch.tgt_len.resize(b_count);
  for (int b = 0; b < b_count; ++b) {
    batch.src_len[b] = corpus_.src_length(rows[b]) + 1;
    batch.tgt_len[b] = corpus_.tgt_length(rows[b]) + 1;
    batch.src_steps = std::max(batch.src_steps, batch.src_len[b]);
    batch.tgt_steps = std::max(batch.tgt_steps, batch.tgt_len[b]);
  }
  batch.src.assign(size_t(batch.src_steps) * b_count, s.pad);
  batch.tgt_in.assign(size_t(batch.tgt_steps) * b_count, t.pad);
  batch.tgt_out.assign(size_t(batch.tgt_steps) * b_count, t.pad);
  for (int b = 0; b < b_count; ++b) {
    const TokenSpan x = corpus_.src(rows[b]);
    for (int32_t k = 0; k < x.size; ++k) batch.src[size_t(k) * b_count + b] = x[k];
    batch.src[size_t(x.size) * b_count + b] = s.eos;
    const TokenSpan y = corpus_.tgt(rows[b]);
    batch.tgt_in[b] = t.bos;
    for (int32_t k = 0; k < y.size; ++k) {
      batch.tgt_in[size_t(k + 1) * b_count + b] = y[k];
      batch.tgt_out[size_t(k) * b_count + b] = y[k];
    }
    batch.tgt_out[size_t(y.size) * b_count + b] = t.eos;
  }
  return batch;
}

Batch make_source_batch(const std::vector<std::vector<int32_t>>& sources, int32_t eos,
                        int32_t pad) {
  Batch batch;
  const int b_count = static_cast<int>(sources.size());
  batch.rows = b_count;
  batch.src_len.resize(b_count);
  batch.index.resize(b_count);
  for (int b = 0; b < b_count; ++b) {
    batch.src_len[b] = static_cast<int32_t>(sources[b].size()) + 1;
    batch.src_steps = std::max(batch.src_steps, batch.src_len[b]);
    batch.index[b] = b;
  }
  batch.src.assign(size_t(batch.src_steps) * b_count, pad);
  for (int b = 0; b < b_count; ++b) {
    const auto& x = sources[b];
    for (size_t k = 0; k < x.size(); ++k) batch.src[k * b_count + b] = x[k];
    batch.src[x.size() * b_count + b] = eos;
  }
  return batch;
}

}  // namespace revnmt
