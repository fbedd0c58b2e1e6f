#include "nmt/config/model_config.h"

#include <cmath>

#include "nmt/core/error.h"

namespace revnmt {

namespace config {
namespace {

constexpr int kMaxForgetBits = 10;

// max_forget_bits: an integer 1..10 or "none" (stored as 0).
struct ForgetBitsCodec {
  bool read(const YAML::Node& node, int& out, std::string& error) const {
    if (node.IsScalar()) {
      if (node.Scalar() == "none") {
        out = 0;
        return true;
      }
      if (auto value = parse_integer(node.Scalar());
          value && *value >= 1 && *value <= kMaxForgetBits) {
        out = static_cast<int>(*value);
        return true;
      }
    }
    error = "expected an integer in 1.." + std::to_string(kMaxForgetBits) + " or 'none', got " +
            describe_node(node);
    return false;
  }
  void write(YAML::Emitter& out, int value) const {
    out << (value == 0 ? std::string("none") : std::to_string(value));
  }
};

FieldSet<ModelConfig> make_model_fields() {
  using M = ModelConfig;
  FieldSet<M> f;
  f.add("cell", &M::cell, "revgru | revlstm | gru | lstm");
  f.add("layers", &M::layers, "encoder and decoder layers (>= 1)");
  f.add("emb_size", &M::emb_size, "embedding size E");
  f.add("hidden_size", &M::hidden_size,
        "hidden size H; must be even for revgru/revlstm (two halves)");
  f.add("context", &M::context,
        "what attention reads per source position: hidden | slice | emb | slice_emb");
  f.add("slice_dim", &M::slice_dim,
        "units of the top encoder layer's first half kept per position (slice, slice_emb; "
        "1..hidden_size/2)");
  f.add("max_forget_bits", &M::max_forget_bits,
        "1..10, or none (no limit): forget multipliers z >= 2^-k", ForgetBitsCodec{});
  f.add("no_forgetting", &M::no_forgetting,
        "NF-RevGRU / NF-RevLSTM variants (reversible cells only)");
  f.add("dropout_emb", &M::dropout_emb, "dropout on embeddings (locked), in [0, 1)");
  f.add("dropout_hidden", &M::dropout_hidden, "dropout between layers, in [0, 1)");
  f.add("dropout_query", &M::dropout_query,
        "dropout on the decoder's top output before attention, in [0, 1)");
  f.add("dropout_slice", &M::dropout_slice,
        "dropout on the stored slices in the attention context, in [0, 1)");
  f.add("init_range", &M::init_range, "parameters start uniform in [-r, r] (> 0)");
  return f;
}

}  // namespace

const FieldSet<ModelConfig>& model_fields() {
  static const FieldSet<ModelConfig> fields = make_model_fields();
  return fields;
}

void check_model_config(const ModelConfig& m, const Checker& check) {
  const std::string cell = to_string(m.cell);
  check.at_least("layers", m.layers, 1);
  check.at_least("emb_size", m.emb_size, 1);
  check.at_least("hidden_size", m.hidden_size, 1);
  if (m.is_reversible())
    check.require(m.hidden_size % 2 == 0, "hidden_size", std::to_string(m.hidden_size),
                  "an even number for cell " + cell + " (the state is split into two halves)");
  if (m.context == ContextType::slice || m.context == ContextType::slice_emb) {
    const int half = m.hidden_size / 2;
    check.require(m.slice_dim >= 1 && m.slice_dim <= half, "slice_dim", std::to_string(m.slice_dim),
                  "an integer in 1.." + std::to_string(half) + " (hidden_size/2) for context " +
                      to_string(m.context));
  }
  check.require(
      m.max_forget_bits == 0 || (m.max_forget_bits >= 1 && m.max_forget_bits <= kMaxForgetBits),
      "max_forget_bits", std::to_string(m.max_forget_bits),
      "an integer in 1.." + std::to_string(kMaxForgetBits) + " or none");
  if (!m.is_reversible())
    check.require(
        !m.no_forgetting, "no_forgetting", "true",
        "false for cell " + cell + " (no-forgetting variants exist only for revgru and revlstm)");
  check.in_interval("dropout_emb", m.dropout_emb, 0.0, true, 1.0, false);
  check.in_interval("dropout_hidden", m.dropout_hidden, 0.0, true, 1.0, false);
  check.in_interval("dropout_query", m.dropout_query, 0.0, true, 1.0, false);
  check.in_interval("dropout_slice", m.dropout_slice, 0.0, true, 1.0, false);
  check.positive("init_range", m.init_range);
}

}  // namespace config

int ModelConfig::context_size() const {
  switch (context) {
    case ContextType::hidden:
      return hidden_size;
    case ContextType::slice:
      return slice_dim;
    case ContextType::emb:
      return emb_size;
    case ContextType::slice_emb:
      return emb_size + slice_dim;
  }
  throw InternalError("unknown ContextType");
}

double ModelConfig::max_forget_fraction() const {
  return max_forget_bits == 0 ? 1.0 : 1.0 - std::ldexp(1.0, -max_forget_bits);
}

bool operator==(const ModelConfig& a, const ModelConfig& b) {
  return config::model_fields().equal(a, b);
}

void validate_model_config(const ModelConfig& config) {
  config::check_model_config(config, config::Checker(nullptr, "model config"));
}

std::string model_config_to_yaml(const ModelConfig& config) {
  return config::model_fields().to_yaml(config);
}

ModelConfig model_config_from_yaml(const std::string& text, const std::string& source) {
  const auto& fields = config::model_fields();
  const YAML::Node root = config::parse_yaml_document(text, source);
  ModelConfig config;
  config::KeyOrigins origins;
  fields.read(root, source, config, &origins);
  std::string missing;
  for (const auto& key : fields.keys())
    if (origins.count(key) == 0) missing += (missing.empty() ? "" : ", ") + key;
  if (!missing.empty())
    fail(source, ": model config lacks ", missing,
         " (written by another version of revnmt? every model key must be present)");
  config::check_model_config(config, config::Checker(&origins, source));
  return config;
}

std::vector<config::KeyInfo> model_config_keys() { return config::model_fields().describe(); }

}  // namespace revnmt
