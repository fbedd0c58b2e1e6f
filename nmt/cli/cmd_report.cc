// revnmt report: an HTML page (self-contained) and SVG charts from a run directory.

#include <filesystem>
#include <iostream>
#include <string>

#include "nmt/cli/options.h"
#include "nmt/report/html_report.h"

namespace revnmt::cli {
namespace {

int run_report(const Args& args) {
  std::string run_dir, out_dir;
  bool quiet = false;
  po::options_description options("revnmt report options");
  // clang-format off
  options.add_options()
      ("run-dir", po::value(&run_dir)->required(),
       "run directory of 'revnmt train' (config.yaml, metrics.jsonl; memory.json and "
       "scores.json when present)")
      ("output,o", po::value(&out_dir), "output directory (default RUN_DIR/report)")
      ("quiet,q", po::bool_switch(&quiet), "do not list the files written");
  // clang-format on
  po::positional_options_description positional;
  positional.add("run-dir", 1);
  po::variables_map vm;
  if (!parse_command_line(args, "revnmt report RUN_DIR [-o OUT_DIR]", options, positional, vm))
    return 0;
  if (out_dir.empty()) out_dir = (std::filesystem::path(run_dir) / "report").string();
  const auto paths = report::write_report(run_dir, out_dir);
  if (!quiet)
    for (const std::string& path : paths) std::cout << "wrote " << path << "\n";
  return 0;
}

}  // namespace

REVNMT_COMMAND(report, "report", "HTML report with SVG charts of a training run", run_report);

}  // namespace revnmt::cli
