#pragma once
// Subword vocabulary: a SentencePiece model used through its C++ library. revnmt trains
// models with fixed special ids (unk=0, bos=1, eos=2, pad=3); an external model keeps its
// own ids, and a missing bos/eos/pad piece gets an id after the model's pieces.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace revnmt {

struct VocabTrainOptions {
  std::vector<std::string> inputs;  // plain or gzip text files, one sentence per line
  std::string model_path;           // written atomically
  int vocab_size = 8000;            // a soft limit (hard_vocab_limit=false): tiny corpora get less
  std::string model_type = "unigram";  // unigram | bpe
  int64_t max_lines = 2000000;  // deterministic sample of this many lines when there are more
  uint64_t seed = 1;            // for that sample
  // SentencePiece trainer threads. The unigram scores depend on it (per-thread float sums),
  // so it is a fixed setting rather than the machine's core count.
  int threads = 2;
};

struct VocabTrainSummary {
  int64_t lines_read = 0;  // over all inputs
  int64_t lines_used = 0;  // non-empty lines handed to SentencePiece (after sampling)
  int pieces = 0;          // size() of the trained vocabulary
  uint32_t fingerprint = 0;
};

class Vocab {
 public:
  static constexpr int32_t kUnkId = 0, kBosId = 1, kEosId = 2, kPadId = 3;

  // Throws InputError naming `path` (missing, unreadable, not a SentencePiece model).
  static Vocab load(const std::string& path);
  // A model from its serialized bytes; `name` is used in error messages.
  static Vocab from_bytes(std::string bytes, const std::string& name);
  // Trains a model on options.inputs and writes it to options.model_path. Deterministic:
  // the same inputs and options give byte-identical model files.
  static Vocab train(const VocabTrainOptions& options, VocabTrainSummary* summary = nullptr);

  int32_t size() const;  // ids are 0 .. size()-1
  int32_t unk_id() const;
  int32_t bos_id() const;
  int32_t eos_id() const;
  int32_t pad_id() const;

  // Subword ids of `text`, without bos/eos.
  std::vector<int32_t> encode(const std::string& text) const;
  // The pieces of `text`, one per id of encode(text) (an unknown character is returned as
  // itself, not as "<unk>", so --replace-unk can copy it).
  std::vector<std::string> encode_pieces(const std::string& text) const;
  // Ids and pieces in one pass.
  void encode(const std::string& text, std::vector<int32_t>* ids,
              std::vector<std::string>* pieces) const;
  // Detokenized text of `ids`: stops at the first eos, skips bos and pad.
  std::string decode(const std::vector<int32_t>& ids) const;
  // The piece string of an id ("<pad>" etc. for the specials).
  std::string piece(int32_t id) const;

  // CRC-32 of the serialized model: a model file stores it to detect a swapped vocabulary.
  uint32_t fingerprint() const;
  // The model's bytes, exactly as in its file.
  const std::string& serialized() const;
  const std::string& path() const;

 private:
  struct Impl;
  explicit Vocab(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;  // immutable, so copies share it
};

}  // namespace revnmt
