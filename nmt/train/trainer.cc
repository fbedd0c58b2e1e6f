#include "nmt/train/trainer.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "nmt/config/yaml_fields.h"
#include "nmt/core/error.h"
#include "nmt/core/file_io.h"
#include "nmt/core/runtime.h"
#include "nmt/model/model_io.h"
#include "nmt/train/checkpoint.h"
#include "nmt/train/grad_clip.h"
#include "nmt/train/run_setup.h"
#include "nmt/train/signals.h"

namespace revnmt {

namespace fs = std::filesystem;

namespace {

double monotonic_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string fmt(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

std::string megabytes(int64_t bytes) { return fmt("%.2f MB", double(bytes) / (1024.0 * 1024.0)); }

std::string file_name(const std::string& path) { return fs::path(path).filename().string(); }

std::string real_text(double value) {
  if (!std::isfinite(value)) return std::isnan(value) ? "nan" : (value > 0 ? "inf" : "-inf");
  return fmt("%.6g", value);
}

std::string ledger_json(double baseline, double held, double optimal, int64_t bytes) {
  JsonLine json;
  json.add("baseline_bits", baseline)
      .add("held_bits", held)
      .add("optimal_bits", optimal)
      .add("held_bytes", bytes)
      .add("ratio", held > 0 ? baseline / held : 0.0);
  return json.str();
}

// The value text of one model key as YAML writes it.
std::string model_value(size_t field, const ModelConfig& config) {
  YAML::Emitter out;
  config::model_fields().field(field).write(out, config);
  return out.c_str();
}

// One forward/backward; `fault` says why it failed. A fixed-point range error (a diverging
// reversible model) is a numerical fault like a NaN, not a crash.
StepResult checked_train_step(Seq2Seq& model, const Batch& batch, const DropoutKey& dropout,
                              float label_smoothing, float scale, std::string& fault) {
  try {
    return model.train_step(batch, dropout, label_smoothing, scale);
  } catch (const RangeError& e) {
    fault = std::string("fixed-point range exceeded (") + e.what() + ")";
    return StepResult();
  }
}

}  // namespace

const char* stop_reason_name(StopReason reason) {
  switch (reason) {
    case StopReason::max_updates:
      return "max_updates";
    case StopReason::max_epochs:
      return "max_epochs";
    case StopReason::max_time:
      return "max_time";
    case StopReason::early_stopping:
      return "early_stopping";
    case StopReason::lr_min:
      return "lr_min";
    case StopReason::signal:
      return "signal";
    case StopReason::update_limit:
      return "update_limit";
  }
  return "?";
}

// An exclusive flock on <run_dir>/train.lock for the trainer's lifetime: two trainers in one
// run directory would overwrite each other's checkpoints. The kernel drops the lock when
// the process dies, however it dies.
class Trainer::RunLock {
 public:
  explicit RunLock(const std::string& run_dir) {
    const std::string path = (fs::path(run_dir) / "train.lock").string();
    fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
      fail(path, ": cannot create the run directory's lock file: ", std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
      ::close(fd_);
      fail(run_dir, ": another 'revnmt train' is using this run directory (", path,
           " is locked); wait for it to end or use another run_dir");
    }
  }
  ~RunLock() {
    ::flock(fd_, LOCK_UN);
    ::close(fd_);
  }

