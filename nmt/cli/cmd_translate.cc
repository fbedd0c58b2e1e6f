// revnmt translate: batched beam search (greedy with --beam 1) over a plain or gzip file or
// standard input, streaming: the input is read (on a background thread, at most a chunk
// ahead) and translated in chunks, each in length-sorted batches, and written in input
// order as soon as the chunk is done. Exactly one output line per input line (with
// --n-best, Moses-style "i ||| hyp ||| score" lines).

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "nmt/cli/options.h"
#include "nmt/core/error.h"
#include "nmt/core/file_io.h"
#include "nmt/core/log.h"
#include "nmt/core/runtime.h"
#include "nmt/decode/source_reader.h"
#include "nmt/decode/translator.h"
#include "nmt/model/model_io.h"

namespace revnmt::cli {
namespace {

// Source lines longer than this (subword tokens) are translated whole, with a warning.
constexpr size_t kLongLineTokens = 250;
// With a pipe or terminal as input, the lines read so far are translated once no new line
// has come for this long, so an interactive user or a client waiting for answers gets them
// at once rather than after a full chunk.
constexpr std::chrono::milliseconds kIdleInput{10};

struct TranslateArgs {
  std::string model_path;
  std::string input = "-";
  std::string output = "-";
  TranslateOptions translate;
  int n_best = 0;  // 0: plain output of the best hypothesis
  int threads = 0;
  int chunk_lines = 1000;
  int max_input_tokens = 1000;  // as Marian's --max-length
  std::string precision = "fp32";  // of the weight products
  bool quiet = false;
};

void validate(const TranslateArgs& a) {
  const TranslateOptions& t = a.translate;
  if (t.beam < 1 || t.beam > 1000)
    throw po::error("--beam must be in 1..1000, not " + std::to_string(t.beam));
  if (t.batch < 1 || t.batch > 100000)
    throw po::error("--batch must be in 1..100000, not " + std::to_string(t.batch));
  if (a.n_best < 0 || a.n_best > t.beam)
    throw po::error("--n-best must be in 1..beam (" + std::to_string(t.beam) + "), not " +
                    std::to_string(a.n_best));
  if (!std::isfinite(t.alpha) || t.alpha < 0)
    throw po::error("--alpha must be a finite number >= 0, not " + std::to_string(t.alpha));
  if (!std::isfinite(t.max_length_ratio) || t.max_length_ratio < 0 || t.max_length_ratio > 1000)
    throw po::error("--max-length-ratio must be in 0..1000, not " +
                    std::to_string(t.max_length_ratio));
  if (t.max_length_offset < 0 || t.max_length_offset > 100000)
    throw po::error("--max-length-offset must be in 0..100000, not " +
                    std::to_string(t.max_length_offset));
  if (a.threads < 0 || a.threads > 1024)
    throw po::error("--threads must be in 0..1024, not " + std::to_string(a.threads));
  if (a.max_input_tokens < 0)
    throw po::error("--max-input-tokens must be >= 0 (0 = no limit), not " +
                    std::to_string(a.max_input_tokens));
  if (a.precision != "fp32" && a.precision != "bf16")
    throw po::error("--precision must be fp32 or bf16, not '" + a.precision + "'");
  if (a.chunk_lines < 1 || a.chunk_lines > 10000000)
    throw po::error("--chunk-lines must be in 1..10000000, not " + std::to_string(a.chunk_lines));
}

// One output line: a hypothesis never spans lines.
void append_text_line(std::string& out, const std::string& text) {
  for (const char c : text) out += c == '\n' || c == '\r' ? ' ' : c;
  out += '\n';
}

std::string format_output(const std::vector<std::vector<Hypothesis>>& lists, int64_t first_index,
                          int n_best) {
  std::string out;
  for (size_t i = 0; i < lists.size(); ++i) {
    if (n_best == 0) {
      append_text_line(out, lists[i].empty() ? std::string() : lists[i][0].text);
      continue;
    }
    for (const Hypothesis& hyp : lists[i]) {
      char score[64];
      std::snprintf(score, sizeof score, "%.6f", double(hyp.score));
      append_text_line(
          out, std::to_string(first_index + int64_t(i)) + " ||| " + hyp.text + " ||| " + score);
    }
  }
  return out;
}

int run_translate(const Args& args) {
  TranslateArgs a;
  TranslateOptions& t = a.translate;
  po::options_description options("revnmt translate options");
  // clang-format off
  options.add_options()
      ("model,m", po::value(&a.model_path)->required(), "model file (.rnmt) written by revnmt train")
      ("input,i", po::value(&a.input)->default_value("-"),
       "source text, one sentence per line, plain or gzip; - = standard input")
      ("output,o", po::value(&a.output)->default_value("-"),
       "translations, one per input line, written atomically; - = standard output (streamed "
       "per chunk)")
      ("beam,b", po::value(&t.beam)->default_value(5), "beam size (1 = greedy)")
      ("batch", po::value(&t.batch)->default_value(32), "sentences per batch")
      ("n-best", po::value(&a.n_best)->default_value(0),
       "write the K best hypotheses per sentence as 'i ||| hyp ||| score' (i: 0-based line, "
       "score: the normalized score; K <= beam; 0 = off)")
      ("alpha", po::value(&t.alpha)->default_value(1.0f, "1.0"),
       "length normalization: score = log-prob / length^alpha (0 = none)")
      ("max-length-ratio", po::value(&t.max_length_ratio)->default_value(2.0f, "2.0"),
       "at most ratio * source tokens + offset target tokens")
      ("max-length-offset", po::value(&t.max_length_offset)->default_value(5), "see above")
      ("replace-unk", po::bool_switch(&t.replace_unk),
       "replace each generated <unk> by the most-attended source piece")
      ("threads", po::value(&a.threads)->default_value(0),
       "compute threads (0 = OMP_NUM_THREADS or all cores); output does not depend on it")
      ("max-input-tokens", po::value(&a.max_input_tokens)->default_value(1000),
       "translate only the first N subword tokens of longer lines, with a warning (0 = no "
       "limit: a very long line can take hours)")
      ("precision", po::value(&a.precision)->default_value("fp32"),
       "fp32 | bf16: arithmetic of every weight product (bf16 operands, f32 accumulation: "
       "faster search; translations may differ slightly)")
      ("chunk-lines", po::value(&a.chunk_lines)->default_value(1000),
       "input lines read, translated and written at a time (memory does not grow with the file)")
      ("quiet,q", po::bool_switch(&a.quiet),
       "only warnings and errors on stderr; otherwise progress is shown for -i files when "
       "stderr is a terminal, and a speed summary at the end for -i files or a terminal");
  // clang-format on
  po::positional_options_description positional;
  po::variables_map vm;
  if (!parse_command_line(args, "revnmt translate -m MODEL [-i IN] [-o OUT] [options]", options,
                          positional, vm))
    return 0;
  validate(a);
  t.n_best = a.n_best > 0 ? a.n_best : 1;
  if (a.quiet) set_log_level(LogLevel::warn);
  set_num_threads(a.threads);

  Seq2SeqOptions model_options;
  model_options.precision = parse_precision(a.precision);
  LoadedModel loaded = load_model(a.model_path, model_options);
  Translator translator(*loaded.model, loaded.src_vocab, loaded.tgt_vocab, t);
  SourceReaderOptions reading;
  reading.capacity = size_t(a.chunk_lines);
  reading.pieces = t.replace_unk;
  reading.long_line_tokens = kLongLineTokens;
  reading.max_tokens = size_t(a.max_input_tokens);
  SourceReader reader(a.input, loaded.src_vocab, reading);
  AtomicFileWriter writer(a.output);  // after every check that can fail on bad input
  const bool from_stdin = a.input == "-";
  const bool stderr_terminal = ::isatty(STDERR_FILENO) == 1;
  const bool progress = !a.quiet && stderr_terminal && !from_stdin;
  const bool summary = !a.quiet && (!from_stdin || stderr_terminal);
  const std::chrono::milliseconds idle_after =
      reader.interactive() ? kIdleInput : std::chrono::milliseconds(0);

  const auto start = std::chrono::steady_clock::now();
  const auto seconds_since_start = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::vector<SourceLine> chunk;
  std::vector<std::vector<int32_t>> ids;
  std::vector<std::vector<std::string>> pieces;
  int64_t translated = 0;
  while (reader.take(size_t(a.chunk_lines), idle_after, chunk)) {
    ids.clear();
    pieces.clear();
    for (SourceLine& line : chunk) {
      ids.push_back(std::move(line.ids));
      pieces.push_back(std::move(line.pieces));
    }
    const auto lists = translator.translate_ids(ids, pieces);
    writer.write(format_output(lists, translated, a.n_best));
    writer.flush();
    translated += int64_t(lists.size());
    if (progress) {
      const double elapsed = seconds_since_start();
      std::fprintf(stderr, "\r%lld sentences, %.1f sentences/s", static_cast<long long>(translated),
                   elapsed > 0 ? double(translated) / elapsed : 0.0);
      std::fflush(stderr);
    }
  }
  writer.commit();
  if (progress) std::fputc('\n', stderr);
  if (summary) {
    const double elapsed = seconds_since_start();
    const double rate = elapsed > 0 ? 1.0 / elapsed : 0.0;
    char text[256];
    std::snprintf(text, sizeof text,
                  "translated %lld sentences in %.2f s (%.1f sentences/s, %.1f target tokens/s)",
                  static_cast<long long>(translated), elapsed, double(translated) * rate,
                  double(translator.stats().target_tokens) * rate);
    std::string message = text;
    if (reader.lines_with_bad_bytes() > 0)
      message += "; " + std::to_string(reader.lines_with_bad_bytes()) +
                 " lines had invalid bytes replaced";
    if (translator.stats().failed > 0)
      message += "; " + std::to_string(translator.stats().failed) +
                 " sentences failed and were left empty";
    log_info(message);
  }
  return 0;
}

}  // namespace

REVNMT_COMMAND(translate, "translate", "translate text with a trained model (beam search)",
               run_translate);

}  // namespace revnmt::cli
