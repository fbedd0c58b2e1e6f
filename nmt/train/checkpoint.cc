#include "nmt/train/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "nmt/core/error.h"
#include "nmt/model/model_io.h"

namespace revnmt {

namespace fs = std::filesystem;

std::string checkpoint_path(const std::string& run_dir, int64_t update) {
  return (fs::path(run_dir) / ("checkpoint." + std::to_string(update) + ".rnmt")).string();
}

std::vector<CheckpointFile> list_checkpoints(const std::string& run_dir) {
  static const std::regex pattern(R"(checkpoint\.([0-9]{1,18})\.rnmt)");
  std::vector<CheckpointFile> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    std::smatch match;
    if (!std::regex_match(name, match, pattern)) continue;
    if (!entry.is_regular_file(ec)) continue;
    found.push_back({std::stoll(match[1].str()), entry.path().string()});
  }
  std::sort(found.begin(), found.end(),
            [](const CheckpointFile& a, const CheckpointFile& b) { return a.update < b.update; });
  return found;
}

std::string write_checkpoint(const std::string& run_dir, const Seq2Seq& model,
                             const Vocab& src_vocab, const Vocab& tgt_vocab,
                             const ParameterOptimizer& optimizer, const TrainingState& state) {
  Archive archive;
  archive.set_bytes("kind", "checkpoint");
  add_model_sections(archive, model, src_vocab, tgt_vocab);
  archive.set_tensors("optimizer", optimizer.state());
  archive.set_bytes("state", training_state_to_yaml(state));
  const std::string path = checkpoint_path(run_dir, state.update);
  archive.save(path);
  return path;
}

std::vector<std::string> prune_checkpoints(const std::string& run_dir, int keep_last) {
  std::vector<CheckpointFile> files = list_checkpoints(run_dir);
  std::vector<std::string> removed;
  const size_t keep = static_cast<size_t>(std::max(keep_last, 1));
  if (files.size() <= keep) return removed;
  for (size_t i = 0; i + keep < files.size(); ++i) {
    std::error_code ec;
    if (fs::remove(files[i].path, ec)) removed.push_back(files[i].path);
  }
  return removed;
}

std::vector<std::string> remove_stale_temporaries(const std::string& run_dir) {
  // The temporary names of AtomicFileWriter / Archive::save: "<target>.tmp.<pid>".
  static const std::regex pattern(R"(.+\.tmp\.[0-9]+)");
  std::vector<std::string> removed;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(run_dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (!std::regex_match(name, pattern) || !entry.is_regular_file(ec)) continue;
    if (fs::remove(entry.path(), ec)) removed.push_back(entry.path().string());
  }
  return removed;
}

std::optional<LoadedCheckpoint> load_latest_checkpoint(
    const std::string& run_dir, const std::function<void(const std::string&)>& warn) {
  const std::vector<CheckpointFile> files = list_checkpoints(run_dir);
  if (files.empty()) return std::nullopt;
  std::string reasons;
  for (auto it = files.rbegin(); it != files.rend(); ++it) {
    try {
      LoadedCheckpoint loaded{Archive::load(it->path), it->path, {}};
      if (loaded.archive.bytes("kind") != "checkpoint")
        fail(it->path, ": not a checkpoint (kind '", loaded.archive.bytes("kind"), "')");
      loaded.archive.tensors("params");
      loaded.archive.tensors("optimizer");
      loaded.state = training_state_from_yaml(loaded.archive.bytes("state"), it->path + " (state)");
      if (loaded.state.update != it->update)
        fail(it->path, ": the file name says update ", it->update, " but its state says ",
             loaded.state.update);
      return loaded;
    } catch (const InputError& e) {
      reasons += std::string(reasons.empty() ? "" : "; ") + e.what();
      if (std::next(it) != files.rend())
        warn(std::string(e.what()) + "; falling back to the previous checkpoint");
    }
  }
  fail(run_dir, ": no valid checkpoint (", reasons,
       "); move the broken files away to start a fresh run, or use another run_dir");
}

}  // namespace revnmt