 private:
  int fd_ = -1;
};

Trainer::Trainer(const Recipe& recipe, TrainerOptions options)
    : recipe_(recipe),
      options_(std::move(options)),
      run_dir_(recipe.run_dir),
      scheduler_(recipe.train) {
  const TrainConfig& train = recipe_.train;
  for (Metric m : train.valid_metrics) valid_metrics_.insert(m);
  valid_metrics_.insert(train.early_stopping_metric);  // always computed, listed or not
  valid_metrics_.insert(Metric::perplexity);           // the plateau schedule reads it

  // Every input is checked before any work, so a typo costs no vocabulary training.
  const DataConfig& data = recipe_.data;
  require_readable_file(resolve_data_path(data, data.train_src),
                        "data.train_src (training source)");
  require_readable_file(resolve_data_path(data, data.train_tgt),
                        "data.train_tgt (training target)");
  require_readable_file(resolve_data_path(data, data.valid_src),
                        "data.valid_src (validation source)");
  require_readable_file(resolve_data_path(data, data.valid_tgt),
                        "data.valid_tgt (validation target)");

  prepare_run_dir();
  log_ = std::make_unique<TrainLog>(run_dir_, TrainLog::Options{options_.echo, options_.progress});
  log_->info("revnmt train" +
             (recipe_.source_path.empty() ? std::string() : " " + recipe_.source_path) +
             ": run_dir " + run_dir_ + ", " + std::to_string(num_threads()) + " thread(s)");
  for (const std::string& stale : remove_stale_temporaries(run_dir_))
    log_->info("Removed " + stale + " (left by an interrupted write)");

  try {
    prepare_vocab();
    try {
      prepare_data();
    } catch (const InputError&) {
      // A vocabulary trained from data that then failed to load must not outlive this run:
      // the next attempt, with the data fixed, would silently reuse it.
      for (const std::string& path : trained_vocabs_) std::remove(path.c_str());
      throw;
    }
    prepare_model();
    if (!resume()) {
      model_->initialize(static_cast<uint64_t>(train.seed));
      state_ = TrainingState();
      state_.optimizer = optimizer_->name();
      state_.data_order = data_order();
      const int64_t removed = log_->truncate_metrics(0);
      if (removed > 0)
        log_->info("Cleared " + log_->metrics_path() + ": no checkpoint matches its " +
                   with_thousands(removed) + " bytes of events");
      log_->info("[training] Starting a fresh run (seed " + std::to_string(train.seed) + ")");
    }
    if (train.max_memory_mb > 0) prepare_memory_budget();
  } catch (const std::exception& e) {
    log_->file_only(std::string("error: ") + e.what());  // the CLI prints it on stderr
    throw;
  }
  // The effective configuration, after the checks above (a mismatched recipe must not
  // overwrite the one the checkpoints were trained with).
  write_file_atomic((fs::path(run_dir_) / "config.yaml").string(), dump_recipe(recipe_));
  last_lr_ = scheduler_.lr(std::max<int64_t>(state_.update, 1));
  elapsed_at_start_ = state_.elapsed_seconds;
  session_start_ = monotonic_seconds();
}

Trainer::~Trainer() = default;

void Trainer::prepare_run_dir() {
  std::error_code ec;
  if (fs::exists(run_dir_, ec) && !fs::is_directory(run_dir_, ec))
    fail("run_dir: '", run_dir_, "' exists but is not a directory");
  make_directories(run_dir_);
  lock_ = std::make_unique<RunLock>(run_dir_);
}

void Trainer::prepare_vocab() {
  RecipeVocabs vocabs =
      prepare_vocabs(recipe_, [this](const std::string& line) { log_->info(line); });
  src_vocab_ = std::move(vocabs.src);
  tgt_vocab_ = std::move(vocabs.tgt);
  trained_vocabs_ = std::move(vocabs.trained);
}

void Trainer::prepare_data() {
  const DataConfig& data = recipe_.data;
  const TrainConfig& train = recipe_.train;
  const std::string src = resolve_data_path(data, data.train_src);
  const std::string tgt = resolve_data_path(data, data.train_tgt);
  train_corpus_ = load_training_corpus(recipe_, *src_vocab_, *tgt_vocab_);
  const CorpusStats& stats = train_corpus_.stats();
  log_->info("[data] Training corpus " + src + " / " + tgt + ": " + with_thousands(stats.lines) +
             " pairs, kept " + with_thousands(stats.kept) + ", empty " +
             with_thousands(stats.empty) + ", too long (> " + std::to_string(data.max_length) +
             " tokens) " + with_thousands(stats.too_long) + "; " +
             with_thousands(train_corpus_.src_tokens()) + " / " +
             with_thousands(train_corpus_.tgt_tokens()) + " subword tokens");

  batcher_ = std::make_unique<Batcher>(train_corpus_, training_batcher_options(train));

  validator_ = std::make_unique<Validator>(recipe_, *src_vocab_, *tgt_vocab_);
  const CorpusStats& valid = validator_->corpus().stats();
  std::string line = "[data] Validation corpus " + resolve_data_path(data, data.valid_src) + " / " +
                     resolve_data_path(data, data.valid_tgt) + ": " + with_thousands(valid.lines) +
                     " pairs, kept " + with_thousands(valid.kept) + " for perplexity (empty " +
                     with_thousands(valid.empty) + ")";
  if (valid_metrics_.count(Metric::bleu) || valid_metrics_.count(Metric::chrf))
    line += ", " + with_thousands(validator_->raw_pairs()) + " translated for BLEU/chrF (beam " +
            std::to_string(train.valid_beam) + ")";
  log_->info(line);
}

void Trainer::prepare_model() {
  const ModelConfig& m = recipe_.model;
  model_ = make_model(m, recipe_.train, *src_vocab_, *tgt_vocab_);
  optimizer_ = make_optimizer(recipe_.train, model_->params());
  const int64_t n = model_->params().numel();
  std::string context = to_string(m.context);
  if (m.context == ContextType::slice || m.context == ContextType::slice_emb)
    context += " (slice " + std::to_string(m.slice_dim) + ")";
  log_->info("[model] " + to_string(m.cell) + ", " + std::to_string(m.layers) + " layer(s), emb " +
             std::to_string(m.emb_size) + ", hidden " + std::to_string(m.hidden_size) +
             ", context " + context + ", vocab " + with_thousands(int64_t(src_vocab_->size())) +
             "/" + with_thousands(int64_t(tgt_vocab_->size())) + "; " + with_thousands(n) +
             " parameters (" + megabytes(n * 4) + ")");
  const TrainConfig& t = recipe_.train;
  std::string batch = t.batch_tokens > 0 ? with_thousands(int64_t(t.batch_tokens)) + " tokens"
                                         : std::to_string(t.batch_size) + " sentences";
  log_->info("[training] " + optimizer_->name() + ", lr " + fmt("%.4e", t.lr) + " (" +
             to_string(t.lr_schedule) +
             (t.lr_warmup > 0 ? ", warm-up " + std::to_string(t.lr_warmup) : std::string()) +
             "), clip_norm " + real_text(t.clip_norm) + ", label_smoothing " +
             real_text(t.label_smoothing) + ", batches of " + batch + ", " +
             with_thousands(int64_t(batcher_->epoch_plan(1).size())) + " batches per epoch");
}

std::map<std::string, std::string> Trainer::data_order() const {
  const TrainConfig& t = recipe_.train;
  return {{"train.seed", std::to_string(t.seed)},
          {"train.batch_size", std::to_string(t.batch_size)},
          {"train.batch_tokens", std::to_string(t.batch_tokens)},
          {"train.pool_batches", std::to_string(t.pool_batches)},
          {"data.max_length", std::to_string(recipe_.data.max_length)},
          {"training pairs", std::to_string(train_corpus_.size())}};
}

void Trainer::check_same_model(const ModelConfig& saved, const std::string& path) const {
  const auto& fields = config::model_fields();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields.field(i).equal(saved, recipe_.model)) continue;
    fail(path, ": model.", fields.keys()[i], " is ", model_value(i, saved),
         " in this checkpoint but ", model_value(i, recipe_.model), " in the recipe; ", run_dir_,
         " holds a different model: use another run_dir (or restore the recipe's model section)");
  }
}

