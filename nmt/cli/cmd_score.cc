// revnmt score: sacreBLEU-compatible BLEU / chrF(++) of a detokenized hypothesis file against one
// or more reference files, printed exactly as `sacrebleu -f text` (or `-f json`) prints it.

#include <cctype>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "nmt/cli/options.h"
#include "nmt/core/error.h"
#include "nmt/core/file_io.h"
#include "nmt/eval/bleu.h"
#include "nmt/eval/chrf.h"
#include "nmt/eval/score_report.h"
#include "nmt/eval/text.h"

namespace revnmt::cli {
namespace {

constexpr const char* kStdinName = "standard input";

struct TextFile {
  std::string name;  // the path, or kStdinName
  std::vector<std::string> lines;
};

// Lines split on '\n' only (a missing final newline is fine), each stripped of trailing
// whitespace as sacreBLEU's CLI does with line.rstrip() (this removes a Windows '\r').
TextFile read_lines(const std::string& path) {
  TextFile file;
  std::string bytes;
  if (path == "-") {
    file.name = kStdinName;
    bytes.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    file.name = path;
    bytes = read_file(path);  // InputError naming the path: missing, directory, unreadable
  }
  size_t start = 0;
  while (start < bytes.size()) {
    size_t end = bytes.find('\n', start);
    if (end == std::string::npos) end = bytes.size();
    const std::string_view line(bytes.data() + start, end - start);
    file.lines.emplace_back(eval::rstrip_whitespace(line));
    start = end + 1;
  }
  return file;
}

// sacreBLEU aliases that Boost.Program_options cannot declare (multi-letter short options) or
// that sacreBLEU spells differently, mapped to our option names.
Args rewrite_aliases(const Args& args) {
  static const std::map<std::string, std::string> kAliases = {
      {"-lc", "--lowercase"},
      {"-tok", "--tokenize"},
      {"-sv", "--smooth-value"},
      {"-sl", "--sentence"},
      {"--sentence-level", "--sentence"},
      {"-sh", "--short"},
      {"--smooth-method", "--smooth"},
      {"--metrics", "--metric"},
      {"-cc", "--chrf-char-order"},
      {"-cw", "--chrf-word-order"},
  };
  Args out;
  out.reserve(args.size());
  for (const std::string& arg : args) {
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const auto it = kAliases.find(name);
    if (it == kAliases.end())
      out.push_back(arg);
    else
      out.push_back(it->second + (eq == std::string::npos ? "" : arg.substr(eq)));
  }
  return out;
}

// Metrics in sacreBLEU's output order (sorted by name: BLEU before chrF), each once.
std::vector<std::string> parse_metrics(const std::vector<std::string>& values) {
  bool bleu = false, chrf = false;
  for (const std::string& value : values) {
    size_t start = 0;
    while (start <= value.size()) {
      size_t end = value.find(',', start);
      if (end == std::string::npos) end = value.size();
      std::string name = value.substr(start, end - start);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (name == "bleu")
        bleu = true;
      else if (name == "chrf")
        chrf = true;
      else if (!name.empty())
        throw po::error("--metric must be bleu or chrf, not '" + name + "'");
      start = end + 1;
    }
  }
  std::vector<std::string> metrics;
  if (bleu || !chrf) metrics.push_back("bleu");
  if (chrf) metrics.push_back("chrf");
  return metrics;
}

void check_line_counts(const TextFile& hyp, const std::vector<TextFile>& refs) {
  for (const TextFile& ref : refs)
    require(ref.lines.size() == hyp.lines.size(), "line count mismatch: hypothesis ", hyp.name,
            " has ", hyp.lines.size(), " lines but reference ", ref.name, " has ", ref.lines.size(),
            " lines");
  require(!hyp.lines.empty(), hyp.name, ": no lines to score (expected one hypothesis per line)");
  // sacreBLEU skips empty references, but a segment must keep at least one.
  for (size_t i = 0; i < hyp.lines.size(); ++i) {
    bool any = false;
    for (const TextFile& ref : refs) any = any || !ref.lines[i].empty();
    if (any) continue;
    if (refs.size() == 1)
      fail(refs[0].name, ":", i + 1, ": empty reference line (every segment needs a non-empty ",
           "reference)");
    std::string names;
    for (const TextFile& ref : refs) names += (names.empty() ? "" : ", ") + ref.name;
    fail("line ", i + 1, " is empty in every reference file (", names,
         "); every segment needs a non-empty reference");
  }
}

int run_score(const Args& raw_args) {
  std::vector<std::string> ref_paths, metric_values;
  std::string hyp_path = "-", tokenize = "13a", smooth = "exp", format = "text";
  eval::BleuOptions bleu;
  eval::ChrfOptions chrf;
  bool sentence = false, score_only = false, short_signature = false;
  int width = 2;

  po::options_description options("revnmt score options");
  options.add_options()("ref,r", po::value(&ref_paths)->required()->composing(),
                        "reference file, one segment per line (repeat for several references)")(
      "hyp", po::value(&hyp_path),
      "hypothesis file (also the positional argument); - or "
      "absent: standard input")(
      "metric,m", po::value(&metric_values)->composing(),
      "bleu | chrf; repeat or give a comma-separated list (default bleu)")(
      "lowercase", po::bool_switch(&bleu.lowercase),
      "case-insensitive BLEU (-lc; as in sacreBLEU it does not affect chrF, see --chrf-lowercase)")(
      "tokenize", po::value(&tokenize)->default_value(tokenize),
      "BLEU tokenizer: 13a | none | intl | char (-tok)")(
      "smooth,s", po::value(&smooth)->default_value(smooth),
      "BLEU smoothing: exp | floor | add-k | none (--smooth-method)")(
      "smooth-value", po::value<double>(),
      "value for floor (default 0.1) and add-k (default 1) (-sv)")(
      "max-ngram-order", po::value(&bleu.max_ngram_order)->default_value(4),
      "BLEU's maximum n-gram order")("chrf-char-order",
                                     po::value(&chrf.char_order)->default_value(6),
                                     "chrF character n-gram order (-cc)")(
      "chrf-word-order", po::value(&chrf.word_order)->default_value(0),
      "chrF word n-gram order; 2 = chrF++ (-cw)")(
      "chrf-beta", po::value(&chrf.beta)->default_value(2), "chrF beta (recall weight)")(
      "chrf-whitespace", po::bool_switch(&chrf.whitespace),
      "keep whitespace in chrF character n-grams")(
      "chrf-lowercase", po::bool_switch(&chrf.lowercase), "case-insensitive chrF")(
      "chrf-eps-smoothing", po::bool_switch(&chrf.eps_smoothing),
      "chrF epsilon smoothing (chrF++.py/NLTK/Moses) instead of effective order")(
      "sentence", po::bool_switch(&sentence),
      "one score line per segment (-sl; BLEU uses effective order, as sacreBLEU does)")(
      "format,f", po::value(&format)->default_value(format),
      "text | json (as sacrebleu -f json; with --sentence, one JSON object per line)")(
      "score-only,b", po::bool_switch(&score_only), "print only the score")(
      "width,w", po::value(&width)->default_value(width), "decimals of the score")(
      "short", po::bool_switch(&short_signature), "short signature (-sh), text format only");
  po::positional_options_description positional;
  positional.add("hyp", 1);
  po::variables_map vm;
  if (!parse_command_line(rewrite_aliases(raw_args),
                          "revnmt score --ref REF [--ref REF2 ...] [options] [HYP | -]", options,
                          positional, vm))
    return 0;

  const std::vector<std::string> metrics = parse_metrics(metric_values);
  bleu.tokenizer = eval::parse_tokenizer(tokenize);
  bleu.smooth_method = eval::parse_smooth_method(smooth);
  if (vm.count("smooth-value")) bleu.smooth_value = vm["smooth-value"].as<double>();
  if (format != "text" && format != "json")
    throw po::error("--format must be text or json, not '" + format + "'");
  if (width < 0 || width > 20) throw po::error("--width must be in 0..20");
  if (sentence && metrics.size() > 1)
    throw po::error("--sentence takes one metric (as in sacreBLEU), not " +
                    std::to_string(metrics.size()));
  bleu.validate();
  chrf.validate();
  const bool json = format == "json";

  const TextFile hyp = read_lines(hyp_path);
  std::vector<TextFile> refs;
  for (const std::string& path : ref_paths) {
    require(path != "-" || hyp_path != "-",
            "the hypothesis is read from standard input, so a reference cannot be");
    refs.push_back(read_lines(path));
  }
  check_line_counts(hyp, refs);

  std::string output;
  if (sentence) {
    if (metrics[0] == "bleu") bleu.effective_order = true;
    std::vector<std::string> segment_refs(refs.size());
    for (size_t i = 0; i < hyp.lines.size(); ++i) {
      for (size_t r = 0; r < refs.size(); ++r) segment_refs[r] = refs[r].lines[i];
      const eval::ScoreReport report =
          metrics[0] == "bleu" ? eval::sentence_bleu(hyp.lines[i], segment_refs, bleu).report()
                               : eval::sentence_chrf(hyp.lines[i], segment_refs, chrf).report();
      output += score_only || !json ? report.to_text(width, score_only, short_signature)
                                    : report.to_json(width, /*compact=*/true);
      output += "\n";
    }
  } else {
    std::vector<std::vector<std::string>> ref_streams;
    for (const TextFile& ref : refs) ref_streams.push_back(ref.lines);
    std::vector<std::string> results;
    for (const std::string& metric : metrics) {
      const eval::ScoreReport report =
          metric == "bleu" ? eval::corpus_bleu(hyp.lines, ref_streams, bleu).report()
                           : eval::corpus_chrf(hyp.lines, ref_streams, chrf).report();
      // As in sacreBLEU, --score-only wins over the format and JSON signatures are never short.
      results.push_back(score_only || !json ? report.to_text(width, score_only, short_signature)
                                            : report.to_json(width));
    }
    output =
        json && !score_only ? eval::join_json_objects(results) : eval::align_text_lines(results);
  }
  std::fwrite(output.data(), 1, output.size(), stdout);
  std::fflush(stdout);
  return 0;
}

}  // namespace

REVNMT_COMMAND(score, "score", "sacreBLEU-compatible BLEU / chrF of a hypothesis file", run_score);

}  // namespace revnmt::cli
