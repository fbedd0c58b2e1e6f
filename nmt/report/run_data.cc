#include "nmt/report/run_data.h"

#include <cmath>
#include <filesystem>

#include "nmt/config/recipe.h"
#include "nmt/core/error.h"
#include "nmt/core/file_io.h"
#include "nmt/report/memory_probe.h"

namespace revnmt::report {

namespace fs = std::filesystem;

namespace {

// Notes about bad lines stop after this many (a count follows).
constexpr int kMaxLineNotes = 5;

int64_t integer_at(const JsonValue& json, const char* key) {
  return static_cast<int64_t>(json.number_at(key).value_or(0.0));
}

std::optional<LedgerPoint> ledger_at(const JsonValue& json, const char* key) {
  const JsonValue* v = json.find(key);
  if (v == nullptr || !v->is_object()) return std::nullopt;
  LedgerPoint p;
  p.baseline_bits = v->number_at("baseline_bits").value_or(NAN);
  p.held_bits = v->number_at("held_bits").value_or(NAN);
  p.optimal_bits = v->number_at("optimal_bits").value_or(NAN);
  p.held_bytes = integer_at(*v, "held_bytes");
  return p;
}

// The file's text, or nullopt with a note when it is missing or unreadable.
std::optional<std::string> read_optional(const fs::path& path, const std::string& missing_note,
                                         std::vector<std::string>& notes) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    notes.push_back(missing_note);
    return std::nullopt;
  }
  try {
    return read_file(path.string());
  } catch (const InputError& e) {
    notes.push_back(e.what());
    return std::nullopt;
  }
}

void load_metrics(const std::string& text, const std::string& source, RunData& run) {
  int64_t line_number = 0, bad = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    JsonValue event;
    try {
      event = parse_json(line, source + ":" + std::to_string(line_number));
    } catch (const InputError& e) {
      if (++bad <= kMaxLineNotes) run.notes.push_back(std::string(e.what()) + " (line skipped)");
      continue;
    }
    const std::string kind = event.string_at("kind");
    if (kind == "train") {
      TrainPoint p;
      p.update = integer_at(event, "update");
      p.epoch = integer_at(event, "epoch");
      p.perplexity = event.number_at("perplexity").value_or(NAN);
      p.tokens_per_second = event.number_at("tokens_per_second").value_or(NAN);
      p.wall_time = event.number_at("wall_time").value_or(NAN);
      p.target_tokens = integer_at(event, "target_tokens");
      p.window_target_tokens = integer_at(event, "window_target_tokens");
      p.seconds = event.number_at("seconds").value_or(0.0);
      p.encoder = ledger_at(event, "encoder");
      p.decoder = ledger_at(event, "decoder");
      run.train.push_back(p);
    } else if (kind == "valid") {
      ValidPoint p;
      p.update = integer_at(event, "update");
      p.epoch = integer_at(event, "epoch");
      p.perplexity = event.number_at("perplexity").value_or(NAN);
      p.bleu = event.number_at("bleu").value_or(NAN);
      p.chrf = event.number_at("chrf").value_or(NAN);
      p.bleu_signature = event.string_at("bleu_signature");
      p.bleu_verbose = event.string_at("bleu_verbose");
      p.chrf_signature = event.string_at("chrf_signature");
      p.wall_time = event.number_at("wall_time").value_or(NAN);
      run.valid.push_back(p);
    } else if (kind == "fault") {
      ++run.faults;
    }
  }
  if (bad > kMaxLineNotes)
    run.notes.push_back(source + ": " + std::to_string(bad - kMaxLineNotes) +
                        " more lines could not be read (skipped)");
  if (run.train.empty() && run.valid.empty())
    run.notes.push_back(source + " has no training or validation events yet");
}

Score score_from_json(const JsonValue& json, const std::string& key, const std::string& label) {
  Score s;
  s.key = key;
  s.label = label;
  s.name = json.string_at("name", key);
  s.score = json.number_at("score").value_or(NAN);
  s.signature = json.string_at("signature");
  s.verbose = json.string_at("verbose_score");
  return s;
}

}  // namespace

TestScores test_scores_from_json(const JsonValue& json, const std::string& source) {
  require(json.is_object(), source, ": not a scores file (expected a JSON object)");
  TestScores t;
  t.test_set = json.string_at("test_set");
  t.model = json.string_at("model");
  t.hypotheses = json.string_at("hypotheses");
  t.beam = static_cast<int>(json.number_at("beam").value_or(0));
  const struct {
    const char* key;
    const char* label;
  } kinds[] = {
      {"bleu", "BLEU (cased, sacreBLEU default)"},
      {"chrf", "chrF"},
      {"bleu_lowercased",
       "BLEU, lowercased (for comparison with the paper's tokenized-lowercased numbers)"},
  };
  for (const auto& kind : kinds) {
    const JsonValue* v = json.find(kind.key);
    if (v != nullptr && v->is_object())
      t.scores.push_back(score_from_json(*v, kind.key, kind.label));
  }
  require(!t.scores.empty(), source, ": no \"bleu\", \"chrf\" or \"bleu_lowercased\" score in it");
  return t;
}

RunData load_run(const std::string& run_dir) {
  std::error_code ec;
  require(fs::is_directory(run_dir, ec), run_dir, ": not a run directory (",
          fs::exists(run_dir, ec) ? "not a directory" : "no such directory", ")");
  RunData run;
  run.run_dir = run_dir;
  const fs::path dir(run_dir);

  if (auto text = read_optional(dir / "config.yaml",
                                "config.yaml is missing: no configuration to show", run.notes)) {
    run.config_text = *text;
    try {
      run.model_description =
          describe_model(recipe_from_yaml(*text, (dir / "config.yaml").string()).model);
    } catch (const InputError& e) {
      run.notes.push_back(std::string("config.yaml could not be read as a recipe: ") + e.what());
    }
  }

  const std::string metrics = (dir / "metrics.jsonl").string();
  if (auto text = read_optional(
          dir / "metrics.jsonl",
          "metrics.jsonl is missing: no learning curves (has training started?)", run.notes))
    load_metrics(*text, metrics, run);

  const std::string memory = (dir / "memory.json").string();
  if (auto text = read_optional(dir / "memory.json",
                                "memory.json is missing: the memory ledger comes from the training "
                                "log (bits only); write it with 'revnmt memory RECIPE --json " +
                                    memory + "' for bytes versus the standard model",
                                run.notes)) {
    try {
      run.memory = memory_report_from_json(parse_json(*text, memory), memory);
    } catch (const InputError& e) {
      run.notes.push_back(e.what());
    }
  }

  const std::string scores = (dir / "scores.json").string();
  if (auto text =
          read_optional(dir / "scores.json",
                        "scores.json is missing: no test scores yet (recipes/multi30k/run.sh "
                        "writes them after translating the test set)",
                        run.notes)) {
    try {
      run.scores = test_scores_from_json(parse_json(*text, scores), scores);
    } catch (const InputError& e) {
      run.notes.push_back(e.what());
    }
  }
  return run;
}

}  // namespace revnmt::report