bool Trainer::resume() {
  auto loaded = load_latest_checkpoint(run_dir_, [this](const std::string& w) { log_->warn(w); });
  if (!loaded) return false;
  const std::string& path = loaded->path;
  const Archive& archive = loaded->archive;

  check_same_model(model_config_from_yaml(archive.bytes("config"), path + " (model config)"), path);
  auto check_vocab = [&](const char* section, const Vocab& vocab, const std::string& vocab_path) {
    if (crc32_of(archive.bytes(section)) != vocab.fingerprint())
      fail(path, ": the checkpoint was trained with another vocabulary than ", vocab_path,
           "; restore that file or use another run_dir");
  };
  // The archive holds one "vocab" when both sides used the same model, else two sections.
  if (archive.has("vocab")) {
    check_vocab("vocab", *src_vocab_, src_vocab_path(recipe_));
    check_vocab("vocab", *tgt_vocab_, tgt_vocab_path(recipe_));
  } else {
    check_vocab("vocab.src", *src_vocab_, src_vocab_path(recipe_));
    check_vocab("vocab.tgt", *tgt_vocab_, tgt_vocab_path(recipe_));
  }

  load_parameters(archive, "params", model_->params());
  state_ = loaded->state;
  if (state_.optimizer == optimizer_->name()) {
    optimizer_->load_state(archive.tensors("optimizer"), path + " (optimizer)");
  } else {
    log_->warn("the checkpoint's optimizer is " + state_.optimizer + " but the recipe asks for " +
               optimizer_->name() + "; starting " + optimizer_->name() + " from a fresh state");
    state_.optimizer = optimizer_->name();
  }
  scheduler_.set_state(state_.lr);

  const auto order = data_order();
  std::string changed;
  for (const auto& [key, value] : order) {
    auto it = state_.data_order.find(key);
    if (it == state_.data_order.end() || it->second != value)
      changed += (changed.empty() ? "" : ", ") + key + " " +
                 (it == state_.data_order.end() ? "?" : it->second) + " -> " + value;
  }
  if (!changed.empty())
    log_->warn("the data order changed since " + file_name(path) + " (" + changed +
               "); training continues, but not as the interrupted run would have");
  state_.data_order = order;

  const int64_t removed = log_->truncate_metrics(state_.metrics_bytes);
  if (removed > 0)
    log_->info("Truncated " + log_->metrics_path() + " to " + with_thousands(state_.metrics_bytes) +
               " bytes (" + with_thousands(removed) + " bytes of events after the checkpoint)");
  else if (log_->metrics_bytes() < state_.metrics_bytes)
    log_->warn(log_->metrics_path() + " is shorter than when " + file_name(path) +
               " was written; earlier events are missing");

  resumed_from_ = path;
  last_checkpoint_ = path;
  dirty_ = false;
  log_->info("[training] Resuming from " + path + ": epoch " + std::to_string(state_.epoch) +
             ", update " + with_thousands(state_.update) + ", batch " +
             with_thousands(state_.batch_in_epoch) + " of the epoch, " +
             with_thousands(state_.sentences) + " sentences seen, next lr " +
             fmt("%.4e", scheduler_.lr(state_.update + 1)));
  return true;
}

double Trainer::elapsed() const { return elapsed_at_start_ + monotonic_seconds() - session_start_; }

