// revnmt selftest: checks, on random reversible stacks, that reversal reproduces every
// hidden state bit for bit, how close the memory held is to the optimum, and that
// reversal gradients equal stored-state backprop. One line per check; exit 0 iff all pass.

#include <chrono>
#include <cstdio>
#include <vector>

#include "nmt/cli/options.h"
#include "reversible/self_check.h"

namespace revnmt::cli {
namespace {

int run_selftest(const Args& args) {
  po::options_description options("selftest options");
  int steps = 2000;
  int seed = 1;
  options.add_options()("steps", po::value(&steps)->default_value(2000),
                        "time steps of the reversal checks")(
      "seed", po::value(&seed)->default_value(1), "random seed");
  po::variables_map vm;
  if (!parse_command_line(args, "revnmt selftest [--steps N] [--seed S]", options, {}, vm))
    return 0;
  if (steps < 1) throw InputError("--steps must be at least 1, got " + std::to_string(steps));

  std::vector<SelfCheckCase> reversal_cases;
  for (RevCell cell : {RevCell::gru, RevCell::lstm}) {
    for (int bits : {1, 3, 0}) {
      SelfCheckCase c;
      c.cell = cell;
      c.forget_bits = bits;
      c.steps = steps;
      c.layers = 2;
      c.hidden = 32;
      c.rows = 8;
      c.slice = bits == 3 ? 4 : (bits == 1 ? 0 : 15);
      c.seed = uint64_t(seed) + bits;
      reversal_cases.push_back(c);
    }
  }
  bool all_ok = true;
  const auto start = std::chrono::steady_clock::now();
  for (const auto& c : reversal_cases) {
    const ReversalReport r = check_reversal(c);
    const MemoryLedger& m = r.ledger;
    std::printf(
        "reversal  %-52s states %lld recovered, %lld differ (max |diff| %.3g), buffers empty: "
        "%s; held %.3g bits, optimal %.3g (held/optimal %.3f, baseline/held %.1fx)  %s\n",
        c.describe().c_str(), (long long)r.states_compared, (long long)r.states_differing,
        r.max_abs_difference, r.buffers_empty ? "yes" : "no", m.held_bits, m.optimal_bits,
        m.held_bits / m.optimal_bits, m.actual_ratio(), r.ok() ? "OK" : "FAILED");
    all_ok &= r.ok();
  }
  for (RevCell cell : {RevCell::gru, RevCell::lstm}) {
    SelfCheckCase c;
    c.cell = cell;
    c.steps = 60;
    c.layers = 2;
    c.hidden = 24;
    c.rows = 6;
    c.slice = 3;
    c.seed = uint64_t(seed) + 7;
    const GradientReport g = check_gradients(c);
    std::printf(
        "gradient  %-52s reversal vs stored backprop: max relative error %.2e over %d tensors "
        "(tolerance 1e-4)  %s\n",
        c.describe().c_str(), g.max_relative_error, g.tensors, g.ok() ? "OK" : "FAILED");
    all_ok &= g.ok();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("selftest %s (%.1f s)\n", all_ok ? "passed" : "FAILED", seconds);
  return all_ok ? 0 : 1;
}

}  // namespace

REVNMT_COMMAND(selftest, "selftest",
               "check exact reversal, memory and gradients of random reversible stacks",
               run_selftest);

}  // namespace revnmt::cli
