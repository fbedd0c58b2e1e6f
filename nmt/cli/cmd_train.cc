// revnmt train: trains a model from a recipe; rerunning the same command resumes.

#include <iostream>
#include <string>
#include <vector>

#include "nmt/cli/options.h"
#include "nmt/config/recipe.h"
#include "nmt/core/log.h"
#include "nmt/core/runtime.h"
#include "nmt/train/signals.h"
#include "nmt/train/trainer.h"

namespace revnmt::cli {
namespace {

int run_train(const Args& args) {
  std::string recipe_path;
  std::vector<std::string> overrides;
  po::options_description options("revnmt train options");
  // clang-format off
  options.add_options()
      ("recipe", po::value(&recipe_path)->required(), "recipe YAML file (see recipes/README.md)")
      ("set", po::value(&overrides)->composing(),
       "override one recipe key: --set train.lr=5e-4 (repeatable; later ones win)")
      ("max-memory-mb", po::value<int>(),
       "cap the training step's memory (overrides train.max_memory_mb): batches that would "
       "exceed it run as sub-batches with the same update; 0 = no cap")
      ("dump-config", "print the effective configuration as YAML and exit")
      ("quiet,q", "only warnings and errors on stderr (train.log still gets every line)");
  // clang-format on
  po::positional_options_description positional;
  positional.add("recipe", 1);
  po::variables_map vm;
  if (!parse_command_line(
          args,
          "revnmt train RECIPE.yaml [--set key=value ...] [--max-memory-mb N] [--dump-config] "
          "[--quiet]",
          options, positional, vm))
    return 0;

  if (vm.count("max-memory-mb")) {
    const int cap = vm["max-memory-mb"].as<int>();
    if (cap < 0)
      throw po::error("--max-memory-mb must be >= 0 (0 = no cap), not " + std::to_string(cap));
    overrides.push_back("train.max_memory_mb=" + std::to_string(cap));  // wins over --set
  }
  const Recipe recipe = load_recipe(recipe_path, overrides);
  if (vm.count("dump-config")) {
    std::cout << dump_recipe(recipe);
    return 0;
  }
  const bool quiet = vm.count("quiet") > 0;
  if (quiet) set_log_level(LogLevel::warn);
  set_num_threads(recipe.train.threads);

  StopSignals signals;  // installed before the (possibly long) vocabulary and data work
  TrainerOptions trainer_options;
  trainer_options.echo = !quiet;
  trainer_options.use_signals = true;
  Trainer trainer(recipe, trainer_options);
  trainer.train();
  return 0;
}

}  // namespace

REVNMT_COMMAND(train, "train", "train a model from a recipe (resumes an interrupted run)",
               run_train);

}  // namespace revnmt::cli
