#include "nmt/train/memory_budget.h"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "nmt/core/error.h"
#include "nmt/model/seq2seq.h"

namespace revnmt {

namespace {

constexpr int64_t kFloat = 4;

std::string megabytes(int64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB", double(bytes) / (1024.0 * 1024.0));
  return text;
}

// A "VmXXX:   1234 kB" line of /proc/self/status, in bytes (0 when absent).
int64_t status_bytes(const char* key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  const size_t n = std::strlen(key);
  while (std::getline(in, line)) {
    if (line.compare(0, n, key) != 0 || line.size() <= n || line[n] != ':') continue;
    return std::atoll(line.c_str() + n + 1) * 1024;
  }
  return 0;
}

}  // namespace

int64_t resident_bytes() {
  // statm: size resident shared text lib data dt, in pages (cheaper than status).
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  long long size = 0, resident = 0;
  const int read = std::fscanf(f, "%lld %lld", &size, &resident);
  std::fclose(f);
  return read == 2 ? int64_t(resident) * int64_t(::sysconf(_SC_PAGESIZE)) : 0;
}

int64_t peak_resident_bytes() { return status_bytes("VmHWM"); }

bool reset_peak_resident() {
  // "5" resets the peak resident set size (Linux >= 4.0).
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

BatchShape shape_of_rows(const Batch& batch, int begin, int end) {
  BatchShape shape;
  shape.rows = end - begin;
  for (int b = begin; b < end; ++b) {
    shape.src_steps = std::max(shape.src_steps, int(batch.src_len[size_t(b)]));
    shape.tgt_steps = std::max(shape.tgt_steps, int(batch.tgt_len[size_t(b)]));
  }
  return shape;
}

MemoryModel::MemoryModel(const ModelConfig& config, int tgt_vocab, int chunk_steps,
                         int64_t parameters, int moments)
    : config_(config), tgt_vocab_(tgt_vocab), chunk_steps_(std::max(chunk_steps, 1)) {
  model_.parameters = parameters * kFloat;
  model_.gradients = parameters * kFloat;
  model_.optimizer = int64_t(moments) * parameters * kFloat;
}

// What a stack's forward keeps until its backward, for `rows` × `steps`.
int64_t MemoryModel::tape_bound(bool encoder, int rows, int steps) const {
  const int64_t b = rows, t = steps, layers = config_.layers, h = config_.hidden_size;
  const bool lstm = config_.cell == CellType::lstm || config_.cell == CellType::revlstm;
  const int64_t w = lstm ? 2 * h : h;  // state width per row
  const int64_t lengths = b * 4;
  if (!config_.is_reversible()) {
    // Every layer's states [T+1, B, W] and gates [T, B, 4H], and the final states.
    return layers * ((t + 1) * b * w + t * b * 4 * h) * kFloat + layers * b * w * kFloat + lengths;
  }
  // Final states: i64, plus their 32-bit packed copy made by compact().
  int64_t bytes = layers * b * w * (8 + 4) + lengths;
  const bool slices = encoder && (config_.context == ContextType::slice ||
                                  config_.context == ContextType::slice_emb);
  const bool keep_top = encoder && config_.context == ContextType::hidden;
  if (slices) bytes += (t + 1) * b * config_.slice_dim * (lstm ? 8 : 4);
  if (keep_top) bytes += (t + 1) * b * w * 8;  // the top layer's states, stored verbatim
  if (config_.no_forgetting) return bytes;
  // Buffered layers: one 32-bit word per row and unit position (G = H/2), plus the spilled
  // 16-bit words. Each multiplication of a state variable loses at most k bits (z >= 2^-k;
  // 10 bits with no limit; the rounding of the word adds < 0.002 bits), GRU multiplies 2
  // variables per position and step, LSTM 4, and every 16 bits spill one word (2 more
  // words cover what the word itself starts and ends with); the spill stack over-allocates
  // by at most 1/16 and by at least one chunk of 256 words.
  const int64_t buffered = keep_top ? layers - 1 : layers;
  const int64_t g = h / 2;
  const double k = config_.max_forget_bits == 0 ? 10.0 : double(config_.max_forget_bits);
  const double spilled_per_position =
      std::ceil((lstm ? 4.0 : 2.0) * double(t) * (k + 0.002) / 16.0) + 2.0;
  const double spill_words = double(b * g) * spilled_per_position * 17.0 / 16.0 + 256.0;
  bytes += buffered * (b * g * 4 + int64_t(spill_words) * 2);
  return bytes;
}

// The buffers one stack's chunked sweeps keep (forward and backward, all layers).
int64_t MemoryModel::sweep(int rows, int steps) const {
  const int64_t r = int64_t(std::min(chunk_steps_, std::max(steps, 1))) * rows;
  const int64_t layers = config_.layers, h = config_.hidden_size, e = config_.emb_size;
  const int64_t in = std::max(e, h);
  const bool lstm = config_.cell == CellType::lstm || config_.cell == CellType::revlstm;
  const int64_t w = lstm ? 2 * h : h;
  const int64_t state = layers * rows * w * (8 + kFloat);  // recovered states + their gradient
  if (config_.is_reversible()) {
    const int64_t pw = (lstm ? 5 : 3) * h, cw = (lstm ? 9 : 6) * h;  // projection, gate cache
    // Per layer: inputs, outputs, gate cache, projection gradient; shared: projections,
    // output and input gradients, the forward's inputs, projections and outputs.
    return (layers * r * (in + h + cw + pw) + r * (pw + h + in) + r * (in + pw + h)) * kFloat +
           state + layers * rows * h * kFloat;  // dropout masks between layers
  }
  const int64_t gw = (lstm ? 4 : 3) * h;
  // Inputs, projections, gate gradients (x2 for GRU), output/input gradients, the
  // transposed recurrent weights of every layer.
  return (r * (in + gw + 2 * gw + 3 * h + in) + rows * gw + layers * h * gw) * kFloat + state +
         layers * rows * h * kFloat;
}

StepMemory MemoryModel::step(const BatchShape& shape) const {
  const int64_t b = shape.rows, ts = shape.src_steps, tt = shape.tgt_steps;
  const int64_t h = config_.hidden_size, e = config_.emb_size, c = config_.context_size();
  const int64_t v = tgt_vocab_;
  const bool slices =
      config_.context == ContextType::slice || config_.context == ContextType::slice_emb;
  const int64_t sd = slices ? config_.slice_dim : 0;
  StepMemory m;
  m.encoder_tape = tape_bound(true, shape.rows, shape.src_steps);
  m.decoder_tape = tape_bound(false, shape.rows, shape.tgt_steps);
  // One decoder chunk of R rows: query, attention output and their gradients, the attention
  // tape (projected query, weights, concatenation, output); the batch's ids and masks.
  const int64_t r = std::min<int64_t>(chunk_steps_, std::max<int64_t>(tt, 1)) * b;
  m.local = (4 * r * h + r * (c + ts + (h + c) + h)) * kFloat + (ts * b + 2 * tt * b + 2 * b) * 4 +
            b * 8 + b * (2 * e + h + sd) * kFloat;
  // Context values and gradient [B, Ts, C], the re-looked-up embeddings and slices.
  m.context = (2 * b * ts * c + ts * b * e + ts * b * sd) * kFloat;
  // Attention backward scratch and sentence order; the generator's block of at most 256
  // rows: hidden rows, logits, their gradient.
  const int64_t block = std::min<int64_t>(r, 256);
  m.output_block = r * (h + (h + c) + c + ts) * kFloat + r * 4 + block * (2 * h + v) * kFloat;
  m.encoder_sweep = sweep(shape.rows, shape.src_steps);
  m.decoder_sweep = sweep(shape.rows, shape.tgt_steps);
  return m;
}

MemoryBudget::MemoryBudget(MemoryModel model, Options options)
    : model_(std::move(model)), options_(std::move(options)) {
  peaks_ = options_.measure_peaks && reset_peak_resident() && peak_resident_bytes() > 0;
}

int64_t MemoryBudget::Kept::grow(const StepMemory& m) {
  int64_t bytes = 0;
  for (auto [size, now] : {std::pair<int64_t*, int64_t>{&context, m.context},
                           {&output_block, m.output_block},
                           {&encoder_sweep, m.encoder_sweep},
                           {&decoder_sweep, m.decoder_sweep}}) {
    // A buffer that must grow is allocated anew before the old one is freed, and a
    // std::vector grows to at least twice its old size: max(2 × old, new) more bytes.
    if (now > *size) {
      bytes += std::max(2 * *size, now);
      *size = now;
    }
  }
  return bytes;
}

int64_t MemoryBudget::estimate(const StepMemory& m, Kept kept) const {
  return int64_t(std::ceil(tape_factor_ * double(m.tape()))) + m.local + kept.grow(m) + margin_;
}

int64_t MemoryBudget::estimate(const BatchShape& shape, bool fresh) const {
  return estimate(model_.step(shape), fresh ? Kept() : kept_);
}

void MemoryBudget::refuse(int64_t needed, int64_t resident, const std::string& what) const {
  fail("train.max_memory_mb ", options_.cap_bytes / (1024 * 1024), ": ", what, " needs about ",
       megabytes(needed), " for its training step on top of the ", megabytes(resident),
       " the process holds; raise train.max_memory_mb (--max-memory-mb) or lower "
       "data.max_length, train.chunk_steps or the model's size");
}

void MemoryBudget::require_fits(const BatchShape& shape, int64_t resident,
                                const std::string& what) const {
  const int64_t needed = estimate(shape, /*fresh=*/true);
  if (resident + needed > options_.cap_bytes) refuse(needed, resident, what);
}

std::vector<std::pair<int, int>> MemoryBudget::plan(
    const Batch& batch, const std::function<std::string(int row)>& describe_row) {
  int64_t resident = options_.resident();
  auto fits_whole = [&] {
    return resident + estimate(shape_of_rows(batch, 0, batch.rows)) <= options_.cap_bytes;
  };
  if (fits_whole()) return {{0, batch.rows}};
  // Freed memory glibc still holds counts as resident: give it back and look again.
  ::malloc_trim(0);
  resident = options_.resident();
  if (fits_whole()) return {{0, batch.rows}};

  // Runs of consecutive rows, each as long as fits after the runs before it, which leave
  // their kept buffers grown.
  std::vector<std::pair<int, int>> pieces;
  Kept kept = kept_;
  auto fits = [&](int begin, int end) {
    return resident + estimate(model_.step(shape_of_rows(batch, begin, end)), kept) <=
           options_.cap_bytes;
  };
  for (int begin = 0; begin < batch.rows;) {
    if (!fits(begin, begin + 1)) {
      const StepMemory m = model_.step(shape_of_rows(batch, begin, begin + 1));
      refuse(estimate(m, kept), resident, describe_row(begin));
    }
    // The estimate grows with the rows, so the longest run that fits is found by bisection.
    int lo = begin + 1, hi = batch.rows;
    while (lo < hi) {
      const int mid = lo + (hi - lo + 1) / 2;
      if (fits(begin, mid))
        lo = mid;
      else
        hi = mid - 1;
    }
    pieces.emplace_back(begin, lo);
    resident += kept.grow(model_.step(shape_of_rows(batch, begin, lo)));
    begin = lo;
  }
  return pieces;
}

void MemoryBudget::before_step() {
  resident_before_ = options_.resident();
  if (peaks_) peaks_ = reset_peak_resident();
}

void MemoryBudget::after_step(const BatchShape& shape, const StepResult& result) {
  const StepMemory m = model_.step(shape);
  const int64_t predicted = estimate(m, kept_);
  // The tapes the model reports against their bounds (per stack: the result's total also
  // counts the token ids).
  if (m.encoder_tape > 0 && result.encoder.held_bytes > m.encoder_tape)
    tape_factor_ = std::max(tape_factor_, double(result.encoder.held_bytes) / m.encoder_tape);
  if (m.decoder_tape > 0 && result.decoder.held_bytes > m.decoder_tape)
    tape_factor_ = std::max(tape_factor_, double(result.decoder.held_bytes) / m.decoder_tape);
  // The measured growth of the resident set during the step against the estimate.
  if (peaks_) {
    const int64_t peak = peak_resident_bytes();
    largest_peak_ = std::max(largest_peak_, peak);
    const int64_t growth = peak - resident_before_;
    margin_ = std::max(margin_, margin_ + growth - predicted);
  }
  kept_.grow(m);
}

}  // namespace revnmt
