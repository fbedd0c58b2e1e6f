#include "nmt/report/memory_report.h"

#include <cmath>
#include <cstdio>

#include "nmt/core/error.h"
#include "nmt/report/svg.h"
#include "nmt/train/train_log.h"

namespace revnmt::report {

namespace {

double ratio(double numerator, double denominator) {
  return denominator > 0 ? numerator / denominator : NAN;
}

std::string stack_json(const StackMemory& s) {
  const MemoryLedger& l = s.ledger;
  JsonLine json;
  json.add("baseline_bits", l.baseline_bits)
      .add("held_bits", l.held_bits)
      .add("optimal_bits", l.optimal_bits)
      .add("buffer_bits", l.buffer_bits)
      .add("stored_bits", l.stored_bits)
      .add("final_state_bits", l.final_state_bits)
      .add("held_bits_without_final_states", s.held_bits_without_final_states())
      .add("actual_ratio", ratio(l.baseline_bits, l.held_bits))
      .add("optimal_ratio", ratio(l.baseline_bits, l.optimal_bits))
      .add("paper_actual_ratio", s.paper_actual_ratio())
      .add("held_bytes", l.held_bytes)
      .add("standard_held_bytes", s.standard_held_bytes)
      .add("bytes_ratio", s.bytes_ratio());
  return json.str();
}

std::string model_json(const ModelSummary& m) {
  JsonLine json;
  json.add("cell", m.cell).add("context", m.context).add("description", m.description);
  return json.str();
}

const JsonValue& require_object(const JsonValue& json, const char* key, const std::string& source) {
  const JsonValue* v = json.find(key);
  require(v != nullptr && v->is_object(), source, ": not a memory report of 'revnmt memory' (no \"",
          key, "\" object)");
  return *v;
}

StackMemory stack_from_json(const JsonValue& json) {
  auto number = [&](const char* key) { return json.number_at(key).value_or(0.0); };
  StackMemory s;
  s.ledger.baseline_bits = number("baseline_bits");
  s.ledger.held_bits = number("held_bits");
  s.ledger.optimal_bits = number("optimal_bits");
  s.ledger.buffer_bits = number("buffer_bits");
  s.ledger.stored_bits = number("stored_bits");
  s.ledger.final_state_bits = number("final_state_bits");
  s.ledger.held_bytes = int64_t(number("held_bytes"));
  s.standard_held_bytes = int64_t(number("standard_held_bytes"));
  return s;
}

ModelSummary model_from_json(const JsonValue* json) {
  ModelSummary m;
  if (json == nullptr) return m;
  m.cell = json->string_at("cell");
  m.context = json->string_at("context");
  m.description = json->string_at("description");
  return m;
}

std::string ratio_text(double value) {
  if (!std::isfinite(value)) return "n/a";
  char text[32];
  std::snprintf(text, sizeof text, "%.2fx", value);
  return text;
}

std::string row(const std::string& label, const std::string& a, const std::string& b,
                const std::string& c = "") {
  char text[256];
  if (c.empty())
    std::snprintf(text, sizeof text, "  %-54s %16s %16s\n", label.c_str(), a.c_str(), b.c_str());
  else
    std::snprintf(text, sizeof text, "  %-54s %16s %16s %16s\n", label.c_str(), a.c_str(),
                  b.c_str(), c.c_str());
  return text;
}

std::string bits(double value) { return with_thousands(int64_t(std::llround(value))); }

}  // namespace

double StackMemory::paper_actual_ratio() const {
  return ratio(ledger.baseline_bits, held_bits_without_final_states());
}

double StackMemory::bytes_ratio() const {
  return ratio(double(standard_held_bytes), double(ledger.held_bytes));
}

double MemoryReport::bytes_ratio() const {
  return ratio(double(standard_held_bytes), double(held_bytes));
}

double MemoryReport::peak_bytes_ratio() const {
  return ratio(double(standard_peak_held_bytes), double(peak_held_bytes));
}

std::string memory_report_json(const MemoryReport& r) {
  JsonLine total;
  total.add("held_bytes", r.held_bytes)
      .add("standard_held_bytes", r.standard_held_bytes)
      .add("bytes_ratio", r.bytes_ratio())
      .add("peak_held_bytes", r.peak_held_bytes)
      .add("standard_peak_held_bytes", r.standard_peak_held_bytes)
      .add("peak_bytes_ratio", r.peak_bytes_ratio());
  JsonLine json;
  json.add("kind", "memory")
      .add("recipe", r.recipe)
      .add("parameters", r.parameters)
      .add("batches", r.batches)
      .add("sentences", r.sentences)
      .add("source_tokens", r.source_tokens)
      .add("target_tokens", r.target_tokens)
      .add_raw("model", model_json(r.model))
      .add_raw("standard_model", model_json(r.standard))
      .add("standard_context_rule", r.standard_context_rule)
      .add_raw("encoder", stack_json(r.encoder))
      .add_raw("decoder", stack_json(r.decoder))
      .add_raw("total", total.str());
  return json.str() + "\n";
}

MemoryReport memory_report_from_json(const JsonValue& json, const std::string& source) {
  require(json.is_object(), source, ": not a memory report of 'revnmt memory' (not a JSON object)");
  MemoryReport r;
  r.encoder = stack_from_json(require_object(json, "encoder", source));
  r.decoder = stack_from_json(require_object(json, "decoder", source));
  r.recipe = json.string_at("recipe");
  r.parameters = json.string_at("parameters");
  r.model = model_from_json(json.find("model"));
  r.standard = model_from_json(json.find("standard_model"));
  r.standard_context_rule = json.string_at("standard_context_rule");
  r.batches = int(json.number_at("batches").value_or(0));
  r.sentences = int64_t(json.number_at("sentences").value_or(0));
  r.source_tokens = int64_t(json.number_at("source_tokens").value_or(0));
  r.target_tokens = int64_t(json.number_at("target_tokens").value_or(0));
  if (const JsonValue* total = json.find("total")) {
    r.held_bytes = int64_t(total->number_at("held_bytes").value_or(0));
    r.standard_held_bytes = int64_t(total->number_at("standard_held_bytes").value_or(0));
    r.peak_held_bytes = int64_t(total->number_at("peak_held_bytes").value_or(0));
    r.standard_peak_held_bytes = int64_t(total->number_at("standard_peak_held_bytes").value_or(0));
  }
  return r;
}

std::string memory_report_text(const MemoryReport& r) {
  const MemoryLedger& e = r.encoder.ledger;
  const MemoryLedger& d = r.decoder.ledger;
  std::string out;
  out += "Memory held between forward and backward: " + r.recipe + ", the first " +
         std::to_string(r.batches) + " training batch" + (r.batches == 1 ? "" : "es") + " (" +
         with_thousands(r.sentences) + " sentences; " + with_thousands(r.source_tokens) +
         " source and " + with_thousands(r.target_tokens) +
         " target tokens incl. EOS), training forward passes with dropout; the standard model runs "
         "the same batches with the same dropout\n";
  out += "  model:    " + r.model.description + "; " + r.parameters + "\n";
  out += "  standard: " + r.standard.description + " (" + r.standard_context_rule + ")\n\n";

  out += row("Activation memory, bits (sums over the batches)", "encoder", "decoder");
  out += row("baseline (32 bits per hidden unit per padded step)", bits(e.baseline_bits),
             bits(d.baseline_bits));
  out += row("held (as allocated)", bits(e.held_bits), bits(d.held_bits));
  out += row("  bit-buffers", bits(e.buffer_bits), bits(d.buffer_bits));
  out += row("  stored slices / states", bits(e.stored_bits), bits(d.stored_bits));
  out += row("  final states", bits(e.final_state_bits), bits(d.final_state_bits));
  out +=
      row("optimal (sum of -log2 z + verbatim slices)", bits(e.optimal_bits), bits(d.optimal_bits));
  out += row("actual ratio (baseline / held)", ratio_text(e.actual_ratio()),
             ratio_text(d.actual_ratio()));
  out += row("optimal ratio (baseline / optimal)", ratio_text(e.optimal_ratio()),
             ratio_text(d.optimal_ratio()));
  out +=
      row("paper's actual ratio (held without final states)",
          ratio_text(r.encoder.paper_actual_ratio()), ratio_text(r.decoder.paper_actual_ratio()));
  out += "\n";
  out += row("Real bytes held for backward (sums over the batches)", "this model", "standard",
             "standard/this");
  auto bytes_row = [&](const std::string& label, int64_t mine, int64_t standard) {
    out += row(label, format_bytes(double(mine)), format_bytes(double(standard)),
               ratio_text(ratio(double(standard), double(mine))));
  };
  bytes_row("encoder", e.held_bytes, r.encoder.standard_held_bytes);
  bytes_row("decoder", d.held_bytes, r.decoder.standard_held_bytes);
  bytes_row("whole model (both stacks + token ids)", r.held_bytes, r.standard_held_bytes);
  bytes_row("largest batch, whole model", r.peak_held_bytes, r.standard_peak_held_bytes);
  return out;
}

}  // namespace revnmt::report
