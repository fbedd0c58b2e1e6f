#include "nmt/train/training_state.h"

#include <yaml-cpp/yaml.h>

#include <cmath>

#include "nmt/config/yaml_fields.h"
#include "nmt/core/error.h"

namespace revnmt {

namespace {

// Exact text for a double: the shortest decimal that reads back to the same bits, or a
// YAML special for the non-finite ones.
std::string real_text(double value) {
  if (std::isnan(value)) return ".nan";
  if (std::isinf(value)) return value > 0 ? ".inf" : "-.inf";
  return config::format_real(value);
}

class Writer {
 public:
  Writer() { out_ << YAML::BeginMap; }
  Writer& integer(const char* key, int64_t value) {
    out_ << YAML::Key << key << YAML::Value << std::to_string(value);
    return *this;
  }
  Writer& real(const char* key, double value) {
    out_ << YAML::Key << key << YAML::Value << real_text(value);
    return *this;
  }
  Writer& boolean(const char* key, bool value) {
    out_ << YAML::Key << key << YAML::Value << (value ? "true" : "false");
    return *this;
  }
  Writer& text(const std::string& key, const std::string& value) {
    out_ << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
    return *this;
  }
  void begin(const std::string& key) { out_ << YAML::Key << key << YAML::Value << YAML::BeginMap; }
  void end() { out_ << YAML::EndMap; }
  std::string finish() {
    out_ << YAML::EndMap;
    return std::string(out_.c_str()) + "\n";
  }

 private:
  YAML::Emitter out_;
};

class Reader {
 public:
  Reader(const YAML::Node& map, std::string path, const std::string& source)
      : map_(map), path_(std::move(path)), source_(source) {
    if (!map_.IsMap()) fail(source_, ": training state: '", path_, "' is not a map");
  }
  Reader child(const std::string& key) const { return Reader(node(key), name(key), source_); }
  const YAML::Node& map() const { return map_; }

  int64_t integer(const std::string& key) const {
    const YAML::Node value = node(key);
    const auto parsed = value.IsScalar() ? config::parse_integer(value.Scalar()) : std::nullopt;
    if (!parsed) bad(key, "an integer", value);
    return *parsed;
  }
  double real(const std::string& key) const {
    const YAML::Node value = node(key);
    if (value.IsScalar()) {
      const std::string& s = value.Scalar();
      if (s == ".nan") return std::nan("");
      if (s == ".inf") return HUGE_VAL;
      if (s == "-.inf") return -HUGE_VAL;
      if (const auto parsed = config::parse_real(s)) return *parsed;
    }
    bad(key, "a number", value);
  }
  bool boolean(const std::string& key) const {
    const YAML::Node value = node(key);
    const auto parsed = value.IsScalar() ? config::parse_bool(value.Scalar()) : std::nullopt;
    if (!parsed) bad(key, "true or false", value);
    return *parsed;
  }
  std::string text(const std::string& key) const {
    const YAML::Node value = node(key);
    if (!value.IsScalar()) bad(key, "a string", value);
    return value.Scalar();
  }

 private:
  std::string name(const std::string& key) const { return path_.empty() ? key : path_ + "." + key; }
  YAML::Node node(const std::string& key) const {
    const YAML::Node value = map_[key];
    if (!value.IsDefined() || value.IsNull())
      fail(source_, ": training state lacks '", name(key),
           "' (written by another version of revnmt?)");
    return value;
  }
  [[noreturn]] void bad(const std::string& key, const char* expected,
                        const YAML::Node& value) const {
    fail(source_, ": training state: ", name(key), ": expected ", expected, ", got ",
         config::describe_node(value));
  }