std::optional<StopReason> Trainer::stop_condition(int64_t new_updates,
                                                  int64_t max_new_updates) const {
  const TrainConfig& t = recipe_.train;
  if (t.max_updates > 0 && state_.update >= t.max_updates) return StopReason::max_updates;
  if (t.max_epochs > 0 && state_.epoch > t.max_epochs) return StopReason::max_epochs;
  auto early = state_.metrics.find(t.early_stopping_metric);
  if (early != state_.metrics.end() && should_stop_early(early->second, t.patience))
    return StopReason::early_stopping;
  if (scheduler_.below_minimum(state_.update + 1)) return StopReason::lr_min;
  if (t.max_time_minutes > 0 && elapsed() >= 60.0 * t.max_time_minutes) return StopReason::max_time;
  if (stop_requested_ || (options_.use_signals && StopSignals::received() != 0))
    return StopReason::signal;
  if (max_new_updates > 0 && new_updates >= max_new_updates) return StopReason::update_limit;
  return std::nullopt;
}

TrainResult Trainer::train(int64_t max_new_updates) {
  try {
    return train_loop(max_new_updates);
  } catch (const std::exception& e) {
    log_->clear_progress();
    log_->file_only(std::string("error: ") + e.what());  // the CLI prints it on stderr
    throw;
  }
}

TrainResult Trainer::train_loop(int64_t max_new_updates) {
  int64_t new_updates = 0;
  while (true) {
    if (auto reason = stop_condition(new_updates, max_new_updates)) {
      finish(*reason, new_updates);
      TrainResult result;
      result.reason = *reason;
      result.finished = *reason != StopReason::signal && *reason != StopReason::update_limit;
      result.update = state_.update;
      result.checkpoint = last_checkpoint_;
      return result;
    }
    const int64_t before = state_.update;
    run_batch();
    if (state_.update > before) ++new_updates;
  }
}

void Trainer::run_batch() {
  const double start = monotonic_seconds();
  if (plan_epoch_ != state_.epoch) {
    plan_ = batcher_->epoch_plan(state_.epoch);
    plan_epoch_ = state_.epoch;
  }
  if (state_.batch_in_epoch >= static_cast<int64_t>(plan_.size())) {
    // Only after a resume with other batch settings: the saved position is past the end.
    log_->warn("the saved position (batch " + std::to_string(state_.batch_in_epoch) +
               ") is past the end of epoch " + std::to_string(state_.epoch) + " (" +
               std::to_string(plan_.size()) + " batches); ending the epoch");
    end_epoch();
    save_checkpoint();
    return;
  }
  const Batch batch = batcher_->make_batch(plan_[static_cast<size_t>(state_.batch_in_epoch)]);
  const int64_t update = state_.update + 1;
  const int64_t tokens = batch.target_tokens();
  ParameterSet& params = model_->params();
  params.zero_grads();

  std::string fault_reason;
  const float scale = 1.0f / static_cast<float>(tokens);
  const StepResult step =
      budget_ ? budgeted_train_step(batch, update, scale, fault_reason)
              : checked_train_step(*model_, batch, training_dropout(recipe_.train, update),
                                   static_cast<float>(recipe_.train.label_smoothing), scale,
                                   fault_reason);
  if (options_.after_backward) options_.after_backward(update, *model_);
  double norm = 0.0;
  if (fault_reason.empty()) {
    if (!std::isfinite(step.loss.nll) || !std::isfinite(step.loss.smoothed_loss)) {
      fault_reason = "the loss is " + real_text(step.loss.smoothed_loss);
    } else {
      norm = global_grad_norm(params);
      if (!std::isfinite(norm)) fault_reason = "the gradient norm is " + real_text(norm);
    }
  }
  ++state_.batch_in_epoch;
  dirty_ = true;
  const bool applied = fault_reason.empty();
  if (!applied) {
    state_.window.seconds += monotonic_seconds() - start;
    fault(update, fault_reason, batch);
  } else {
    state_.consecutive_faults = 0;
    clip_gradients(params, norm, recipe_.train.clip_norm);
    const double lr = scheduler_.lr(update);
    optimizer_->step(params, lr);
    last_lr_ = lr;
    last_grad_norm_ = norm;

    state_.update = update;
    state_.sentences += batch.rows;
    state_.epoch_sentences += batch.rows;
    state_.target_tokens += tokens;
    LogWindow& w = state_.window;
    ++w.updates;
    w.sentences += batch.rows;
    w.target_tokens += tokens;
    w.nll += step.loss.nll;
    w.smoothed_loss += step.loss.smoothed_loss;
    w.grad_norm += norm;
    w.held_bytes = std::max(w.held_bytes, step.held_bytes);
    w.enc_baseline_bits += step.encoder.baseline_bits;
    w.enc_held_bits += step.encoder.held_bits;
    w.enc_optimal_bits += step.encoder.optimal_bits;
    w.enc_held_bytes = std::max(w.enc_held_bytes, step.encoder.held_bytes);
    w.dec_baseline_bits += step.decoder.baseline_bits;
    w.dec_held_bits += step.decoder.held_bits;
    w.dec_optimal_bits += step.decoder.optimal_bits;
    w.dec_held_bytes = std::max(w.dec_held_bytes, step.decoder.held_bytes);
    w.seconds += monotonic_seconds() - start;
  }
  session_batch_seconds_ += monotonic_seconds() - start;
  ++session_batches_;
  after_batch(applied);
}

