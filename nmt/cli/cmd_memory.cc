// revnmt memory: what a recipe's model keeps between forward and backward over its first
// training batches, in the paper's bits and in real bytes against standard cells.

#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "nmt/cli/options.h"
#include "nmt/config/recipe.h"
#include "nmt/core/file_io.h"
#include "nmt/core/log.h"
#include "nmt/core/runtime.h"
#include "nmt/report/memory_probe.h"

namespace revnmt::cli {
namespace {

int run_memory(const Args& args) {
  std::string recipe_path, format = "text", json_path, model_path, standard_context = "hidden";
  std::vector<std::string> overrides;
  int batches = 10;
  bool quiet = false;
  po::options_description options("revnmt memory options");
  // clang-format off
  options.add_options()
      ("recipe", po::value(&recipe_path)->required(), "recipe YAML file (see recipes/README.md)")
      ("set", po::value(&overrides)->composing(),
       "override one recipe key: --set model.slice_dim=40 (repeatable; later ones win)")
      ("batches,n", po::value(&batches)->default_value(batches),
       "measure the first N training batches of epoch 1 (sums over them are printed)")
      ("model,m", po::value(&model_path),
       "take the parameters from this model file (e.g. RUN_DIR/model.best.rnmt; its model must "
       "be the recipe's); default: initialized from train.seed, as at the start of training")
      ("standard-context", po::value(&standard_context)->default_value(standard_context),
       "context of the standard-cell model: hidden (what the standard baseline recipes use) "
       "or same (the recipe's own context)")
      ("format,f", po::value(&format)->default_value(format), "text | json (one JSON object)")
      ("json", po::value(&json_path),
       "also write the JSON form to this file (atomically), whatever --format says")
      ("quiet,q", po::bool_switch(&quiet), "no progress lines on stderr");
  // clang-format on
  po::positional_options_description positional;
  positional.add("recipe", 1);
  po::variables_map vm;
  if (!parse_command_line(args,
                          "revnmt memory RECIPE.yaml [--set key=value ...] [--batches N] "
                          "[--model MODEL] [--format text|json] [--json FILE]",
                          options, positional, vm))
    return 0;
  if (format != "text" && format != "json")
    throw po::error("--format must be text or json, not '" + format + "'");
  if (standard_context != "hidden" && standard_context != "same")
    throw po::error("--standard-context must be hidden or same, not '" + standard_context + "'");
  if (batches < 1) throw po::error("--batches must be at least 1, not " + std::to_string(batches));
  if (quiet) set_log_level(LogLevel::warn);

  const Recipe recipe = load_recipe(recipe_path, overrides);
  set_num_threads(recipe.train.threads);
  report::MemoryProbeOptions probe;
  probe.batches = batches;
  probe.model_path = model_path;
  probe.standard_same_context = standard_context == "same";
  const report::MemoryReport result =
      report::measure_memory(recipe, probe, [](const std::string& line) { log_info(line); });

  const std::string json = report::memory_report_json(result);
  if (!json_path.empty()) write_file_atomic(json_path, json);
  const std::string out = format == "json" ? json : report::memory_report_text(result);
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

REVNMT_COMMAND(memory, "memory",
               "memory a recipe's model holds for backward vs the baseline and standard cells",
               run_memory);

}  // namespace revnmt::cli
