#pragma once
// The run report: one self-contained HTML page (inline SVG and CSS, no scripts, no external
// resources) plus each of its charts as a standalone .svg file.

#include <string>
#include <vector>

#include "nmt/report/run_data.h"

namespace revnmt::report {

struct ReportFile {
  std::string name;  // "report.html", "perplexity.svg", ...
  std::string content;
};

// The charts (standalone SVG documents) and the page, in that order; the page last.
std::vector<ReportFile> build_report(const RunData& run);

// load_run(run_dir) + build_report, each file written atomically into out_dir (created if
// needed). Returns the paths written, the page last.
std::vector<std::string> write_report(const std::string& run_dir, const std::string& out_dir);

}  // namespace revnmt::report