std::string Trainer::describe_pair(int64_t index) const {
  const DataConfig& data = recipe_.data;
  return "the training pair at line " + with_thousands(train_corpus_.line_number(index)) + " of " +
         resolve_data_path(data, data.train_src) + " / " + resolve_data_path(data, data.train_tgt) +
         " (" + std::to_string(train_corpus_.src_length(index)) + " + " +
         std::to_string(train_corpus_.tgt_length(index)) + " subword tokens)";
}

void Trainer::prepare_memory_budget() {
  const TrainConfig& t = recipe_.train;
  // A first step costs the process memory no batch accounts for (the math library's
  // JIT-compiled kernels and caches, code pages, thread pools): one step on the shortest
  // pair pays it before the resident set is measured. Its gradients are discarded.
  int64_t shortest = 0;
  for (int64_t i = 1; i < train_corpus_.size(); ++i)
    if (train_corpus_.src_length(i) + train_corpus_.tgt_length(i) <
        train_corpus_.src_length(shortest) + train_corpus_.tgt_length(shortest))
      shortest = i;
  std::string ignored;
  checked_train_step(*model_, batcher_->make_batch({shortest}), training_dropout(t, 1),
                     static_cast<float>(t.label_smoothing), 1.0f, ignored);
  model_->params().zero_grads();

  MemoryModel memory(recipe_.model, tgt_vocab_->size(), t.chunk_steps, model_->params().numel(),
                     optimizer_->name() == "adam" ? 2 : 0);
  MemoryBudget::Options options;
  options.cap_bytes = int64_t(t.max_memory_mb) * 1024 * 1024;
  if (options_.resident_bytes) options.resident = options_.resident_bytes;
  options.measure_peaks = options_.measure_memory_peaks;
  budget_ = std::make_unique<MemoryBudget>(std::move(memory), std::move(options));

  const ModelMemory fixed = budget_->model().model();
  const int64_t resident = budget_->resident();
  const std::string held = megabytes(resident) + " (parameters " + megabytes(fixed.parameters) +
                           ", gradients " + megabytes(fixed.gradients) + ", optimizer state " +
                           megabytes(fixed.optimizer) + ", data, vocabularies, libraries)";
  if (resident >= budget_->cap_bytes())
    fail("train.max_memory_mb ", t.max_memory_mb, " is below the ", held,
         " the process holds before its first batch; raise it (--max-memory-mb) or use a "
         "smaller model");
  // Every pair must fit on its own: checked now, not hours later when its batch comes.
  int64_t longest = 0;
  for (int64_t i = 0; i < train_corpus_.size(); ++i) {
    const BatchShape one{1, train_corpus_.src_length(i) + 1, train_corpus_.tgt_length(i) + 1};
    const int64_t needed = budget_->estimate(one, /*fresh=*/true);
    if (resident + needed > budget_->cap_bytes())
      budget_->require_fits(one, resident, describe_pair(i));  // throws, naming the pair
    longest = std::max(longest, needed);
  }
  log_->info("[memory] train.max_memory_mb " + with_thousands(int64_t(t.max_memory_mb)) + ": " +
             held + " held before training; the longest pair alone needs about " +
             megabytes(longest) + "; batches that would exceed the cap run as sub-batches");
}

namespace {

// Ledgers of sub-batches: bits add up, the bytes held at once are the largest sub-batch's.
void add_ledger(MemoryLedger& total, const MemoryLedger& part) {
  const int64_t held = std::max(total.held_bytes, part.held_bytes);
  total += part;
  total.held_bytes = held;
}

}  // namespace

StepResult Trainer::budgeted_train_step(const Batch& batch, int64_t update, float scale,
                                        std::string& fault) {
  const float smoothing = static_cast<float>(recipe_.train.label_smoothing);
  DropoutKey dropout = training_dropout(recipe_.train, update);
  const auto pieces = budget_->plan(
      batch, [&](int row) { return describe_pair(batch.index[static_cast<size_t>(row)]); });
  if (pieces.size() == 1) {
    budget_->before_step();
    StepResult step = checked_train_step(*model_, batch, dropout, smoothing, scale, fault);
    if (fault.empty()) budget_->after_step(shape_of_rows(batch, 0, batch.rows), step);
    return step;
  }
  if (split_batches_ == 0) {
    const BatchShape shape = shape_of_rows(batch, 0, batch.rows);
    log_->info("[memory] Up. " + with_thousands(update) + ": a batch of " +
               std::to_string(batch.rows) + " sentences (" + std::to_string(shape.src_steps) +
               " source, " + std::to_string(shape.tgt_steps) + " target steps) needs about " +
               megabytes(budget_->estimate(shape)) + " beside the " +
               megabytes(budget_->resident()) + " held: run as " + std::to_string(pieces.size()) +
               " sub-batches to stay under train.max_memory_mb (further splits are counted "
               "at the end)");
  }
  ++split_batches_;
  sub_batches_ += static_cast<int64_t>(pieces.size());
  // Each sub-batch is a padded batch of its own rows, scaled by the whole batch's tokens,
  // with the dropout masks of its rows' places in the whole batch.
  StepResult total;
  for (const auto& [begin, end] : pieces) {
    const std::vector<int64_t> rows(batch.index.begin() + begin, batch.index.begin() + end);
    const Batch sub = batcher_->make_batch(rows);
    dropout.first_row = static_cast<uint32_t>(begin);
    budget_->before_step();
    const StepResult part = checked_train_step(*model_, sub, dropout, smoothing, scale, fault);
    if (!fault.empty()) return total;
    budget_->after_step(shape_of_rows(sub, 0, sub.rows), part);
    total.loss += part.loss;
    add_ledger(total.encoder, part.encoder);
    add_ledger(total.decoder, part.decoder);
    total.held_bytes = std::max(total.held_bytes, part.held_bytes);
  }
  return total;
}

