// revnmt-bench: the measurements behind tools/README.md, one subcommand each. The driver
// tools/bench/run_benchmarks.sh runs them (and the PyTorch side) in one invocation and
// tools/bench/summarize.py turns their RESULT lines into the tables and ratios.
//
//   revnmt-bench prepare   --data DIR --work WORK   vocabulary, batches.bin, test.bin
//   revnmt-bench peak      [--threads 2]            matmul GFLOP/s, f32 and bf16
//   revnmt-bench train     --work WORK --cell gru   training tokens/s, GFLOP/s, peak RSS
//   revnmt-bench translate --work WORK --model M    sentences/s and tokens/s on test2016
//   revnmt-bench memory    --work WORK --cell gru   bytes held between forward and backward
//   revnmt-bench export    --model M --out W.bin    weights for the PyTorch model
//
// Every measurement prints a human-readable line and a machine-readable one:
//   RESULT {"kind":...,...}   (JsonLine, as in metrics.jsonl)

#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.h>

#include "nmt/core/error.h"
#include "nmt/core/matmul.h"
#include "nmt/core/parallel.h"
#include "nmt/core/runtime.h"
#include "nmt/data/batcher.h"
#include "nmt/data/corpus.h"
#include "nmt/data/line_reader.h"
#include "nmt/data/vocab.h"
#include "nmt/decode/translator.h"
#include "nmt/model/model_io.h"
#include "nmt/model/seq2seq.h"
#include "nmt/train/grad_clip.h"
#include "nmt/train/optimizer.h"
#include "nmt/train/train_log.h"
#include "tools/bench/bench_io.h"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using namespace revnmt;