  YAML::Node map_;
  std::string path_;
  const std::string& source_;
};

}  // namespace

std::string training_state_to_yaml(const TrainingState& s) {
  Writer w;
  w.integer("epoch", s.epoch)
      .integer("batch_in_epoch", s.batch_in_epoch)
      .integer("update", s.update)
      .integer("sentences", s.sentences)
      .integer("epoch_sentences", s.epoch_sentences)
      .integer("target_tokens", s.target_tokens)
      .integer("skipped_batches", s.skipped_batches)
      .integer("consecutive_faults", s.consecutive_faults)
      .real("elapsed_seconds", s.elapsed_seconds)
      .integer("metrics_bytes", s.metrics_bytes)
      .integer("last_validation_update", s.last_validation_update)
      .text("optimizer", s.optimizer);
  w.begin("lr_schedule");
  w.real("factor", s.lr.factor)
      .boolean("has_best", s.lr.has_best)
      .real("best_perplexity", s.lr.best_perplexity)
      .integer("decays", s.lr.decays);
  w.end();
  w.begin("validation");
  for (const auto& [metric, record] : s.metrics) {
    w.begin(to_string(metric));
    w.boolean("has_best", record.has_best)
        .real("best", record.best)
        .integer("best_update", record.best_update)
        .integer("stalled", record.stalled)
        .real("last", record.last);
    w.end();
  }
  w.end();
  const LogWindow& l = s.window;
  w.begin("log_window");
  w.integer("updates", l.updates)
      .integer("sentences", l.sentences)
      .integer("target_tokens", l.target_tokens)
      .real("nll", l.nll)
      .real("smoothed_loss", l.smoothed_loss)
      .real("grad_norm", l.grad_norm)
      .real("seconds", l.seconds)
      .integer("held_bytes", l.held_bytes)
      .real("enc_baseline_bits", l.enc_baseline_bits)
      .real("enc_held_bits", l.enc_held_bits)
      .real("enc_optimal_bits", l.enc_optimal_bits)
      .real("dec_baseline_bits", l.dec_baseline_bits)
      .real("dec_held_bits", l.dec_held_bits)
      .real("dec_optimal_bits", l.dec_optimal_bits)
      .integer("enc_held_bytes", l.enc_held_bytes)
      .integer("dec_held_bytes", l.dec_held_bytes);
  w.end();
  w.begin("data_order");
  for (const auto& [key, value] : s.data_order) w.text(key, value);
  w.end();
  return w.finish();
}

TrainingState training_state_from_yaml(const std::string& text, const std::string& source) {
  const YAML::Node root = config::parse_yaml_document(text, source);
  if (!root.IsMap()) fail(source, ": training state is not a YAML map");
  const Reader r(root, "", source);
  TrainingState s;
  s.epoch = r.integer("epoch");
  s.batch_in_epoch = r.integer("batch_in_epoch");
  s.update = r.integer("update");
  s.sentences = r.integer("sentences");
  s.epoch_sentences = r.integer("epoch_sentences");
  s.target_tokens = r.integer("target_tokens");
  s.skipped_batches = r.integer("skipped_batches");
  s.consecutive_faults = r.integer("consecutive_faults");
  s.elapsed_seconds = r.real("elapsed_seconds");
  s.metrics_bytes = r.integer("metrics_bytes");
  s.last_validation_update = r.integer("last_validation_update");
  s.optimizer = r.text("optimizer");
  if (s.epoch < 1 || s.batch_in_epoch < 0 || s.update < 0 || s.metrics_bytes < 0)
    fail(source, ": training state has out-of-range counters (epoch ", s.epoch, ", batch ",
         s.batch_in_epoch, ", update ", s.update, ")");

  const Reader lr = r.child("lr_schedule");
  s.lr.factor = lr.real("factor");
  s.lr.has_best = lr.boolean("has_best");
  s.lr.best_perplexity = lr.real("best_perplexity");
  s.lr.decays = lr.integer("decays");

  const YAML::Node validation = root["validation"];
  if (!validation.IsDefined()) fail(source, ": training state lacks 'validation'");
  if (!validation.IsNull()) {
    const Reader v(validation, "validation", source);
    for (const auto& item : validation) {
      const std::string name = item.first.Scalar();
      const auto metric = enum_from_name<Metric>(name);
      if (!metric) fail(source, ": training state: unknown metric 'validation.", name, "'");
      const Reader m = v.child(name);
      MetricRecord record;
      record.has_best = m.boolean("has_best");
      record.best = m.real("best");
      record.best_update = m.integer("best_update");
      record.stalled = m.integer("stalled");
      record.last = m.real("last");
      s.metrics[*metric] = record;
    }
  }

  const Reader l = r.child("log_window");
  LogWindow& w = s.window;
  w.updates = l.integer("updates");
  w.sentences = l.integer("sentences");
  w.target_tokens = l.integer("target_tokens");
  w.nll = l.real("nll");
  w.smoothed_loss = l.real("smoothed_loss");
  w.grad_norm = l.real("grad_norm");
  w.seconds = l.real("seconds");
  w.held_bytes = l.integer("held_bytes");
  w.enc_baseline_bits = l.real("enc_baseline_bits");
  w.enc_held_bits = l.real("enc_held_bits");
  w.enc_optimal_bits = l.real("enc_optimal_bits");
  w.dec_baseline_bits = l.real("dec_baseline_bits");
  w.dec_held_bits = l.real("dec_held_bits");
  w.dec_optimal_bits = l.real("dec_optimal_bits");
  w.enc_held_bytes = l.integer("enc_held_bytes");
  w.dec_held_bytes = l.integer("dec_held_bytes");

  const YAML::Node order = root["data_order"];
  if (!order.IsDefined()) fail(source, ": training state lacks 'data_order'");
  if (!order.IsNull()) {
    if (!order.IsMap()) fail(source, ": training state: 'data_order' is not a map");
    for (const auto& item : order) s.data_order[item.first.Scalar()] = item.second.Scalar();
  }
  return s;
}

bool operator==(const TrainingState& a, const TrainingState& b) {
  // Compared through the exact text form: every double there reads back to its bits.
  return training_state_to_yaml(a) == training_state_to_yaml(b);
}

}  // namespace revnmt
