#include "nmt/report/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "nmt/core/file_io.h"
#include "nmt/report/svg.h"
#include "nmt/train/train_log.h"

namespace revnmt::report {

namespace fs = std::filesystem;

namespace {

// Colors that stay distinct for the common kinds of color blindness (Okabe-Ito).
constexpr const char* kBlue = "#0072B2";
constexpr const char* kOrange = "#E69F00";
constexpr const char* kGreen = "#009E73";
constexpr const char* kVermillion = "#D55E00";
constexpr const char* kPurple = "#CC79A7";
constexpr const char* kGrey = "#7f7f7f";

std::string fixed(double value, int digits) {
  if (!std::isfinite(value)) return "n/a";
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", digits, value);
  return text;
}

std::string times(double ratio) { return std::isfinite(ratio) ? fixed(ratio, 2) + "×" : "n/a"; }

double ratio(double a, double b) { return b > 0 ? a / b : NAN; }

std::string less_note(double baseline, double value) {
  const double r = ratio(baseline, value);
  return std::isfinite(r) && value != baseline ? fixed(r, 1) + "× less" : "";
}

// Memory figures for the bits chart and table: memory.json when there is one, else the
// sums of the training log's windows.
struct BitsSource {
  bool available = false;
  std::string origin;
  double enc[3] = {NAN, NAN, NAN}, dec[3] = {NAN, NAN, NAN};  // baseline, held, optimal
};

BitsSource bits_source(const RunData& run) {
  BitsSource s;
  if (run.memory) {
    const auto& e = run.memory->encoder.ledger;
    const auto& d = run.memory->decoder.ledger;
    s = {true,
         "memory.json: sums over the first " + std::to_string(run.memory->batches) +
             " training batches (" + run.memory->parameters + ")",
         {e.baseline_bits, e.held_bits, e.optimal_bits},
         {d.baseline_bits, d.held_bits, d.optimal_bits}};
    return s;
  }
  double enc[3] = {0, 0, 0}, dec[3] = {0, 0, 0};
  int64_t windows = 0;
  for (const TrainPoint& p : run.train) {
    if (!p.encoder || !p.decoder) continue;
    ++windows;
    enc[0] += p.encoder->baseline_bits;
    enc[1] += p.encoder->held_bits;
    enc[2] += p.encoder->optimal_bits;
    dec[0] += p.decoder->baseline_bits;
    dec[1] += p.decoder->held_bits;
    dec[2] += p.decoder->optimal_bits;
  }
  if (windows == 0) return s;
  s.available = true;
  s.origin = "metrics.jsonl: sums over the " + with_thousands(windows) + " logged training windows";
  for (int i = 0; i < 3; ++i) {
    s.enc[i] = enc[i];
    s.dec[i] = dec[i];
  }
  return s;
}

LineChart perplexity_chart(const RunData& run) {
  LineChart chart;
  chart.id = "perplexity";
  chart.title = "Perplexity: training (per log window) and validation";
  chart.x_label = "updates";
  chart.y_label = "perplexity";
  chart.log_y = true;
  LineSeries train{"training", kBlue, {}, {}, false, false};
  for (const TrainPoint& p : run.train) {
    train.x.push_back(double(p.update));
    train.y.push_back(p.perplexity);
  }
  LineSeries valid{"validation", kVermillion, {}, {}, true, false};
  for (const ValidPoint& p : run.valid) {
    valid.x.push_back(double(p.update));
    valid.y.push_back(p.perplexity);
  }
  chart.series = {train, valid};
  chart.empty_message = "no training or validation events in metrics.jsonl yet";
  return chart;
}

LineChart bleu_chart(const RunData& run) {
  LineChart chart;
  chart.id = "validation_bleu";
  chart.title = "Validation BLEU (and chrF when computed)";
  chart.x_label = "updates";
  chart.y_label = "BLEU / chrF";
  chart.y_from_zero = true;
  LineSeries bleu{"BLEU", kGreen, {}, {}, true, false};
  LineSeries chrf{"chrF", kPurple, {}, {}, true, true};
  for (const ValidPoint& p : run.valid) {
    bleu.x.push_back(double(p.update));
    bleu.y.push_back(p.bleu);
    chrf.x.push_back(double(p.update));
    chrf.y.push_back(p.chrf);
  }
  chart.series.push_back(bleu);
  bool any_chrf = false;
  for (double v : chrf.y) any_chrf = any_chrf || std::isfinite(v);
  if (any_chrf) chart.series.push_back(chrf);
  chart.empty_message = "no validation with BLEU in metrics.jsonl yet";
  return chart;
}

LineChart ratio_chart(const RunData& run) {
  LineChart chart;
  chart.id = "memory_ratio";
  chart.title = "Memory ratios during training (per log window)";
  chart.x_label = "updates";
  chart.y_label = "ratio to the baseline";
  chart.y_from_zero = true;
  chart.y_format = [](double v) { return format_number(v) + "×"; };
  LineSeries enc{"encoder, baseline / held", kBlue, {}, {}, false, false};
  LineSeries dec{"decoder, baseline / held", kOrange, {}, {}, false, false};
  LineSeries enc_opt{"encoder, baseline / optimal", kBlue, {}, {}, false, true};
  LineSeries dec_opt{"decoder, baseline / optimal", kOrange, {}, {}, false, true};
  for (const TrainPoint& p : run.train) {
    if (!p.encoder || !p.decoder) continue;
    const double x = double(p.update);
    enc.x.push_back(x);
    enc.y.push_back(ratio(p.encoder->baseline_bits, p.encoder->held_bits));
    dec.x.push_back(x);
    dec.y.push_back(ratio(p.decoder->baseline_bits, p.decoder->held_bits));
    enc_opt.x.push_back(x);
    enc_opt.y.push_back(ratio(p.encoder->baseline_bits, p.encoder->optimal_bits));
    dec_opt.x.push_back(x);
    dec_opt.y.push_back(ratio(p.decoder->baseline_bits, p.decoder->optimal_bits));
  }
  chart.series = {enc, dec, enc_opt, dec_opt};
  chart.empty_message = "no memory ledger in metrics.jsonl yet";
  return chart;
}

BarChart bits_chart(const BitsSource& s) {
  BarChart chart;
  chart.id = "memory_bits";
  chart.title = "Activation memory: baseline vs held vs optimal bits";
  chart.y_label = "bits";
  chart.groups = {"encoder", "decoder"};
  if (!s.available) {
    chart.empty_message = "no memory figures (neither memory.json nor ledgers in metrics.jsonl)";
    return chart;
  }
  chart.series = {
      {"baseline: 32 bits per hidden unit per step", kGrey, {s.enc[0], s.dec[0]}, {}},
      {"held (as allocated)",
       kBlue,
       {s.enc[1], s.dec[1]},
       {less_note(s.enc[0], s.enc[1]), less_note(s.dec[0], s.dec[1])}},
      {"optimal (sum of -log2 z + slices)",
       kGreen,
       {s.enc[2], s.dec[2]},
       {less_note(s.enc[0], s.enc[2]), less_note(s.dec[0], s.dec[2])}},
  };
  return chart;
}

BarChart bytes_chart(const RunData& run) {
  BarChart chart;
  chart.id = "memory_bytes";
  chart.title = "Real bytes held for backward: this model vs standard cells";
  chart.groups = {"encoder", "decoder", "whole model"};
  if (!run.memory) {
    chart.y_label = "bytes";
    chart.empty_message = "no memory.json: run 'revnmt memory RECIPE --json RUN_DIR/memory.json'";
    return chart;
  }
  const MemoryReport& m = *run.memory;
  double mine[3] = {double(m.encoder.ledger.held_bytes), double(m.decoder.ledger.held_bytes),
                    double(m.held_bytes)};
  double standard[3] = {double(m.encoder.standard_held_bytes),
                        double(m.decoder.standard_held_bytes), double(m.standard_held_bytes)};
  // Plotted in the binary unit of the largest bar, so that the ticks fall on round numbers.
  const char* units[] = {"B", "KiB", "MiB", "GiB"};
  int unit = 0;
  const double largest =
      std::max({mine[2], standard[2], mine[0], standard[0], mine[1], standard[1]});
  while (unit < 3 && largest >= 1024.0 * std::pow(1024.0, unit)) ++unit;
  const double divisor = std::pow(1024.0, unit);
  for (int i = 0; i < 3; ++i) {
    mine[i] /= divisor;
    standard[i] /= divisor;
  }
  const std::string unit_name = units[unit];
  chart.y_label = unit_name + " (sums over the measured batches)";
  chart.value_format = [unit_name](double v) { return format_number(v) + " " + unit_name; };
  chart.label_format = [divisor](double v) { return format_bytes(v * divisor); };
  BarSeries a{"this model (" + m.model.cell + ", context " + m.model.context + ")",
              kBlue,
              {mine[0], mine[1], mine[2]},
              {}};
  for (int i = 0; i < 3; ++i) a.notes.push_back(less_note(standard[i], mine[i]));
  BarSeries b{"standard cells (" + m.standard.cell + ", context " + m.standard.context + ")",
              kGrey,
              {standard[0], standard[1], standard[2]},
              {}};
  chart.series = {a, b};
  return chart;
}

constexpr const char* kStyle = R"(
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; color: #222; margin: 24px auto;
       max-width: 1000px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 19px; border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 32px; }
.sub { color: #555; margin-top: 0; }
table { border-collapse: collapse; margin: 8px 0 16px; }
th, td { border: 1px solid #ddd; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, pre { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 12px; }
pre { background: #f7f7f7; border: 1px solid #e3e3e3; padding: 8px; overflow-x: auto; }
figure { margin: 12px 0 20px; }
figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 13px; }
.note { color: #8a5a00; }
footer { color: #777; font-size: 12px; margin-top: 32px; }
)";

std::string td(const std::string& text, bool number = false) {
  return std::string(number ? "<td class=\"num\">" : "<td>") + xml_escape(text) + "</td>";
}

std::string figure(const std::string& svg, const std::string& file, const std::string& caption) {
  return "<figure>\n" + svg + "<figcaption>" + xml_escape(caption) + " (also <code>" +
         xml_escape(file) + "</code>)</figcaption>\n</figure>\n";
}

std::string summary_section(const RunData& run, const BitsSource& bits) {
  std::string rows;
  auto add = [&](const std::string& name, const std::string& value) {
    rows += "<tr><th>" + xml_escape(name) + "</th>" + td(value) + "</tr>\n";
  };
  int64_t update = 0, epoch = 0;
  double wall = NAN;
  double tokens = 0, seconds = 0;
  for (const TrainPoint& p : run.train) {
    update = std::max(update, p.update);
    epoch = std::max(epoch, p.epoch);
    if (std::isfinite(p.wall_time)) wall = p.wall_time;
    tokens += double(p.window_target_tokens);
    seconds += p.seconds;
  }
  for (const ValidPoint& p : run.valid) {
    update = std::max(update, p.update);
    epoch = std::max(epoch, p.epoch);
    if (std::isfinite(p.wall_time) && !(p.wall_time < wall)) wall = p.wall_time;
  }
  if (!run.model_description.empty()) add("model", run.model_description);
  add("updates", with_thousands(update));
  add("epoch reached", std::to_string(epoch));
  add("wall time", std::isfinite(wall) ? format_duration(wall) : "n/a");
  add("training speed", seconds > 0 ? with_thousands(tokens / seconds, 0) +
                                          " target tokens/s (mean over the logged windows)"
                                    : "n/a");
  if (!run.train.empty())
    add("last training perplexity", fixed(run.train.back().perplexity, 2) + " (update " +
                                        with_thousands(run.train.back().update) + ")");
  const ValidPoint* best_ppl = nullptr;
  const ValidPoint* best_bleu = nullptr;
  for (const ValidPoint& p : run.valid) {
    if (std::isfinite(p.perplexity) && (!best_ppl || p.perplexity < best_ppl->perplexity))
      best_ppl = &p;
    if (std::isfinite(p.bleu) && (!best_bleu || p.bleu > best_bleu->bleu)) best_bleu = &p;
  }
  if (best_ppl)
    add("best validation perplexity",
        fixed(best_ppl->perplexity, 2) + " (update " + with_thousands(best_ppl->update) + ")");
  if (best_bleu)
    add("best validation BLEU", fixed(best_bleu->bleu, 2) + " (update " +
                                    with_thousands(best_bleu->update) + "; BLEU|" +
                                    best_bleu->bleu_signature + ")");
  if (run.faults > 0) add("skipped updates (non-finite)", with_thousands(run.faults));
  if (bits.available) {
    add("memory ratio, encoder (actual / optimal)",
        times(ratio(bits.enc[0], bits.enc[1])) + " / " + times(ratio(bits.enc[0], bits.enc[2])));
    add("memory ratio, decoder (actual / optimal)",
        times(ratio(bits.dec[0], bits.dec[1])) + " / " + times(ratio(bits.dec[0], bits.dec[2])));
  }
  if (run.memory)
    add("real bytes for backward vs standard cells",
        times(run.memory->bytes_ratio()) + " less (whole model, " + run.memory->standard.cell +
            " with context " + run.memory->standard.context + ")");
  return "<section id=\"summary\">\n<h2>Summary</h2>\n<table>\n" + rows + "</table>\n</section>\n";
}

std::string scores_section(const RunData& run) {
  std::string out = "<section id=\"scores\">\n<h2>Test scores</h2>\n";
  if (!run.scores) {
    out +=
        "<p class=\"note\">No test scores yet (scores.json is missing or unreadable; see the "
        "notes below).</p>\n</section>\n";
    return out;
  }
  const TestScores& t = *run.scores;
  std::string about;
  if (!t.test_set.empty()) about += "test set <code>" + xml_escape(t.test_set) + "</code>";
  if (!t.model.empty())
    about +=
        std::string(about.empty() ? "" : ", ") + "model <code>" + xml_escape(t.model) + "</code>";
  if (t.beam > 0)
    about += (about.empty() ? "" : ", ") + std::string("beam ") + std::to_string(t.beam);
  if (!about.empty()) out += "<p>" + about + ".</p>\n";
  out += "<table>\n<tr><th>metric</th><th>score</th><th>signature</th><th>details</th></tr>\n";
  for (const Score& s : t.scores)
    out += "<tr data-score=\"" + xml_escape(s.key) + "\">" + td(s.label) +
           td(fixed(s.score, 2), true) + "<td><code>" + xml_escape(s.name + "|" + s.signature) +
           "</code></td>" + td(s.verbose) + "</tr>\n";
  out += "</table>\n</section>\n";
  return out;
}

std::string memory_table(const RunData& run, const BitsSource& bits) {
  std::string out;
  if (bits.available) {
    out += "<p>Bits: " + xml_escape(bits.origin) + ".</p>\n";
    out += "<table>\n<tr><th></th><th>encoder</th><th>decoder</th></tr>\n";
    auto row = [&](const std::string& name, const std::string& e, const std::string& d) {
      out += "<tr><th>" + xml_escape(name) + "</th>" + td(e, true) + td(d, true) + "</tr>\n";
    };
    auto count = [](double v) {
      return std::isfinite(v) ? with_thousands(int64_t(std::llround(v))) : "n/a";
    };
    row("baseline bits (32 per hidden unit per padded step)", count(bits.enc[0]),
        count(bits.dec[0]));
    row("held bits (as allocated, with final states)", count(bits.enc[1]), count(bits.dec[1]));
    row("optimal bits", count(bits.enc[2]), count(bits.dec[2]));
    row("actual ratio (baseline / held)", times(ratio(bits.enc[0], bits.enc[1])),
        times(ratio(bits.dec[0], bits.dec[1])));
    row("optimal ratio (baseline / optimal)", times(ratio(bits.enc[0], bits.enc[2])),
        times(ratio(bits.dec[0], bits.dec[2])));
    if (run.memory)
      row("paper's actual ratio (held without final states)",
          times(run.memory->encoder.paper_actual_ratio()),
          times(run.memory->decoder.paper_actual_ratio()));
    out += "</table>\n";
  }
  if (run.memory) {
    const MemoryReport& m = *run.memory;
    out += "<p>Real bytes held between forward and backward, summed over the same " +
           std::to_string(m.batches) + " batches (" + with_thousands(m.sentences) +
           " sentences): this model is <b>" + xml_escape(m.model.description) +
           "</b>; the standard model is <b>" + xml_escape(m.standard.description) + "</b> (" +
           xml_escape(m.standard_context_rule) + ").</p>\n";
    out +=
        "<table>\n<tr><th></th><th>this model</th><th>standard cells</th><th>standard / "
        "this</th></tr>\n";
    auto row = [&](const std::string& name, int64_t mine, int64_t standard) {
      out += "<tr><th>" + xml_escape(name) + "</th>" + td(format_bytes(double(mine)), true) +
             td(format_bytes(double(standard)), true) +
             td(times(ratio(double(standard), double(mine))), true) + "</tr>\n";
    };
    row("encoder", m.encoder.ledger.held_bytes, m.encoder.standard_held_bytes);
    row("decoder", m.decoder.ledger.held_bytes, m.decoder.standard_held_bytes);
    row("whole model (both stacks + token ids)", m.held_bytes, m.standard_held_bytes);
    row("largest batch, whole model", m.peak_held_bytes, m.standard_peak_held_bytes);
    out += "</table>\n";
  }
  return out;
}

}  // namespace

std::vector<ReportFile> build_report(const RunData& run) {
  const BitsSource bits = bits_source(run);
  struct Chart {
    std::string file, svg, caption;
  };
  const std::vector<Chart> curves = {
      {"perplexity.svg", render_line_chart(perplexity_chart(run)),
       "Training perplexity per log window and validation perplexity, against updates"},
      {"validation_bleu.svg", render_line_chart(bleu_chart(run)),
       "Validation BLEU (sacreBLEU, cased) against updates"},
  };
  const std::vector<Chart> memory = {
      {"memory_bits.svg", render_bar_chart(bits_chart(bits)),
       bits.available ? "Bits held for backward; " + bits.origin
                      : std::string("Bits held for backward")},
      {"memory_bytes.svg", render_bar_chart(bytes_chart(run)),
       "Real bytes held for backward, this model against the same model with standard cells"},
      {"memory_ratio.svg", render_line_chart(ratio_chart(run)),
       "Memory ratios of each training log window (metrics.jsonl)"},
  };

  std::vector<ReportFile> files;
  for (const auto* group : {&curves, &memory})
    for (const Chart& c : *group) files.push_back({c.file, svg_document(c.svg)});

  const std::string name = fs::path(run.run_dir).lexically_normal().filename().string();
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>revnmt report: " +
      xml_escape(name) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  html += "<h1>revnmt run report: " + xml_escape(name) + "</h1>\n";
  html +=
      "<p class=\"sub\">Run directory <code>" + xml_escape(run.run_dir) + "</code>" +
      (run.model_description.empty() ? std::string() : "; " + xml_escape(run.model_description)) +
      "</p>\n";
  html += summary_section(run, bits);
  html += scores_section(run);
  html += "<section id=\"curves\">\n<h2>Learning curves</h2>\n";
  for (const Chart& c : curves) html += figure(c.svg, c.file, c.caption);
  html += "</section>\n<section id=\"memory\">\n<h2>Memory held for backward</h2>\n";
  html +=
      "<p>The baseline is what a standard RNN stores: one 32-bit float per hidden unit "
      "(and per cell unit for LSTMs) per padded time step. <i>Held</i> is what the "
      "reversible model actually keeps (bit-buffers as allocated, stored slices, final "
      "states); <i>optimal</i> is the information-theoretic minimum (the sum of "
      "&#8722;log<sub>2</sub> z of the forget gates plus verbatim slices). The paper's "
      "ratios leave the final states out.</p>\n";
  html += figure(memory[0].svg, memory[0].file, memory[0].caption);
  html += memory_table(run, bits);
  html += figure(memory[1].svg, memory[1].file, memory[1].caption);
  html += figure(memory[2].svg, memory[2].file, memory[2].caption);
  html += "</section>\n";
  html += "<section id=\"config\">\n<h2>Configuration</h2>\n";
  if (run.config_text.empty())
    html += "<p class=\"note\">config.yaml is missing.</p>\n";
  else
    html += "<details><summary>config.yaml (the effective recipe)</summary>\n<pre>" +
            xml_escape(run.config_text) + "</pre>\n</details>\n";
  html += "</section>\n";
  if (!run.notes.empty()) {
    html += "<section id=\"notes\">\n<h2>Notes</h2>\n<ul>\n";
    for (const std::string& note : run.notes)
      html += "<li class=\"note\">" + xml_escape(note) + "</li>\n";
    html += "</ul>\n</section>\n";
  }
  html +=
      "<footer>Written by <code>revnmt report</code> from the files of the run directory. "
      "Charts: ";
  for (size_t i = 0; i < files.size(); ++i)
    html += std::string(i ? ", " : "") + "<code>" + xml_escape(files[i].name) + "</code>";
  html += ".</footer>\n</body>\n</html>\n";
  files.push_back({"report.html", html});
  return files;
}

std::vector<std::string> write_report(const std::string& run_dir, const std::string& out_dir) {
  const RunData run = load_run(run_dir);
  make_directories(out_dir);
  std::vector<std::string> paths;
  for (const ReportFile& file : build_report(run)) {
    const std::string path = (fs::path(out_dir) / file.name).string();
    write_file_atomic(path, file.content);
    paths.push_back(path);
  }
  return paths;
}

}  // namespace revnmt::report
