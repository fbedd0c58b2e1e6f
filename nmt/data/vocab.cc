#include "nmt/data/vocab.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <sys/stat.h>

#include <exception>
#include <filesystem>
#include <mutex>
#include <new>
#include <sstream>

#include "nmt/core/error.h"
#include "nmt/core/file_io.h"
#include "nmt/core/philox.h"
#include "nmt/data/line_reader.h"
#include "nmt/core/utf8.h"

// Exported by libsentencepiece 0.1.97 but not declared in its public headers. It is the only
// way to silence the trainer's "Running command" line, which is logged before the
// --minloglevel flag in the argument string is parsed.
namespace sentencepiece::logging {
void SetMinLogLevel(int level);
}  // namespace sentencepiece::logging

namespace revnmt {

namespace {

void quiet_sentencepiece() {
  static std::once_flag once;
  std::call_once(once, [] { sentencepiece::logging::SetMinLogLevel(2); });  // errors only
}

std::string join_names(const std::vector<std::string>& paths) {
  std::string out;
  for (size_t i = 0; i < paths.size(); ++i) out += (i ? ", " : "") + paths[i];
  return out;
}

// Feeds SentencePiece the non-empty lines of the inputs, or a deterministic sample of
// exactly `wanted` of the `candidates` non-empty lines (Knuth's selection sampling,
// Algorithm S: one streaming pass, the kept lines stay in file order). Exceptions cannot
// cross SentencePiece's code, so they end the iteration and are rethrown by the caller.
class SampledLines : public sentencepiece::SentenceIterator {
 public:
  SampledLines(const std::vector<std::string>& inputs, int64_t candidates, int64_t wanted,
               uint64_t seed)
      : inputs_(inputs), remaining_(candidates), wanted_(wanted), philox_(seed) {
    advance();
  }

  bool done() const override { return done_; }
  void Next() override { advance(); }
  const std::string& value() const override { return line_; }
  sentencepiece::util::Status status() const override {
    if (error_) return {sentencepiece::util::StatusCode::kInternal, "input error"};
    return {};
  }

  std::exception_ptr error() const { return error_; }
  int64_t used() const { return used_; }

 private:
  bool take_candidate() {
    const int64_t index = index_++;
    const int64_t remaining = remaining_--;
    if (wanted_ >= remaining) return true;
    const auto words = philox_({uint32_t(index), uint32_t(uint64_t(index) >> 32), 0x766f6361u, 0});
    const double u = double((uint64_t(words[0]) << 21) ^ (words[1] >> 11)) * 0x1p-53;
    return u * double(remaining) < double(wanted_);
  }

  void advance() {
    if (done_) return;
    try {
      while (wanted_ > 0) {
        if (reader_ == nullptr) {
          if (next_input_ == inputs_.size()) break;
          reader_ = std::make_unique<LineReader>(inputs_[next_input_++], BadBytes::reject);
        }
        if (!reader_->next(line_)) {
          reader_.reset();
          continue;
        }
        if (trim_ascii_space(line_).empty()) continue;
        if (take_candidate()) {
          --wanted_;
          ++used_;
          return;
        }
      }
    } catch (...) {
      error_ = std::current_exception();
    }
    done_ = true;
    line_.clear();
  }

