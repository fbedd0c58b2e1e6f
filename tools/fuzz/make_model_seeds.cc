// Writes the seed inputs of fuzz_model: a tiny model file and a tiny checkpoint of each
// cell type, built from a small SentencePiece vocabulary (identity normalization, so the
// file is a few kilobytes). Usage: fuzz_make_model_seeds VOCAB.spm OUT_DIR

#include <cstdio>
#include <string>

#include "nmt/core/error.h"
#include "nmt/model/model_io.h"
#include "nmt/train/checkpoint.h"
#include "nmt/train/optimizer.h"
#include "nmt/train/training_state.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: fuzz_make_model_seeds VOCAB.spm OUT_DIR\n");
    return 2;
  }
  using namespace revnmt;
  try {
    const Vocab vocab = Vocab::load(argv[1]);
    const std::string out = argv[2];
    int n = 0;
    for (CellType cell : {CellType::revgru, CellType::revlstm, CellType::gru, CellType::lstm}) {
      ModelConfig config;
      config.cell = cell;
      config.layers = 1 + n % 2;
      config.emb_size = 3;
      config.hidden_size = 4;
      config.context = n % 2 ? ContextType::slice_emb : ContextType::slice;
      config.slice_dim = 1;
      Seq2Seq model(config, vocab.size(), vocab.size(), special_tokens_of(vocab));
      model.initialize(uint64_t(n + 1));
      const std::string name = to_string(cell);
      save_model(out + "/" + name + ".rnmt", model, vocab, vocab);

      TrainConfig train;
      auto optimizer = make_optimizer(train, model.params());
      for (size_t i = 0; i < model.params().size(); ++i) {
        Parameter& p = model.params()[i];
        for (int64_t j = 0; j < p.numel(); ++j) p.gradient()[j] = 0.01f;
      }
      optimizer->step(model.params(), 0.001);
      TrainingState state;
      state.update = 1;
      state.optimizer = optimizer->name();
      state.data_order = {{"train.seed", "1"}};
      Archive archive;
      archive.set_bytes("kind", "checkpoint");
      add_model_sections(archive, model, vocab, vocab);
      archive.set_tensors("optimizer", optimizer->state());
      archive.set_bytes("state", training_state_to_yaml(state));
      archive.save(out + "/" + name + ".checkpoint.rnmt");
      ++n;
    }
  } catch (const Error& e) {
    std::fprintf(stderr, "fuzz_make_model_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
