// revnmt vocab: trains a SentencePiece vocabulary on text files (plain or gzip).

#include <cstdio>
#include <string>

#include "nmt/cli/options.h"
#include "nmt/data/vocab.h"

namespace revnmt::cli {
namespace {

int run_vocab(const Args& args) {
  VocabTrainOptions train;
  po::options_description options("revnmt vocab options");
  // clang-format off
  options.add_options()
      ("input,i", po::value(&train.inputs)->required()->composing(),
       "training text, one sentence per line, plain or gzip (repeat for several files)")
      ("model,m", po::value(&train.model_path)->required(), "output SentencePiece model (.spm)")
      ("size", po::value(&train.vocab_size)->default_value(8000),
       "vocabulary size (a soft limit: small corpora get fewer pieces)")
      ("type", po::value(&train.model_type)->default_value("unigram"), "unigram | bpe")
      ("max-lines", po::value(&train.max_lines)->default_value(2000000),
       "train on a deterministic sample of this many lines (0 = all)")
      ("seed", po::value(&train.seed)->default_value(1), "seed of that sample");
  // clang-format on
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_command_line(args, "revnmt vocab --input FILE [--input FILE ...] --model OUT.spm",
                          options, positional, vm))
    return 0;
  if (train.model_type != "unigram" && train.model_type != "bpe")
    throw po::error("--type must be unigram or bpe, not '" + train.model_type + "'");
  if (train.vocab_size <= 4)
    throw po::error("--size must exceed the 4 special pieces, not " +
                    std::to_string(train.vocab_size));
  if (train.max_lines < 0)
    throw po::error("--max-lines must not be negative, not " + std::to_string(train.max_lines));

  VocabTrainSummary summary;
  Vocab::train(train, &summary);
  std::printf(
      "%s: %s vocabulary of %d pieces (requested %d) from %lld of %lld lines, "
      "fingerprint %08x\n",
      train.model_path.c_str(), train.model_type.c_str(), summary.pieces, train.vocab_size,
      static_cast<long long>(summary.lines_used), static_cast<long long>(summary.lines_read),
      summary.fingerprint);
  return 0;
}

}  // namespace

REVNMT_COMMAND(vocab, "vocab", "train a SentencePiece vocabulary on text files", run_vocab);

}  // namespace revnmt::cli