void Trainer::fault(int64_t update, const std::string& why, const Batch& batch) {
  ++state_.consecutive_faults;
  ++state_.skipped_batches;
  log_->warn("Ep. " + std::to_string(state_.epoch) + " : Up. " + with_thousands(update) + " : " +
             why + "; update skipped (" + std::to_string(state_.consecutive_faults) + " of " +
             std::to_string(kMaxConsecutiveFaults) + " faults in a row, batch of " +
             std::to_string(batch.rows) + " sentences)");
  JsonLine event;
  event.add("kind", "fault")
      .add("epoch", state_.epoch)
      .add("update", update)
      .add("reason", why)
      .add("consecutive", state_.consecutive_faults)
      .add("wall_time", elapsed());
  log_->event(event);
  if (state_.consecutive_faults >= kMaxConsecutiveFaults) {
    const std::string kept = last_checkpoint_.empty()
                                 ? std::string("no checkpoint was written yet")
                                 : "the last good checkpoint " + last_checkpoint_ + " is intact";
    const std::string message =
        "training stopped: " + std::to_string(kMaxConsecutiveFaults) +
        " updates in a row had a non-finite loss or gradient (last: " + why + ", update " +
        with_thousands(update) + "); " + kept +
        ". Lower train.lr or set train.clip_norm, then rerun to resume from it";
    fail(message);
  }
}

void Trainer::after_batch(bool applied) {
  const TrainConfig& t = recipe_.train;
  bool save = false;
  if (applied) {
    const int64_t u = state_.update;
    if (t.log_every > 0 && u % t.log_every == 0) log_progress_line();
    if (t.valid_every > 0 && u % t.valid_every == 0) validate();
    save = t.save_every > 0 && u % t.save_every == 0;
  }
  if (state_.batch_in_epoch >= static_cast<int64_t>(plan_.size())) {
    end_epoch();
    save = true;
  }
  if (save) save_checkpoint();
  show_progress();
}

void Trainer::end_epoch() {
  log_->info("Seen " + with_thousands(state_.epoch_sentences) + " sentences in epoch " +
             std::to_string(state_.epoch) + " (" + with_thousands(state_.update) + " updates)");
  if (state_.update > 0 && state_.last_validation_update != state_.update) validate();
  ++state_.epoch;
  state_.batch_in_epoch = 0;
  state_.epoch_sentences = 0;
  dirty_ = true;
}

void Trainer::log_progress_line() {
  LogWindow& w = state_.window;
  if (w.updates == 0) return;
  const double cost = w.target_tokens > 0 ? w.smoothed_loss / double(w.target_tokens) : 0.0;
  const double nll = w.target_tokens > 0 ? w.nll / double(w.target_tokens) : 0.0;
  const double ppl = std::exp(nll);
  const double tok_per_s = w.seconds > 0 ? double(w.target_tokens) / w.seconds : 0.0;
  const double grad_norm = w.grad_norm / double(w.updates);
  log_->info("Ep. " + std::to_string(state_.epoch) + " : Up. " + with_thousands(state_.update) +
             " : Sen. " + with_thousands(state_.epoch_sentences) + " : Cost " + fmt("%.4f", cost) +
             " : Ppl " + with_thousands(ppl, 2) + " : Time " + fmt("%.2f", w.seconds) +
             "s : " + with_thousands(tok_per_s, 0) + " tok/s : L.r. " + fmt("%.4e", last_lr_) +
             " : gNorm " + fmt("%.4f", grad_norm) + " : Held " + megabytes(w.held_bytes));
  JsonLine event;
  event.add("kind", "train")
      .add("epoch", state_.epoch)
      .add("update", state_.update)
      .add("sentences", state_.sentences)
      .add("epoch_sentences", state_.epoch_sentences)
      .add("target_tokens", state_.target_tokens)
      .add("window_updates", w.updates)
      .add("window_target_tokens", w.target_tokens)
      .add("loss", cost)
      .add("nll", nll)
      .add("perplexity", ppl)
      .add("lr", last_lr_)
      .add("grad_norm", grad_norm)
      .add("tokens_per_second", tok_per_s)
      .add("held_bytes", w.held_bytes)
      .add_raw("encoder", ledger_json(w.enc_baseline_bits, w.enc_held_bits, w.enc_optimal_bits,
                                      w.enc_held_bytes))
      .add_raw("decoder", ledger_json(w.dec_baseline_bits, w.dec_held_bits, w.dec_optimal_bits,
                                      w.dec_held_bytes))
      .add("skipped_batches", state_.skipped_batches)
      .add("seconds", w.seconds)
      .add("wall_time", elapsed());
  log_->event(event);
  w = LogWindow();
  dirty_ = true;
}

