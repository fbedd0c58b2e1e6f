#include "nmt/decode/source_reader.h"

#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "nmt/core/log.h"
#include "nmt/data/line_reader.h"

namespace revnmt {

struct SourceReader::State {
  State(const std::string& path, const Vocab& source_vocab, const SourceReaderOptions& opts)
      : reader(path, BadBytes::replace), vocab(source_vocab), options(opts) {}

  LineReader reader;  // used by the thread only, after construction
  Vocab vocab;        // shares the immutable model: safe to use from the thread
  SourceReaderOptions options;
  std::atomic<int64_t> bad_lines{0};

  std::mutex mutex;
  std::condition_variable has_line;   // a line was queued, or the reader is done
  std::condition_variable has_space;  // the consumer took a line, or stop was requested
  std::deque<SourceLine> queue;
  bool done = false;  // no more lines will be queued
  bool stop = false;  // the consumer is gone
  std::exception_ptr error;
  std::thread thread;
};

SourceReader::SourceReader(const std::string& path, const Vocab& vocab,
                           const SourceReaderOptions& options)
    : state_(std::make_shared<State>(path, vocab, options)) {
  struct stat st {};
  interactive_ = path == "-" || ::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode);
  state_->thread = std::thread(&SourceReader::run, state_);
}

SourceReader::~SourceReader() {
  bool done;
  {
    std::lock_guard<std::mutex> lock(state_->mutex);
    state_->stop = true;
    done = state_->done;
  }
  state_->has_space.notify_all();
  // A finished reader is joined; one still blocked waiting for input (an open terminal or
  // pipe) cannot be interrupted, so it is left to end with the process. It owns a
  // reference to the state, which therefore outlives it.
  if (done)
    state_->thread.join();
  else
    state_->thread.detach();
}

void SourceReader::run(std::shared_ptr<State> state) {
  State& s = *state;
  try {
    std::string text;
    while (true) {
      {
        std::unique_lock<std::mutex> lock(s.mutex);
        s.has_space.wait(lock, [&] { return s.queue.size() < s.options.capacity || s.stop; });
        if (s.stop) break;
      }
      if (!s.reader.next(text)) break;
      SourceLine line;
      line.number = s.reader.line_number();
      if (s.reader.line_replacements() > 0 && s.bad_lines++ == 0)
        log_warn(s.reader.display_name(), ":", line.number,
                 ": invalid UTF-8 or NUL bytes replaced by U+FFFD (warned once; later lines are "
                 "only counted)");
      s.vocab.encode(text, &line.ids, s.options.pieces ? &line.pieces : nullptr);
      const size_t max = s.options.max_tokens;
      if (max > 0 && line.ids.size() > max) {
        // Attention makes a sentence's cost grow with source × target length: a line of
        // 100,000 words would take hours. Its output line holds the start's translation.
        log_warn(s.reader.display_name(), ":", line.number, ": long line (", line.ids.size(),
                 " subword tokens): only its first ", max, " are translated (--max-input-tokens)");
        line.ids.resize(max);
        if (s.options.pieces) line.pieces.resize(max);
      } else if (line.ids.size() > s.options.long_line_tokens) {
        log_warn(s.reader.display_name(), ":", line.number, ": long line (", line.ids.size(),
                 " subword tokens) is translated whole; this may be slow");
      }
      {
        std::lock_guard<std::mutex> lock(s.mutex);
        s.queue.push_back(std::move(line));
      }
      s.has_line.notify_one();
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.error = std::current_exception();
  }
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.done = true;
  }
  s.has_line.notify_all();
}

bool SourceReader::take(size_t max, std::chrono::milliseconds idle_after,
                        std::vector<SourceLine>& out) {
  out.clear();
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mutex);
  const auto ready = [&] { return !s.queue.empty() || s.done; };
  s.has_line.wait(lock, ready);
  while (out.size() < max) {
    if (s.queue.empty()) {
      if (s.done) break;
      if (idle_after.count() > 0) {
        if (!s.has_line.wait_for(lock, idle_after, ready)) break;  // the input is idle
      } else {
        s.has_line.wait(lock, ready);
      }
      continue;
    }
    out.push_back(std::move(s.queue.front()));
    s.queue.pop_front();
    s.has_space.notify_one();
  }
  if (out.empty() && s.error) std::rethrow_exception(s.error);
  return !out.empty();
}

int64_t SourceReader::lines_with_bad_bytes() const { return state_->bad_lines.load(); }

}  // namespace revnmt
