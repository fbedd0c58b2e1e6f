#pragma once
// ModelConfig: the architecture settings of a model (the recipe's `model:` section). The model
// file embeds it as YAML text (model_config_to_yaml), so a model is self-describing. Every
// member initializer below is the documented default (recipes/README.md).

#include <string>
#include <vector>

#include "nmt/config/enums.h"
#include "nmt/config/yaml_fields.h"

namespace revnmt {

struct ModelConfig {
  CellType cell = CellType::revgru;
  int layers = 1;         // encoder and decoder layers
  int emb_size = 300;     // E
  int hidden_size = 300;  // H; two halves of H/2 in reversible cells
  ContextType context = ContextType::slice_emb;
  int slice_dim = 20;          // sd: units of the top encoder layer's first half
  int max_forget_bits = 3;     // k in 1..10; 0 = no limit ("none" in YAML)
  bool no_forgetting = false;  // NF-RevGRU / NF-RevLSTM
  double dropout_emb = 0.4;
  double dropout_hidden = 0.4;
  double dropout_query = 0.4;
  double dropout_slice = 0.4;
  double init_range = 0.1;

  bool is_reversible() const { return revnmt::is_reversible(cell); }
  // C: width of one attention context entry (REVERSIBLE.md §6).
  int context_size() const;
  // m_f = 1 - 2^-k of REVERSIBLE.md §1.1, the largest fraction of a unit a forget gate may
  // erase per step (z = m_f * sigmoid(a) + 1 - m_f >= 2^-k); 1.0 when there is no limit.
  double max_forget_fraction() const;
};

// Compares every key.
bool operator==(const ModelConfig& a, const ModelConfig& b);
inline bool operator!=(const ModelConfig& a, const ModelConfig& b) { return !(a == b); }

// Throws InputError naming the key, the value and the allowed range.
void validate_model_config(const ModelConfig& config);

// The YAML embedded in model files: a flat map of every key above.
std::string model_config_to_yaml(const ModelConfig& config);
// Reads text written by model_config_to_yaml. Strict, because a model's architecture must
// never silently take today's defaults: every key must be present, unknown keys are errors
// (a model from another version or tool), and the values are validated. `source` names the
// text in messages ("model.rnmt (model config)").
ModelConfig model_config_from_yaml(const std::string& text, const std::string& source);

// Every model key (without the "model." prefix) with its default and meaning.
std::vector<config::KeyInfo> model_config_keys();

namespace config {
// The binding of ModelConfig's members to YAML keys, shared with the recipe.
const FieldSet<ModelConfig>& model_fields();
// Range and consistency checks; keys are printed as prefix + key.
void check_model_config(const ModelConfig& config, const Checker& check);
}  // namespace config

}  // namespace revnmt