ValidationScores Trainer::validate() {
  const TrainConfig& t = recipe_.train;
  log_->clear_progress();
  ValidationScores scores = validator_->run(*model_, valid_metrics_);
  if (!scores.error.empty()) log_->warn("validation: " + scores.error);
  state_.last_validation_update = state_.update;
  dirty_ = true;

  // Metrics in the order the recipe lists them, then the others that were computed.
  std::vector<Metric> order;
  for (Metric m : t.valid_metrics)
    if (std::find(order.begin(), order.end(), m) == order.end()) order.push_back(m);
  for (Metric m : valid_metrics_)
    if (std::find(order.begin(), order.end(), m) == order.end()) order.push_back(m);

  JsonLine event;
  event.add("kind", "valid")
      .add("epoch", state_.epoch)
      .add("update", state_.update)
      .add("sentences", state_.sentences)
      .add("target_tokens", state_.target_tokens)
      .add("valid_tokens", scores.loss.tokens)
      .add("valid_nll",
           scores.loss.tokens > 0 ? scores.loss.nll / double(scores.loss.tokens) : std::nan(""));
  bool new_best_model = false;
  for (Metric metric : order) {
    const double value = scores.value(metric);
    if (std::isnan(value) && metric != Metric::perplexity) {
      log_->warn("[valid] " + to_string(metric) +
                 " could not be computed (no validation pair with a non-empty reference)");
    }
    MetricRecord& record = state_.metrics[metric];
    const bool new_best = record_metric(record, metric, value, state_.update);
    log_valid(metric, scores, new_best, record);
    const std::string name = to_string(metric);
    event.add(name, value).add(name + "_new_best", new_best).add(name + "_stalled", record.stalled);
    if (metric == Metric::bleu && scores.bleu)
      event.add("bleu_signature", scores.bleu->signature())
          .add("bleu_verbose", scores.bleu->verbose());
    if (metric == Metric::chrf && scores.chrf)
      event.add("chrf_signature", scores.chrf->signature());
    if (metric == t.early_stopping_metric && new_best) new_best_model = true;
  }
  if (new_best_model) {
    const std::string best = (fs::path(run_dir_) / "model.best.rnmt").string();
    save_model(best, *model_, *src_vocab_, *tgt_vocab_);
    log_->info("Saved " + best + " (best " + to_string(t.early_stopping_metric) + " so far)");
  }
  if (scheduler_.on_validation(scores.perplexity)) {
    log_->info("[valid] Ep. " + std::to_string(state_.epoch) + " : Up. " +
               with_thousands(state_.update) + " : perplexity did not improve on the best " +
               with_thousands(scheduler_.state().best_perplexity, 2) +
               "; learning rate multiplied by " + real_text(t.lr_decay) + " to " +
               fmt("%.4e", scheduler_.lr(state_.update + 1)));
  }
  state_.lr = scheduler_.state();
  if (!scores.hypotheses.empty()) {
    std::string text;
    for (const auto& line : scores.hypotheses) text += line + "\n";
    write_file_atomic((fs::path(run_dir_) / "valid.hyp.txt").string(), text);
  }
  const auto& early = state_.metrics[t.early_stopping_metric];
  event.add("early_stopping_metric", to_string(t.early_stopping_metric))
      .add("early_stopping_best", early.best)
      .add("early_stopping_stalled", early.stalled)
      .add("lr", scheduler_.lr(state_.update + 1))
      .add("translated", scores.translated)
      .add("seconds", scores.seconds)
      .add("wall_time", elapsed());
  log_->event(event);
  return scores;
}

void Trainer::log_valid(Metric metric, const ValidationScores& scores, bool new_best,
                        const MetricRecord& record) {
  std::string line = "[valid] Ep. " + std::to_string(state_.epoch) + " : Up. " +
                     with_thousands(state_.update) + " : " + to_string(metric) + " : " +
                     with_thousands(scores.value(metric), 2) + " : ";
  if (new_best) {
    line += "new best";
  } else {
    line += "stalled " + std::to_string(record.stalled) + " time" +
            (record.stalled == 1 ? "" : "s") + " (last best: " + with_thousands(record.best, 2) +
            ")";
  }
  if (metric == Metric::bleu && scores.bleu) line += " (" + scores.bleu->format() + ")";
  if (metric == Metric::chrf && scores.chrf) line += " (" + scores.chrf->format() + ")";
  log_->info(line);
}

std::string Trainer::save_checkpoint() {
  log_->clear_progress();
  state_.elapsed_seconds = elapsed();
  state_.metrics_bytes = log_->metrics_bytes();
  state_.lr = scheduler_.state();
  const std::string path =
      write_checkpoint(run_dir_, *model_, *src_vocab_, *tgt_vocab_, *optimizer_, state_);
  // Only now that the new file is complete may older ones go.
  for (const std::string& old : prune_checkpoints(run_dir_, recipe_.train.keep_last))
    log_->info("Removed old checkpoint " + old);
  log_->info("Saved checkpoint " + path + " (epoch " + std::to_string(state_.epoch) + ", update " +
             with_thousands(state_.update) + ")");
  last_checkpoint_ = path;
  dirty_ = false;
  return path;
}