namespace {

double now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// CPU time of the whole process (all threads), seconds.
double cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

// Peak resident set of this process so far, bytes.
int64_t peak_rss() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return int64_t(usage.ru_maxrss) * 1024;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// One RESULT line for summarize.py: the JSON object of a figure.
void print_result(const JsonLine& json) {
  std::printf("RESULT %s\n", json.str().c_str());
  std::fflush(stdout);
}

// The models of recipes/multi30k: 300/300, one layer, joint 8k vocabulary; the standard
// cells attend over the whole top-layer output, the reversible ones over slice_emb.
ModelConfig model_config(const std::string& cell) {
  ModelConfig m;
  m.cell = cell == "gru"       ? CellType::gru
           : cell == "lstm"    ? CellType::lstm
           : cell == "revgru"  ? CellType::revgru
           : cell == "revlstm" ? CellType::revlstm
                               : (fail("unknown cell '", cell, "'"), CellType::gru);
  m.context = m.is_reversible() ? ContextType::slice_emb : ContextType::hidden;
  return m;
}

// Forward matmul FLOPs of one step of one layer per row (input projection + recurrent).
double cell_flops(CellType cell, double in, double h) {
  const double g = h / 2;
  switch (cell) {
    case CellType::gru:
      return 2 * in * 3 * h + 2 * h * 3 * h;
    case CellType::lstm:
      return 2 * in * 4 * h + 2 * h * 4 * h;
    case CellType::revgru:  // per half: U_zr [G, 2G] and U_g [G, G]
      return 2 * in * 3 * h + 2 * 2 * (g * 2 * g + g * g);
    case CellType::revlstm:  // per half: U [G, 5G]
      return 2 * in * 5 * h + 2 * 2 * (g * 5 * g);
  }
  return 0;
}

// The model's matmul FLOPs for one training update on a batch, counted analytically over
// real (non-pad) tokens: forward + backward = 3 × forward. Recomputation (the reversible
// reverse sweep) and padding are not counted: this is the work any implementation of the
// same model must do, so GFLOP/s compares like with like.
double training_flops(const ModelConfig& m, int vocab, const Batch& batch) {
  const double e = m.emb_size, h = m.hidden_size, c = m.context_size(), v = vocab;
  double per_layer_in_first = cell_flops(m.cell, e, h);
  double per_layer_rest = cell_flops(m.cell, h, h);
  const double stack = per_layer_in_first + (m.layers - 1) * per_layer_rest;
  double fwd = 0;
  for (int b = 0; b < batch.rows; ++b) {
    const double ls = batch.src_len[b], lt = batch.tgt_len[b];
    fwd += ls * stack;  // encoder
    fwd += lt * stack;  // decoder
    // attention: q·W_in, scores and context over the sentence, [ctx; q]·W_out
    fwd += lt * (2 * h * c + 2 * 2 * ls * c + 2 * (c + h) * h);
    fwd += lt * 2 * h * v;  // output layer
  }
  return 3 * fwd;
}

// ---------------------------------------------------------------------------------------
// prepare

int cmd_prepare(const std::string& data, const std::string& work, int batch_size, int threads) {
  if (data.empty()) fail("prepare: --data DIR (the Multi30K files) is required");
  set_num_threads(threads);
  fs::create_directories(work);
  const std::string vocab_path = work + "/vocab.spm";
  const std::string train_src = data + "/train.en.gz", train_tgt = data + "/train.de.gz";
  // As recipes/multi30k: joint unigram vocabulary of 8000 pieces, seed 1.
  VocabTrainOptions vocab_options;
  vocab_options.inputs = {train_src, train_tgt};
  vocab_options.model_path = vocab_path;
  vocab_options.vocab_size = 8000;
  const Vocab vocab =
      fs::exists(vocab_path) ? Vocab::load(vocab_path) : Vocab::train(vocab_options);
  CorpusOptions corpus_options;
  corpus_options.max_length = 50;
  const ParallelCorpus corpus =
      ParallelCorpus::load(train_src, train_tgt, vocab, vocab, corpus_options);
  BatcherOptions options;
  options.batch_size = batch_size;
  options.pool_batches = 100;
  options.seed = 1;
  Batcher batcher(corpus, options);
  std::vector<Batch> batches;
  for (const auto& indices : batcher.epoch_plan(1)) batches.push_back(batcher.make_batch(indices));
  bench::write_batches(work + "/batches.bin", batches);

  std::vector<std::vector<int32_t>> test;
  for (const std::string& line : read_lines(data + "/test_2016_flickr.en.gz"))
    test.push_back(vocab.encode(line));
  bench::write_sentences(work + "/test.bin", "RVTS", test);
  int64_t tokens = 0;
  for (const Batch& b : batches) tokens += b.target_tokens();
  std::printf("prepared %s: vocabulary of %d pieces, %zu training batches of %d sentences "
              "(%lld target tokens), %zu test sentences\n",
              work.c_str(), vocab.size(), batches.size(), batch_size, (long long)tokens,
              test.size());
  return 0;
}

// ---------------------------------------------------------------------------------------
// peak: the best GFLOP/s of the matmul primitive on the model's large shapes.

// How a product is computed: revnmt's cached oneDNN matmul primitive (f32 or bf16
// operands), or oneDNN's dnnl_sgemm, the alternative nmt/core/matmul.h was chosen over.
enum class Kernel { primitive_f32, primitive_bf16, sgemm };

// Best GFLOP/s of run() (2·M·N·K FLOPs a call) over `repeats` batches of calls of at least
// 0.1 s.
template <class Run>
double best_gflops(int64_t m, int64_t n, int64_t k, int repeats, const Run& run) {
  run();
  double best = 0;
  for (int r = 0; r < repeats; ++r) {
    int calls = 0;
    const double start = now();
    double elapsed = 0;
    do {
      run();
      ++calls;
      elapsed = now() - start;
    } while (elapsed < 0.1);
    best = std::max(best, 2.0 * double(m) * n * k * calls / elapsed * 1e-9);
  }
  return best;
}

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::vector<float> v(n);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  for (float& x : v) x = u(rng);
  return v;
}

