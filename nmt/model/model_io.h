#pragma once
// Model files (.rnmt): one self-describing archive (archive.h) holding the model config
// (YAML), the SentencePiece vocabularies themselves, and the named parameters. A model
// file is all `revnmt translate` needs. Checkpoints are model files with more sections.

#include <memory>
#include <string>

#include "nmt/data/vocab.h"
#include "nmt/model/archive.h"
#include "nmt/model/seq2seq.h"

namespace revnmt {

struct LoadedModel {
  std::unique_ptr<Seq2Seq> model;
  Vocab src_vocab;
  Vocab tgt_vocab;
};

SpecialTokens special_tokens_of(const Vocab& tgt_vocab);

// Adds the "config", vocabulary and "params" sections.
void add_model_sections(Archive& archive, const Seq2Seq& model, const Vocab& src_vocab,
                        const Vocab& tgt_vocab);
// Builds the model the archive describes and loads its parameters. Every mismatch
// (missing or extra parameter, wrong shape, vocabulary size) is an InputError naming the
// file and the parameter.
LoadedModel model_from_archive(const Archive& archive, const Seq2SeqOptions& options = {});
// Copies the archive's "params" into an existing model (same checks).
void load_parameters(const Archive& archive, const std::string& section, ParameterSet& params);
std::vector<NamedTensor> parameter_tensors(const ParameterSet& params, bool gradients = false);

void save_model(const std::string& path, const Seq2Seq& model, const Vocab& src_vocab,
                const Vocab& tgt_vocab);
LoadedModel load_model(const std::string& path, const Seq2SeqOptions& options = {});

}  // namespace revnmt
