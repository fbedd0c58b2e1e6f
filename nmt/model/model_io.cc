#include "nmt/model/model_io.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "nmt/core/error.h"

namespace revnmt {

SpecialTokens special_tokens_of(const Vocab& tgt_vocab) {
  SpecialTokens special;
  special.pad = tgt_vocab.pad_id();
  special.bos = tgt_vocab.bos_id();
  special.eos = tgt_vocab.eos_id();
  special.unk = tgt_vocab.unk_id();
  return special;
}

std::vector<NamedTensor> parameter_tensors(const ParameterSet& params, bool gradients) {
  std::vector<NamedTensor> tensors;
  tensors.reserve(params.size());
  for (size_t i = 0; i < params.size(); ++i)
    tensors.push_back({params[i].name, gradients ? params[i].grad : params[i].value});
  return tensors;
}

void add_model_sections(Archive& archive, const Seq2Seq& model, const Vocab& src_vocab,
                        const Vocab& tgt_vocab) {
  archive.set_bytes("config", model_config_to_yaml(model.config()));
  if (src_vocab.fingerprint() == tgt_vocab.fingerprint()) {
    archive.set_bytes("vocab", src_vocab.serialized());
  } else {
    archive.set_bytes("vocab.src", src_vocab.serialized());
    archive.set_bytes("vocab.tgt", tgt_vocab.serialized());
  }
  archive.set_tensors("params", parameter_tensors(model.params()));
}

void load_parameters(const Archive& archive, const std::string& section, ParameterSet& params) {
  const auto& tensors = archive.tensors(section);
  std::set<std::string> known;
  for (size_t i = 0; i < params.size(); ++i) known.insert(params[i].name);
  for (const auto& named : tensors)
    if (!known.count(named.name))
      fail(archive.path(), ": unexpected parameter '", named.name, "' in section '", section,
           "' (the file does not match this model's configuration)");
  for (size_t i = 0; i < params.size(); ++i) {
    Parameter& param = params[i];
    const NamedTensor* found = nullptr;
    for (const auto& named : tensors)
      if (named.name == param.name) found = &named;
    if (found == nullptr)
      fail(archive.path(), ": parameter '", param.name, "' is missing from section '", section,
           "'");
    if (found->tensor.dtype() != DType::f32 || found->tensor.shape() != param.value.shape())
      fail(archive.path(), ": parameter '", param.name, "' has shape ", found->tensor.shape().str(),
           " in the file but the model needs ", param.value.shape().str());
    std::memcpy(param.value.raw(), found->tensor.raw(), param.value.nbytes());
  }
}

namespace {

// A lower bound on the parameter count of the model `config` describes: embeddings,
// generator, attention, and at least H² recurrent weights per layer of each stack (RevGRU
// has 1.5 H², RevLSTM 2.5 H², GRU 3 H², LSTM 4 H²). In double: a damaged config may hold
// sizes whose products overflow 64 bits.
double min_parameter_count(const ModelConfig& config, int src_vocab, int tgt_vocab) {
  const double e = config.emb_size, h = config.hidden_size, c = config.context_size();
  return e * (double(src_vocab) + tgt_vocab) + (h + 1) * tgt_vocab + 2.0 * config.layers * h * h +
         h * c + (c + h) * h;
}

}  // namespace

LoadedModel model_from_archive(const Archive& archive, const Seq2SeqOptions& options) {
  const std::string& path = archive.path();
  const ModelConfig config =
      model_config_from_yaml(archive.bytes("config"), path + " (model config)");
  const bool joint = archive.has("vocab");
  Vocab src_vocab = Vocab::from_bytes(archive.bytes(joint ? "vocab" : "vocab.src"),
                                      path + (joint ? " (vocabulary)" : " (source vocabulary)"));
  Vocab tgt_vocab =
      joint ? src_vocab
            : Vocab::from_bytes(archive.bytes("vocab.tgt"), path + " (target vocabulary)");
  // Checked before the model is built: a damaged config must not make it allocate
  // gigabytes for parameters the file cannot hold.
  int64_t stored = 0;
  for (const auto& named : archive.tensors("params")) stored += named.tensor.numel();
  const double needed = min_parameter_count(config, src_vocab.size(), tgt_vocab.size());
  if (double(stored) < needed)
    fail(path, ": the file holds ", stored, " parameter values but the model its config ",
         "describes needs at least ", int64_t(std::min(needed, 9e18)),
         " (the file is damaged or was not written by revnmt)");
  auto model = std::make_unique<Seq2Seq>(config, src_vocab.size(), tgt_vocab.size(),
                                         special_tokens_of(tgt_vocab), options);
  load_parameters(archive, "params", model->params());
  return LoadedModel{std::move(model), std::move(src_vocab), std::move(tgt_vocab)};
}

void save_model(const std::string& path, const Seq2Seq& model, const Vocab& src_vocab,
                const Vocab& tgt_vocab) {
  Archive archive;
  archive.set_bytes("kind", "model");
  add_model_sections(archive, model, src_vocab, tgt_vocab);
  archive.save(path);
}

LoadedModel load_model(const std::string& path, const Seq2SeqOptions& options) {
  return model_from_archive(Archive::load(path), options);
}

}  // namespace revnmt