// C[M,N] = A[M,K] · op(B), all M rows in one call (the OpenMP team splits it).
double time_matmul(bool trans_b, int64_t m, int64_t n, int64_t k, int repeats, Kernel kernel) {
  const std::vector<float> a = random_floats(size_t(m * k), 1);
  const std::vector<float> b = random_floats(size_t(k * n), 2);
  std::vector<float> c(size_t(m * n));
  const int64_t ldb = trans_b ? k : n;
  return best_gflops(m, n, k, repeats, [&] {
    switch (kernel) {
      case Kernel::primitive_f32:
        matmul(false, trans_b, m, n, k, a.data(), k, b.data(), ldb, c.data(), n);
        break;
      case Kernel::primitive_bf16:
        matmul_bf16(false, trans_b, m, n, k, a.data(), k, b.data(), ldb, c.data(), n);
        break;
      case Kernel::sgemm:
        dnnl_sgemm('N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a.data(), k, b.data(), ldb, 0.0f,
                   c.data(), n);
        break;
    }
  });
}

// The same product as the stacks' recurrent steps run it: B packed once (in `precision`),
// the rows split into one block per thread, each block multiplied on its own thread.
double time_row_blocks(int64_t m, int64_t n, int64_t k, int repeats, Precision precision) {
  const std::vector<float> a = random_floats(size_t(m * k), 1);
  const std::vector<float> b = random_floats(size_t(k * n), 2);
  std::vector<float> c(size_t(m * n));
  PackedMatrix packed;
  packed.pack(false, k, n, b.data(), n, precision);
  const int rows = int(m), blocks = row_blocks(rows);
  return best_gflops(m, n, k, repeats, [&] {
    for_each_row_block(rows, blocks, [&](const RowBlock& block) {
      matmul_packed(block.rows, a.data() + block.first * k, k, packed,
                    c.data() + block.first * n, n);
    });
  });
}

int cmd_peak(int threads, int repeats) {
  set_num_threads(threads);
  struct Shape {
    const char* name;
    bool trans_b;
    int64_t m, n, k;
  };
  // The output layer's forward (logits = h·Wᵀ) and a step of a GRU's recurrent multiply.
  const Shape shapes[] = {{"1024x300x8000 nt (output layer)", true, 1024, 8000, 300},
                          {"1664x300x900 nn (input projection)", false, 1664, 900, 300},
                          {"64x300x900 nn (recurrent step)", false, 64, 900, 300}};
  double peak32 = 0, peak16 = 0;
  for (const Shape& s : shapes) {
    const double f32 = time_matmul(s.trans_b, s.m, s.n, s.k, repeats, Kernel::primitive_f32);
    const double b16 = time_matmul(s.trans_b, s.m, s.n, s.k, repeats, Kernel::primitive_bf16);
    const double sgemm = time_matmul(s.trans_b, s.m, s.n, s.k, repeats, Kernel::sgemm);
    std::printf(
        "matmul %-36s f32 %7.1f GFLOP/s   bf16 %7.1f GFLOP/s   (dnnl_sgemm %7.1f)  (%d "
        "threads)\n",
        s.name, f32, b16, sgemm, threads);
    print_result(JsonLine()
                     .add("kind", "matmul")
                     .add("shape", s.name)
                     .add("threads", threads)
                     .add("f32", f32)
                     .add("bf16", b16)
                     .add("sgemm", sgemm));
    peak32 = std::max(peak32, f32);
    peak16 = std::max(peak16, b16);
  }
  // A recurrent step as the stacks run it (nmt/core/parallel.h): there bf16 pays off.
  const double blocks32 = time_row_blocks(64, 900, 300, repeats, Precision::fp32);
  const double blocks16 = time_row_blocks(64, 900, 300, repeats, Precision::bf16);
  std::printf("matmul %-36s f32 %7.1f GFLOP/s   bf16 %7.1f GFLOP/s   (packed B, %d row blocks)\n",
              "64x300x900 nn (step in row blocks)", blocks32, blocks16, row_blocks(64));
  print_result(JsonLine()
                   .add("kind", "matmul")
                   .add("shape", "64x300x900 nn (step in row blocks)")
                   .add("threads", threads)
                   .add("f32", blocks32)
                   .add("bf16", blocks16));
  print_result(JsonLine()
                   .add("kind", "peak")
                   .add("threads", threads)
                   .add("f32", peak32)
                   .add("bf16", peak16));
  return 0;
}

