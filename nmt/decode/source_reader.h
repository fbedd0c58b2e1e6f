#pragma once
// The input side of `revnmt translate`: a background thread reads a plain/gzip file or
// standard input (LineReader with bad bytes replaced by U+FFFD), encodes every line with
// the source vocabulary (cropping lines longer than max_tokens), warns about bad bytes
// (once) and long lines (each, by number),
// and queues the lines at most `capacity` ahead of the translator, so memory stays
// bounded however long the input is, and reading overlaps translation.
//
// Because the thread, not the translator, waits for input, the translator can tell an
// idle pipe (an interactive user, a client waiting for answers) from input still being
// read: take() returns the lines it has once no new line arrives for `idle_after`, and
// their translations go out at once instead of after a full chunk or the end of input.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nmt/data/vocab.h"

namespace revnmt {

struct SourceLine {
  int64_t number = 0;               // 1-based line number in the input
  std::vector<int32_t> ids;         // subword ids, without EOS (empty for a blank line)
  std::vector<std::string> pieces;  // one per id, when SourceReaderOptions::pieces
};

struct SourceReaderOptions {
  size_t capacity = 1000;         // lines queued ahead of the consumer at most
  bool pieces = false;            // also keep the subword pieces (--replace-unk)
  size_t long_line_tokens = 250;  // warn about lines with more subwords than this
  size_t max_tokens = 0;          // crop longer lines to this many subwords (0 = no limit)
};

class SourceReader {
 public:
  // Opens the input at once (a missing or unreadable file throws InputError here) and
  // starts reading. "-" is standard input.
  SourceReader(const std::string& path, const Vocab& vocab, const SourceReaderOptions& options);
  ~SourceReader();
  SourceReader(const SourceReader&) = delete;
  SourceReader& operator=(const SourceReader&) = delete;

  // Replaces `out` with the next lines, at most `max`: waits for the first one, then
  // takes the lines that are ready and waits for more until `max` lines or the end of the
  // input, or (idle_after > 0) until no line has arrived for idle_after. Returns false at
  // the end of the input (out empty). An error of the reader is rethrown once the lines
  // read before it have been taken.
  bool take(size_t max, std::chrono::milliseconds idle_after, std::vector<SourceLine>& out);

  // Lines in which invalid UTF-8 or NUL bytes were replaced, so far.
  int64_t lines_with_bad_bytes() const;
  // True when the input is a pipe, terminal or other non-regular file (stdin included):
  // the caller should then pass an idle_after.
  bool interactive() const { return interactive_; }

 private:
  struct State;
  static void run(std::shared_ptr<State> state);

  std::shared_ptr<State> state_;  // shared with the reading thread
  bool interactive_ = false;
};

}  // namespace revnmt
