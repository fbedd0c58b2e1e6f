#pragma once
// Checkpoints in a run directory: checkpoint.<update>.rnmt, each a model file (archive.h;
// "kind" = "checkpoint", the model sections of model_io.h) plus
//   "optimizer"  named tensors of the optimizer state (optimizer.h)
//   "state"      the training state as YAML (training_state.h)
// Written atomically (temporary file, fsync, rename) with the archive's CRC, so a crash at
// any moment leaves every checkpoint file either absent or complete. Older checkpoints are
// deleted only after the new one is in place.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "nmt/data/vocab.h"
#include "nmt/model/archive.h"
#include "nmt/model/seq2seq.h"
#include "nmt/train/optimizer.h"
#include "nmt/train/training_state.h"

namespace revnmt {

struct CheckpointFile {
  int64_t update = 0;
  std::string path;
};

// "<run_dir>/checkpoint.<update>.rnmt"
std::string checkpoint_path(const std::string& run_dir, int64_t update);

// The checkpoint files of `run_dir`, oldest (lowest update) first. Temporary files and
// other names are ignored.
std::vector<CheckpointFile> list_checkpoints(const std::string& run_dir);

// Writes a checkpoint atomically and returns its path.
std::string write_checkpoint(const std::string& run_dir, const Seq2Seq& model,
                             const Vocab& src_vocab, const Vocab& tgt_vocab,
                             const ParameterOptimizer& optimizer, const TrainingState& state);

// Deletes all but the newest `keep_last` checkpoints; returns the deleted paths.
std::vector<std::string> prune_checkpoints(const std::string& run_dir, int keep_last);

// Removes temporary files left in `run_dir` by an interrupted atomic write
// ("<name>.tmp.<pid>"); returns their paths.
std::vector<std::string> remove_stale_temporaries(const std::string& run_dir);

struct LoadedCheckpoint {
  Archive archive;
  std::string path;
  TrainingState state;
};

// The newest checkpoint that loads and parses (CRC, sections, state). A broken newer file
// is reported through `warn` and skipped. nullopt when run_dir holds no checkpoint; an
// InputError when it holds some but none is valid.
std::optional<LoadedCheckpoint> load_latest_checkpoint(
    const std::string& run_dir, const std::function<void(const std::string&)>& warn);

}  // namespace revnmt