// ---------------------------------------------------------------------------------------
// train

// Time per matmul shape class (K, N, transposes; all M together), against `total` seconds.
void print_matmul_profile(double total) {
  struct Group {
    int64_t calls = 0;
    double seconds = 0, flops = 0;
    std::string min_max;
    int64_t min_m = INT64_MAX, max_m = 0;
  };
  std::map<std::string, Group> groups;
  double all = 0;
  for (const auto& p : matmul_profile()) {
    Group& g = groups[std::to_string(p.k) + "x" + std::to_string(p.n) + " " + p.kind];
    g.calls += p.calls;
    g.seconds += p.seconds;
    g.flops += p.flops;
    g.min_m = std::min(g.min_m, p.m);
    g.max_m = std::max(g.max_m, p.m);
    all += p.seconds;
  }
  std::vector<std::pair<std::string, Group>> sorted(groups.begin(), groups.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const auto& a, const auto& b) { return a.second.seconds > b.second.seconds; });
  std::printf("matmul time by shape (K x N, M = rows): %.1f%% of the measured time\n",
              100 * all / total);
  for (const auto& [name, g] : sorted) {
    if (g.seconds < 0.005 * all) continue;
    std::printf("  %-24s M %5lld..%-6lld %8lld calls %6.1f%% %7.1f GFLOP/s\n", name.c_str(),
                (long long)g.min_m, (long long)g.max_m, (long long)g.calls,
                100 * g.seconds / total, g.flops / g.seconds * 1e-9);
  }
}

struct TrainOptions {
  std::string work, cell = "gru", save, precision = "fp32";
  bool profile = false;
  int updates = 200, warmup = 20, threads = 2, first = 0;
  double lr = 1e-3, clip = 5.0;
};

