#pragma once
// Everything `revnmt report` reads from a run directory, read tolerantly: a missing or
// damaged file becomes a note for the page, never an error (only a missing run directory is).
//   config.yaml    the effective recipe (shown, and summarized)
//   metrics.jsonl  train windows (perplexity, tokens/s, memory ledgers) and validations
//   memory.json    `revnmt memory --json` (ledger sums and bytes vs the standard model)
//   scores.json    the test scores recipes/multi30k/run.sh writes

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "nmt/report/memory_report.h"

namespace revnmt::report {

struct LedgerPoint {
  double baseline_bits = 0, held_bits = 0, optimal_bits = 0;
  int64_t held_bytes = 0;
};

struct TrainPoint {
  int64_t update = 0, epoch = 0;
  double perplexity = 0, tokens_per_second = 0, wall_time = 0;
  int64_t target_tokens = 0;
  int64_t window_target_tokens = 0;  // tokens and seconds of the window this point sums up
  double seconds = 0;
  std::optional<LedgerPoint> encoder, decoder;
};

struct ValidPoint {
  int64_t update = 0, epoch = 0;
  double perplexity = 0, bleu = 0, chrf = 0;  // NaN when not computed
  std::string bleu_signature, bleu_verbose, chrf_signature;
  double wall_time = 0;
};

struct Score {
  std::string key;    // "bleu", "chrf", "bleu_lowercased"
  std::string label;  // what the page calls it
  std::string name;   // sacreBLEU's metric name: "BLEU", "chrF2"
  double score = 0;
  std::string signature, verbose;
};

struct TestScores {
  std::string test_set, model, hypotheses;  // as scores.json names them
  int beam = 0;
  std::vector<Score> scores;
};

struct RunData {
  std::string run_dir;
  std::string config_text;  // "" when config.yaml is missing
  std::string model_description;
  std::vector<TrainPoint> train;
  std::vector<ValidPoint> valid;
  int64_t faults = 0;
  std::optional<MemoryReport> memory;
  std::optional<TestScores> scores;
  std::vector<std::string> notes;  // what was missing or could not be read
};

// Throws InputError only when `run_dir` is not a directory.
RunData load_run(const std::string& run_dir);

// Parses scores.json text (see recipes/multi30k/run.sh): {"test_set", "model", "beam",
// "hypotheses", "bleu": {sacreBLEU JSON}, "chrf": {...}, "bleu_lowercased": {...}}.
TestScores test_scores_from_json(const JsonValue& json, const std::string& source);

}  // namespace revnmt::report
