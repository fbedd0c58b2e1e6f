// Reversible vs standard recurrent stacks: time of one training forward + backward per
// sequence, and what each keeps between the two (paper bits and real bytes).
//
//   revnmt-bench-stacks [--batch 64] [--hidden 300] [--steps 30] [--repeats 20] [--threads 2]
//
// Both stacks get identical random inputs and a linear loss on every top output, so the
// work is the recurrent part alone (no attention or output layer).

#include <algorithm>
#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <vector>

#include "nmt/core/runtime.h"
#include "nmt/model/standard_stack.h"
#include "reversible/rev_stack.h"
#include "reversible/self_check.h"

namespace po = boost::program_options;
using namespace revnmt;

namespace {

struct Measurement {
  double median_ms = 0;
  MemoryLedger ledger;
};

Measurement measure(RecurrentStack& stack, ParameterSet& params, int batch, int steps,
                    int repeats) {
  params.init_uniform(0.1f, 1);
  const std::vector<int32_t> lengths(batch, steps);
  RandomInput input(steps, batch, stack.input_size(), 2);
  LinearLoss loss(steps, batch, stack.hidden_size(), 3);
  std::vector<double> times;
  Measurement m;
  for (int r = 0; r < repeats + 2; ++r) {
    const auto start = std::chrono::steady_clock::now();
    stack.forward({steps, batch, lengths.data()}, input, nullptr, DropoutKey{1, uint64_t(r), true});
    stack.compact();
    if (r == 0) m.ledger = stack.ledger();
    stack.backward(input, loss, nullptr, nullptr);
    const double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    if (r >= 2) times.push_back(ms);  // two warm-up runs
  }
  std::sort(times.begin(), times.end());
  m.median_ms = times[times.size() / 2];
  return m;
}

}  // namespace

int main(int argc, char** argv) {
  int batch = 64, hidden = 300, steps = 30, repeats = 20, threads = 2, slice = 20;
  po::options_description options("revnmt-bench-stacks");
  options.add_options()("help", "this help")("batch", po::value(&batch)->default_value(64))(
      "hidden", po::value(&hidden)->default_value(300))(
      "steps", po::value(&steps)->default_value(30))(
      "repeats", po::value(&repeats)->default_value(20))(
      "threads", po::value(&threads)->default_value(2))(
      "slice", po::value(&slice)->default_value(20), "units kept per step by the reversible stack");
  po::variables_map vm;
  po::store(po::parse_command_line(argc, argv, options), vm);
  po::notify(vm);
  if (vm.count("help")) {
    std::printf("%s\n", "usage: revnmt-bench-stacks [--batch B] [--hidden H] [--steps T] [--repeats N] [--threads N]");
    return 0;
  }
  set_num_threads(threads);
  std::printf("one layer, input = hidden = %d, batch %d, %d steps, %d threads; median of %d runs\n",
              hidden, batch, steps, threads, repeats);
  std::printf("%-8s %16s %16s %8s %14s %14s %12s %12s\n", "cell", "rev ms/seq", "std ms/seq",
              "time x", "rev held B", "std held B", "bytes ratio", "bits ratio");
  for (bool lstm : {false, true}) {
    ParameterSet rev_params, std_params;
    RevStackConfig rev;
    rev.cell = lstm ? RevCell::lstm : RevCell::gru;
    rev.input_size = rev.hidden_size = hidden;
    rev.slice_dim = slice;
    rev.dropout_hidden = 0.0f;
    RevStack rev_stack(rev_params, "rev", rev);
    StandardStackConfig standard;
    standard.cell = lstm ? StandardCell::lstm : StandardCell::gru;
    standard.input_size = standard.hidden_size = hidden;
    StandardStack std_stack(std_params, "std", standard);
    const Measurement r = measure(rev_stack, rev_params, batch, steps, repeats);
    const Measurement s = measure(std_stack, std_params, batch, steps, repeats);
    std::printf("%-8s %16.3f %16.3f %8.2f %14lld %14lld %12.1f %12.1f\n",
                lstm ? "lstm" : "gru", r.median_ms / batch, s.median_ms / batch,
                r.median_ms / s.median_ms, (long long)r.ledger.held_bytes,
                (long long)s.ledger.held_bytes,
                double(s.ledger.held_bytes) / double(r.ledger.held_bytes),
                r.ledger.actual_ratio());
  }
  std::printf("bits ratio: the paper's baseline (32 bits per hidden unit per step) / bits held "
              "by the reversible stack (buffers as allocated + slices + final states)\n");
  return 0;
}