int cmd_train(const TrainOptions& o) {
  set_num_threads(o.threads);
  const Vocab vocab = Vocab::load(o.work + "/vocab.spm");
  const std::vector<Batch> batches = bench::read_batches(o.work + "/batches.bin");
  const int total = o.warmup + o.updates;
  require(total <= int(batches.size()) - o.first, "only ", batches.size(), " batches");
  const ModelConfig config = model_config(o.cell);
  Seq2SeqOptions options;
  options.chunk_steps = 16;
  options.precision = parse_precision(o.precision);
  Seq2Seq model(config, vocab.size(), vocab.size(), special_tokens_of(vocab), options);
  model.initialize(1);
  AdamOptimizer optimizer(model.params(), AdamOptions{});
  ParameterSet& params = model.params();

  std::vector<double> seconds, rates, losses, cpu;
  double flops = 0, executed = 0, time = 0;
  int64_t tokens = 0;
  for (int i = 0; i < total; ++i) {
    const Batch& batch = batches[size_t(o.first + i)];
    const int64_t batch_tokens = batch.target_tokens();
    if (i == o.warmup) {
      reset_matmul_stats();
      set_matmul_profiling(o.profile);
    }
    const double start = now(), cpu_start = cpu_time();
    params.zero_grads();
    const StepResult step = model.train_step(batch, DropoutKey{1, uint64_t(i + 1), true}, 0.0f,
                                             1.0f / float(batch_tokens));
    const double norm = global_grad_norm(params);
    clip_gradients(params, norm, o.clip);
    optimizer.step(params, o.lr);
    const double dt = now() - start, cpu_dt = cpu_time() - cpu_start;
    losses.push_back(step.loss.nll / double(step.loss.tokens));
    if (i < o.warmup) continue;
    cpu.push_back(cpu_dt / double(batch_tokens) * 1e6);
    seconds.push_back(dt);
    rates.push_back(double(batch_tokens) / dt);
    time += dt;
    tokens += batch_tokens;
    flops += training_flops(config, vocab.size(), batch);
  }
  executed = matmul_stats().flops;
  const double med = median(rates), mean_rate = double(tokens) / time;
  // GFLOP/s at the median update rate: model FLOPs per token × median tokens/s.
  const double gflops = flops / double(tokens) * med * 1e-9;
  const int tail = std::min(20, total);
  double first_loss = 0, last_loss = 0;
  for (int k = 0; k < tail; ++k) first_loss += losses[size_t(k)] / tail;
  for (int k = total - tail; k < total; ++k) last_loss += losses[size_t(k)] / tail;
  std::printf("train %-8s %-5s median %7.0f tok/s (mean %7.0f), %6.1f ms/update, model %6.1f "
              "GFLOP/s (executed matmul %6.1f), peak RSS %6.1f MB, loss %.3f -> %.3f, CPU %.1f us/token\n",
              o.cell.c_str(), o.precision.c_str(), med, mean_rate, 1e3 * median(seconds), gflops,
              executed / time * 1e-9, peak_rss() / 1e6, first_loss, last_loss, median(cpu));
  print_result(JsonLine()
                   .add("kind", "train")
                   .add("impl", "revnmt")
                   .add("cell", o.cell)
                   .add("precision", o.precision)
                   .add("threads", o.threads)
                   .add("updates", o.updates)
                   .add("tok_s_median", med)
                   .add("tok_s_mean", mean_rate)
                   .add("ms_update_median", 1e3 * median(seconds))
                   .add("cpu_us_per_token_median", median(cpu))
                   .add("model_gflop_per_token", flops / double(tokens) * 1e-9)
                   .add("gflops_model", gflops)
                   .add("gflops_executed", executed / time * 1e-9)
                   .add("peak_rss", peak_rss())
                   .add("loss_first20", first_loss)
                   .add("loss_last20", last_loss));
  if (o.profile) print_matmul_profile(time);
  if (!o.save.empty()) save_model(o.save, model, vocab, vocab);
  return 0;
}

// ---------------------------------------------------------------------------------------
// translate

int cmd_translate(const std::string& work, const std::string& model_path, int beam, int batch,
                  int threads, int repeats, const std::string& hyps, const std::string& precision,
                  bool no_pack, bool profile) {
  set_num_threads(threads);
  Seq2SeqOptions options;
  options.precision = parse_precision(precision);
  options.pack_decode_weights = !no_pack;
  LoadedModel loaded = load_model(model_path, options);
  const auto sources = bench::read_sentences(work + "/test.bin", "RVTS");
  TranslateOptions t;
  t.beam = beam;
  t.batch = batch;
  t.alpha = 1.0f;
  t.max_length_ratio = 2.0f;
  t.max_length_offset = 5;
  std::vector<double> rates, token_rates, cpu_rates;
  std::vector<std::vector<int32_t>> best;
  int64_t target_tokens = 0;
  double timed = 0;
  for (int r = 0; r < repeats + 1; ++r) {  // the first pass creates the primitives
    if (r == 1 && profile) {
      reset_matmul_stats();  // the profile covers the timed passes only
      set_matmul_profiling(true);
    }
    Translator translator(*loaded.model, loaded.src_vocab, loaded.tgt_vocab, t);
    const double start = now(), cpu_start = cpu_time();
    const auto lists = translator.translate_ids(sources, {});
    const double dt = now() - start, cpu_dt = cpu_time() - cpu_start;
    target_tokens = translator.stats().target_tokens;
    if (r == 0) {
      for (const auto& list : lists) best.push_back(list.empty() ? std::vector<int32_t>{}
                                                                 : list[0].tokens);
      continue;
    }
    timed += dt;
    rates.push_back(double(sources.size()) / dt);
    token_rates.push_back(double(target_tokens) / dt);
    cpu_rates.push_back(double(sources.size()) / cpu_dt);
  }
  const std::string cell = to_string(loaded.model->config().cell);
  std::printf("translate %-8s beam %d batch %3d: %7.1f sentences/s, %8.0f target tokens/s "
              "(%lld tokens), peak RSS %6.1f MB, %lld matmul primitives\n",
              cell.c_str(), beam, batch, median(rates), median(token_rates),
              (long long)target_tokens, peak_rss() / 1e6,
              (long long)matmul_stats().primitives_created);
  print_result(JsonLine()
                   .add("kind", "translate")
                   .add("impl", "revnmt")
                   .add("cell", cell)
                   .add("precision", precision)
                   .add("beam", beam)
                   .add("batch", batch)
                   .add("threads", threads)
                   .add("sent_s", median(rates))
                   .add("tok_s", median(token_rates))
                   .add("target_tokens", target_tokens)
                   .add("sent_per_cpu_s", median(cpu_rates))
                   .add("peak_rss", peak_rss()));
  if (profile) print_matmul_profile(timed);
  if (!hyps.empty()) bench::write_sentences(hyps, "RVHY", best);
  return 0;
}