  const std::vector<std::string>& inputs_;
  size_t next_input_ = 0;
  std::unique_ptr<LineReader> reader_;
  std::string line_;
  int64_t index_ = 0;  // candidate (non-empty line) index
  int64_t remaining_;  // candidates not seen yet
  int64_t wanted_;     // lines still to select
  int64_t used_ = 0;
  Philox philox_;
  bool done_ = false;
  std::exception_ptr error_;
};

void require_output_directory(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    fail(path, ": cannot write the vocabulary: directory ", dir, " does not exist");
}

}  // namespace

struct Vocab::Impl {
  sentencepiece::SentencePieceProcessor sp;
  std::string bytes;
  std::string path;
  uint32_t fingerprint = 0;
  int32_t sp_size = 0;  // pieces in the SentencePiece model
  int32_t size = 0;     // sp_size + extra pieces
  int32_t unk = 0, bos = 0, eos = 0, pad = 0;
  std::vector<std::string> extra;  // pieces of ids sp_size .. size-1
};

Vocab Vocab::load(const std::string& path) { return from_bytes(read_file(path), path); }

Vocab Vocab::from_bytes(std::string bytes, const std::string& name) {
  quiet_sentencepiece();
  if (bytes.empty()) fail(name, ": empty file, expected a SentencePiece model");
  auto impl = std::make_shared<Impl>();
  sentencepiece::util::Status status;
  try {
    status = impl->sp.LoadFromSerializedProto(bytes);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    // SentencePiece throws on some malformed models (an empty piece: "failed to insert key:
    // zero-length key" from its trie builder) instead of returning a status.
    fail(name, ": not a SentencePiece model (", e.what(), ")");
  }
  if (!status.ok() || impl->sp.GetPieceSize() <= 0)
    fail(name, ": not a SentencePiece model (", status.ok() ? "no pieces" : status.message(), ")");
  impl->bytes = std::move(bytes);
  impl->path = name;
  impl->fingerprint = crc32_of(impl->bytes);
  impl->sp_size = impl->sp.GetPieceSize();
  impl->size = impl->sp_size;
  impl->unk = impl->sp.unk_id();
  const auto special = [&](int id, const char* piece) {
    if (id >= 0) return int32_t(id);
    impl->extra.push_back(piece);
    return impl->size++;
  };
  impl->bos = special(impl->sp.bos_id(), "<s>");
  impl->eos = special(impl->sp.eos_id(), "</s>");
  impl->pad = special(impl->sp.pad_id(), "<pad>");
  return Vocab(std::move(impl));
}

Vocab Vocab::train(const VocabTrainOptions& options, VocabTrainSummary* summary) {
  quiet_sentencepiece();
  require(!options.inputs.empty(), "vocab training needs at least one input file");
  require(!options.model_path.empty(), "vocab training needs an output model path");
  require(options.model_type == "unigram" || options.model_type == "bpe", options.model_path,
          ": model type must be unigram or bpe, not '", options.model_type, "'");
  require(options.vocab_size > 4, options.model_path, ": vocabulary size must exceed 4, not ",
          options.vocab_size);
  require(options.max_lines >= 0, "max lines must not be negative");
  require(options.threads > 0, "trainer threads must be positive");
  for (const auto& input : options.inputs)
    require(input != "-",
            "vocab training reads its inputs twice and cannot read stdin; give a "
            "file");
  require_output_directory(options.model_path);

  // Pass 1 validates every input and counts the candidate lines for the sample.
  int64_t lines = 0, candidates = 0;
  std::string line;
  for (const auto& input : options.inputs) {
    LineReader reader(input, BadBytes::reject);
    while (reader.next(line)) {
      ++lines;
      if (!trim_ascii_space(line).empty()) ++candidates;
    }
  }
  if (candidates == 0) fail(join_names(options.inputs), ": no text to train a vocabulary on");
  const int64_t wanted =
      options.max_lines > 0 ? std::min(options.max_lines, candidates) : candidates;

  std::ostringstream args;
  args << "--vocab_size=" << options.vocab_size << " --hard_vocab_limit=false"
       << " --model_type=" << options.model_type << " --character_coverage=1.0"
       << " --unk_id=" << kUnkId << " --bos_id=" << kBosId << " --eos_id=" << kEosId
       << " --pad_id=" << kPadId << " --num_threads=" << options.threads
       << " --input_sentence_size=0 --shuffle_input_sentence=false";
  SampledLines sentences(options.inputs, candidates, wanted, options.seed);
  std::string model;
  const auto status = sentencepiece::SentencePieceTrainer::Train(args.str(), &sentences, &model);
  if (sentences.error()) std::rethrow_exception(sentences.error());
  if (!status.ok())
    fail(join_names(options.inputs), ": SentencePiece training failed: ", status.message());

  write_file_atomic(options.model_path, model);
  Vocab vocab = from_bytes(std::move(model), options.model_path);
  if (summary != nullptr) {
    summary->lines_read = lines;
    summary->lines_used = sentences.used();
    summary->pieces = vocab.size();
    summary->fingerprint = vocab.fingerprint();
  }
  return vocab;
}

int32_t Vocab::size() const { return impl_->size; }
int32_t Vocab::unk_id() const { return impl_->unk; }
int32_t Vocab::bos_id() const { return impl_->bos; }
int32_t Vocab::eos_id() const { return impl_->eos; }
int32_t Vocab::pad_id() const { return impl_->pad; }
uint32_t Vocab::fingerprint() const { return impl_->fingerprint; }
const std::string& Vocab::serialized() const { return impl_->bytes; }
const std::string& Vocab::path() const { return impl_->path; }

std::vector<int32_t> Vocab::encode(const std::string& text) const {
  std::vector<int> ids;
  const auto status = impl_->sp.Encode(text, &ids);
  if (!status.ok()) throw InternalError("SentencePiece encode failed: " + status.ToString());
  return std::vector<int32_t>(ids.begin(), ids.end());
}

void Vocab::encode(const std::string& text, std::vector<int32_t>* ids,
                   std::vector<std::string>* pieces) const {
  const auto encoded = impl_->sp.EncodeAsImmutableProto(text);
  const size_t n = encoded.pieces_size();
  if (ids != nullptr) ids->resize(n);
  if (pieces != nullptr) pieces->resize(n);
  for (size_t i = 0; i < n; ++i) {
    const auto piece = encoded.pieces(static_cast<int>(i));
    if (ids != nullptr) (*ids)[i] = static_cast<int32_t>(piece.id());
    if (pieces != nullptr) (*pieces)[i] = piece.piece();
  }
}

std::vector<std::string> Vocab::encode_pieces(const std::string& text) const {
  std::vector<std::string> pieces;
  encode(text, nullptr, &pieces);
  return pieces;
}

std::string Vocab::decode(const std::vector<int32_t>& ids) const {
  const Impl& v = *impl_;
  std::vector<int> kept;
  kept.reserve(ids.size());
  for (const int32_t id : ids) {
    REVNMT_CHECK(id >= 0 && id < v.size, "token id ", id, " outside the vocabulary of ", v.size);
    if (id == v.eos) break;
    if (id == v.bos || id == v.pad || id >= v.sp_size) continue;
    kept.push_back(id);
  }
  std::string text;
  const auto status = v.sp.Decode(kept, &text);
  if (!status.ok()) throw InternalError("SentencePiece decode failed: " + status.ToString());
  return text;
}

std::string Vocab::piece(int32_t id) const {
  const Impl& v = *impl_;
  REVNMT_CHECK(id >= 0 && id < v.size, "token id ", id, " outside the vocabulary of ", v.size);
  return id < v.sp_size ? v.sp.IdToPiece(id) : v.extra[id - v.sp_size];
}

}  // namespace revnmt