void Trainer::show_progress() {
  const TrainConfig& t = recipe_.train;
  const double per_batch = session_batches_ > 0 ? session_batch_seconds_ / session_batches_ : 0.0;
  const int64_t batches = static_cast<int64_t>(plan_.size());
  double fraction;
  std::string text = "Ep. " + std::to_string(state_.epoch) + " batch " +
                     with_thousands(state_.batch_in_epoch) + "/" + with_thousands(batches) +
                     " Up. " + with_thousands(state_.update);
  if (t.max_updates > 0) {
    const int64_t left = std::max<int64_t>(0, t.max_updates - state_.update);
    fraction = double(state_.update) / double(t.max_updates);
    text += " ETA " + format_duration(per_batch * double(left));
  } else {
    const int64_t left = std::max<int64_t>(0, batches - state_.batch_in_epoch);
    fraction = batches > 0 ? double(state_.batch_in_epoch) / double(batches) : 0.0;
    text += " ETA " + format_duration(per_batch * double(left)) + " (epoch)";
  }
  log_->progress(fraction, text);
}

std::string Trainer::stop_message(StopReason reason) const {
  const TrainConfig& t = recipe_.train;
  switch (reason) {
    case StopReason::max_updates:
      return "train.max_updates " + with_thousands(int64_t(t.max_updates)) + " reached";
    case StopReason::max_epochs:
      return "train.max_epochs " + std::to_string(t.max_epochs) + " completed";
    case StopReason::max_time:
      return "train.max_time_minutes " + std::to_string(t.max_time_minutes) + " used";
    case StopReason::early_stopping: {
      const MetricRecord& r = state_.metrics.at(t.early_stopping_metric);
      return "early stopping: " + to_string(t.early_stopping_metric) + " stalled " +
             std::to_string(r.stalled) + " times (train.patience " + std::to_string(t.patience) +
             "; best " + with_thousands(r.best, 2) + " at update " + with_thousands(r.best_update) +
             ")";
    }
    case StopReason::lr_min:
      return "the learning rate " + fmt("%.4e", scheduler_.lr(state_.update + 1)) +
             " fell below train.lr_min " + fmt("%.4e", t.lr_min);
    case StopReason::signal:
      return "stop requested";
    case StopReason::update_limit:
      return "update limit of this session reached";
  }
  return "?";
}

void Trainer::finish(StopReason reason, int64_t new_updates) {
  log_->clear_progress();
  if (budget_)
    log_->info("[memory] train.max_memory_mb " +
               with_thousands(int64_t(recipe_.train.max_memory_mb)) + ": " +
               with_thousands(split_batches_) + " batches of this session ran as " +
               with_thousands(sub_batches_) + " sub-batches; largest peak of a step " +
               megabytes(budget_->largest_peak()) + ", calibration: tape bound x" +
               fmt("%.3f", budget_->tape_factor()) + ", margin " + megabytes(budget_->margin()));
  const bool paused = reason == StopReason::signal || reason == StopReason::update_limit;
  if (paused) {
    stop_requested_ = false;  // handled: a later train() call continues
    const std::string path = dirty_ ? save_checkpoint() : last_checkpoint_;
    if (reason == StopReason::signal) {
      const int signal = options_.use_signals ? StopSignals::received() : 0;
      log_->info("saved checkpoint " + (path.empty() ? std::string("(none)") : path) + " after " +
                 (signal != 0 ? StopSignals::name(signal) : "a stop request") +
                 "; rerun the same command to resume");
    } else {
      log_->info("Paused at update " + with_thousands(state_.update) + "; checkpoint " + path);
    }
    return;
  }
  if (new_updates == 0 && !resumed_from_.empty() && !dirty_) {
    log_->info("Training had already finished: " + stop_message(reason) +
               "; nothing to do (raise that limit, e.g. --set train.max_updates=N, to continue)");
  }
  // A final validation so model.best.rnmt reflects the last parameters too.
  if (state_.update > 0 && state_.last_validation_update != state_.update) validate();
  if (dirty_) save_checkpoint();
  const std::string final_path = (fs::path(run_dir_) / "model.rnmt").string();
  save_model(final_path, *model_, *src_vocab_, *tgt_vocab_);
  const Metric metric = recipe_.train.early_stopping_metric;
  std::string best;
  auto it = state_.metrics.find(metric);
  if (it != state_.metrics.end() && it->second.has_best)
    best = "; best " + to_string(metric) + " " + with_thousands(it->second.best, 2) +
           " at update " + with_thousands(it->second.best_update) + " in " +
           (fs::path(run_dir_) / "model.best.rnmt").string();
  log_->info("Training finished: " + stop_message(reason) + ". " + with_thousands(state_.update) +
             " updates, " + with_thousands(state_.sentences) + " sentences, " +
             format_duration(elapsed()) + "; final model " + final_path + best);
}

}  // namespace revnmt