// ---------------------------------------------------------------------------------------
// memory: Seq2Seq::forward_only on synthetic batches (every sentence `length` tokens on
// both sides, EOS included), the real bytes held until backward.

Batch synthetic_batch(int rows, int length, int vocab, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> id(4, vocab - 1);
  Batch b;
  b.rows = rows;
  b.src_steps = b.tgt_steps = length;
  b.src.resize(size_t(length) * rows);
  b.tgt_in.resize(size_t(length) * rows);
  b.tgt_out.resize(size_t(length) * rows);
  for (auto* v : {&b.src, &b.tgt_in, &b.tgt_out})
    for (int32_t& x : *v) x = id(rng);
  for (int r = 0; r < rows; ++r) {
    b.src[size_t(length - 1) * rows + r] = Vocab::kEosId;
    b.tgt_in[r] = Vocab::kBosId;
    b.tgt_out[size_t(length - 1) * rows + r] = Vocab::kEosId;
  }
  b.src_len.assign(rows, length);
  b.tgt_len.assign(rows, length);
  b.index.resize(rows);
  for (int r = 0; r < rows; ++r) b.index[r] = r;
  return b;
}

// Least-squares slope of y over x.
double slope(const std::vector<double>& x, const std::vector<double>& y) {
  double mx = 0, my = 0;
  for (size_t i = 0; i < x.size(); ++i) mx += x[i], my += y[i];
  mx /= double(x.size()), my /= double(y.size());
  double sxy = 0, sxx = 0;
  for (size_t i = 0; i < x.size(); ++i) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
  return sxy / sxx;
}

int cmd_memory(const std::string& cell, int vocab_size, int threads) {
  set_num_threads(threads);
  const ModelConfig config = model_config(cell);
  // A fresh model per point: buffers keep the capacity of the largest batch they saw.
  auto held = [&](int rows, int length) {
    Seq2Seq model(config, vocab_size, vocab_size, SpecialTokens{}, Seq2SeqOptions{});
    model.initialize(1);
    const Batch b = synthetic_batch(rows, length, vocab_size, uint32_t(rows * 1000 + length));
    const StepResult r = model.forward_only(b, DropoutKey{1, 1, true});
    return double(r.held_bytes);
  };
  for (const char* series : {"batch", "length"}) {
    const bool by_batch = std::string(series) == "batch";
    std::vector<double> x, y;
    std::string line;
    for (int v : by_batch ? std::vector<int>{32, 64, 128, 256} : std::vector<int>{25, 50, 100, 200}) {
      const int rows = by_batch ? v : 64, length = by_batch ? 25 : v;
      const double bytes = held(rows, length);
      x.push_back(double(rows) * length);
      y.push_back(bytes);
      char buf[96];
      std::snprintf(buf, sizeof buf, " %s=%d: %.0f B (%.0f B/token);", by_batch ? "B" : "L", v,
                    bytes, bytes / (double(rows) * length));
      line += buf;
      print_result(JsonLine()
                       .add("kind", "memory_point")
                       .add("impl", "revnmt")
                       .add("cell", cell)
                       .add("series", series)
                       .add("rows", rows)
                       .add("length", length)
                       .add("held_bytes", bytes));
    }
    const double s = slope(x, y);
    std::printf("memory %-8s vs %-6s (L=25 / B=64):%s slope %.1f bytes per target token\n",
                cell.c_str(), series, line.c_str(), s);
    print_result(JsonLine()
                     .add("kind", "memory")
                     .add("impl", "revnmt")
                     .add("cell", cell)
                     .add("series", series)
                     .add("bytes_per_token", s));
  }
  return 0;
}

int cmd_export(const std::string& model_path, const std::string& out) {
  LoadedModel loaded = load_model(model_path);
  bench::write_weights(out, loaded.model->params());
  std::printf("exported %zu tensors of %s to %s\n", loaded.model->params().size(),
              model_path.c_str(), out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string usage =
      "usage: revnmt-bench prepare|peak|train|translate|memory|export [options]  (--help)";
  if (argc < 2) {
    std::fprintf(stderr, "%s\n", usage.c_str());
    return 2;
  }
  const std::string command = argv[1];
  TrainOptions t;
  std::string data, model, out, hyps, precision = "fp32";
  int threads = 2, repeats = 3, beam = 5, batch = 64, vocab = 8000;
  bool no_pack = false;
  po::options_description options("revnmt-bench " + command);
  options.add_options()("help", "this help")(
      "work", po::value(&t.work)->default_value("bench-work"), "work directory (prepare)")(
      "data", po::value(&data), "Multi30K folder: train/test_2016_flickr .en/.de.gz (prepare)")(
      "threads", po::value(&threads)->default_value(2), "threads")(
      "cell", po::value(&t.cell)->default_value("gru"), "gru | lstm | revgru | revlstm")(
      "updates", po::value(&t.updates)->default_value(200), "measured updates")(
      "warmup", po::value(&t.warmup)->default_value(20), "updates before measuring")(
      "first", po::value(&t.first)->default_value(0), "index of the first batch used")(
      "save", po::value(&t.save), "train: write the trained model here")(
      "profile", po::bool_switch(&t.profile), "train, translate: time the matmuls per shape")(
      "precision", po::value(&precision)->default_value("fp32"), "fp32 | bf16")(
      "model", po::value(&model), "model file (translate, export)")(
      "out", po::value(&out), "output file (export)")(
      "hyps", po::value(&hyps), "translate: write the best hypotheses' ids here")(
      "no-pack", po::bool_switch(&no_pack), "translate: multiply by the plain weights")(
      "beam", po::value(&beam)->default_value(5), "beam size (1 = greedy)")(
      "batch", po::value(&batch)->default_value(64), "sentences per batch")(
      "repeats", po::value(&repeats)->default_value(3), "timed passes (translate, peak)")(
      "vocab", po::value(&vocab)->default_value(8000), "vocabulary size (memory)");
  try {
    po::variables_map vm;
    po::store(po::parse_command_line(argc - 1, argv + 1, options), vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::printf("%s\n", usage.c_str());
      std::ostringstream text;
      text << options;
      std::printf("%s", text.str().c_str());
      return 0;
    }
    t.threads = threads;
    t.precision = precision;
    if (command == "prepare") return cmd_prepare(data, t.work, batch, threads);
    if (command == "peak") return cmd_peak(threads, repeats);
    if (command == "train") return cmd_train(t);
    if (command == "translate")
      return cmd_translate(t.work, model, beam, batch, threads, repeats, hyps, precision, no_pack,
                           t.profile);
    if (command == "memory") return cmd_memory(t.cell, vocab, threads);
    if (command == "export") return cmd_export(model, out);
    std::fprintf(stderr, "%s\n", usage.c_str());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "revnmt-bench: %s\n", e.what());
    return 1;
  }
}
