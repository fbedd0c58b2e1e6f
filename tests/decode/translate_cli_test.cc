// `revnmt translate` end to end with a tiny model trained here (a few SGD updates on the
// small fixture): one output line per input line for adversarial input, stdin/stdout and
// files, gzip input, atomic -o, n-best format, determinism across batch/threads/chunks,
// interactive streaming, and one-line errors.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <regex>
#include <string>
#include <vector>

#include "nmt/data/batcher.h"
#include "nmt/data/corpus.h"
#include "nmt/model/model_io.h"
#include "tests/decode/decode_test_util.h"

namespace revnmt {
namespace {

using testing::fixture_vocab;
using testing::read_text;
using testing::run_revnmt;
using testing::TempDir;
using testing::write_text;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

int count(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// A RevGRU model trained for a few SGD updates, saved once per test binary.
const std::string& model_path() {
  static TempDir dir;
  static const std::string path = [] {
    const Vocab& vocab = fixture_vocab();
    ModelConfig config = testing::tiny_model_config(CellType::revgru, 1, 16);
    config.slice_dim = 4;
    config.init_range = 0.1;
    Seq2Seq model(config, vocab.size(), vocab.size(), special_tokens_of(vocab));
    model.initialize(1);
    const std::string data = testing::test_data_dir() + "/data/";
    const ParallelCorpus corpus =
        ParallelCorpus::load(data + "small.de", data + "small.en", vocab, vocab, CorpusOptions{});
    BatcherOptions batching;
    batching.batch_size = 16;
    Batcher batcher(corpus, batching);
    uint64_t update = 0;
    for (int epoch = 0; epoch < 4; ++epoch)
      for (const auto& indices : batcher.epoch_plan(epoch)) {
        const Batch batch = batcher.make_batch(indices);
        model.params().zero_grads();
        model.train_step(batch, DropoutKey{1, update++, true}, 0.0f,
                         1.0f / float(batch.target_tokens()));
        double norm = 0;
        for (size_t p = 0; p < model.params().size(); ++p) {
          const Parameter& param = model.params()[p];
          for (int64_t i = 0; i < param.numel(); ++i)
            norm += double(param.grad.data<float>()[i]) * param.grad.data<float>()[i];
        }
        const float lr = 0.5f * float(std::min(1.0, 1.0 / std::sqrt(norm + 1e-12)));
        for (size_t p = 0; p < model.params().size(); ++p) {
          Parameter& param = model.params()[p];
          for (int64_t i = 0; i < param.numel(); ++i) param.data()[i] -= lr * param.gradient()[i];
        }
      }
    const std::string file = dir.file("tiny.rnmt");
    save_model(file, model, vocab, vocab);
    return file;
  }();
  return path;
}

// Input lines that have broken other toolkits, and the 1-based number of the long one.
constexpr int kLongLine = 4;
std::string adversarial_input() {
  std::string long_line;
  const char* words[] = {"Mann", "xq", "Hund", "zz", "Schnee", "ok"};
  for (int i = 0; i < 830; ++i) long_line += std::string(words[i % 6]) + (i % 7 ? " " : ". ");
  std::vector<std::string> lines = {
      "Ein Mann sitzt am Strand.",
      "",
      "   \t  ",
      long_line,                              // line 4: > 3,000 subwords
      "Ein \x01\x02\x1b[31m Mann\x7f geht.",  // control characters
      "Das \xff\xfe M\xc3"
      "dchen spielt.",              // invalid UTF-8
      std::string("Der\0Hund", 8),  // NUL
      "Ein Mann \xE4\xBD\xA0\xE5\xA5\xBD \xD9\x85\xD8\xB1 \xD0\x9F\xD1\x80 \xF0\x9F\x99\x82",
      "\xE4\xBD\xA0\xE5\xA5\xBD\xE4\xB8\x96 \xE2\x98\x83\xE2\x98\x83",  // only unknown
      "Ein\rHund im Schnee.",                                           // a lone CR inside
      "Zwei Hunde spielen im Schnee.",                                  // no final newline
  };
  std::string text;
  for (size_t i = 0; i < lines.size(); ++i) text += lines[i] + (i + 1 < lines.size() ? "\n" : "");
  return text;
}
constexpr int kAdversarialLines = 11;

void write_gzip(const std::string& path, const std::string& text) {
  gzFile gz = gzopen(path.c_str(), "wb6");
  ASSERT_NE(gz, nullptr);
  ASSERT_EQ(gzwrite(gz, text.data(), unsigned(text.size())), int(text.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
}

TEST(TranslateCommand, AdversarialInputGivesOneLinePerInputLine) {
  TempDir dir;
  const std::string input = dir.file("in.txt"), output = dir.file("out.txt");
  write_text(input, adversarial_input());
  const auto result = run_revnmt("translate -m " + model_path() + " -i " + input + " -o " + output +
                                 " --beam 3 --batch 4");
  ASSERT_EQ(result.exit_code, 0) << result.err;
  EXPECT_EQ(result.out, "");
  const std::string text = read_text(output);
  EXPECT_EQ(count(text, "\n"), kAdversarialLines) << text;
  const auto lines = split_lines(text);
  ASSERT_EQ(int(lines.size()), kAdversarialLines);
  EXPECT_EQ(lines[1], "");  // empty line
  EXPECT_EQ(lines[2], "");  // whitespace only
  EXPECT_FALSE(lines[0].empty());
  EXPECT_FALSE(lines[kLongLine - 1].empty());
  // Warnings: the long line by number, bad bytes once although two lines have them.
  const std::string long_warning = ":" + std::to_string(kLongLine) + ": long line (";
  ASSERT_TRUE(contains(result.err, long_warning)) << result.err;
  const size_t at = result.err.find(long_warning) + long_warning.size();
  EXPECT_GE(std::stoi(result.err.substr(at)), 3000) << result.err;
  EXPECT_EQ(count(result.err, "invalid UTF-8 or NUL bytes replaced"), 1) << result.err;
  EXPECT_TRUE(contains(result.err, "translated 11 sentences in")) << result.err;
  EXPECT_TRUE(contains(result.err, "2 lines had invalid bytes replaced")) << result.err;
  // Only the output file is left in the directory (no temporary file).
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 2);

  // The same bytes from standard input to standard output, and from a gzip file; stdin
  // with a non-terminal stderr prints nothing but the warnings.
  const auto piped =
      run_revnmt("translate -m " + model_path() + " --beam 3 --batch 4", adversarial_input());
  ASSERT_EQ(piped.exit_code, 0) << piped.err;
  EXPECT_EQ(piped.out, text);
  EXPECT_FALSE(contains(piped.err, "translated 11 sentences"));
  EXPECT_TRUE(contains(piped.err, "<stdin>:" + std::to_string(kLongLine) + ": long line"))
      << piped.err;
  write_gzip(dir.file("in.gz"), adversarial_input());
  const auto gz = run_revnmt("translate -m " + model_path() + " -i " + dir.file("in.gz") +
                             " --beam 3 --quiet --batch 4");
  ASSERT_EQ(gz.exit_code, 0) << gz.err;
  EXPECT_EQ(gz.out, text);
  EXPECT_FALSE(contains(gz.err, "translated 11"));  // --quiet: warnings only
  EXPECT_TRUE(contains(gz.err, "long line")) << gz.err;
}

// Output bytes do not depend on the batch size, the thread count or the chunking.
TEST(TranslateCommand, DeterministicAcrossBatchThreadsAndChunks) {
  TempDir dir;
  std::string text;
  const auto en = testing::fixture_lines("small.de");
  for (int i = 0; i < 40; ++i) text += en[i * 3] + "\n";
  text += "\n\n";
  write_text(dir.file("in.txt"), text);
  // bf16 products are batch-invariant too (their rows do not depend on M).
  for (const std::string precision : {"fp32", "bf16"}) {
    for (const std::string beam : {"1", "5"}) {
      const std::string base = "translate -m " + model_path() + " -i " + dir.file("in.txt") +
                               " --quiet --beam " + beam + " --precision " + precision;
      const auto a = run_revnmt(base + " --batch 64 --threads 1");
      const auto b = run_revnmt(base + " --batch 3 --threads 2 --chunk-lines 7");
      const auto c = run_revnmt(base + " --batch 1 --chunk-lines 1");
      ASSERT_EQ(a.exit_code, 0) << a.err;
      EXPECT_EQ(count(a.out, "\n"), 42);
      EXPECT_EQ(a.out, b.out) << "beam " << beam << ", " << precision;
      EXPECT_EQ(a.out, c.out) << "beam " << beam << ", " << precision;
      EXPECT_EQ(a.err, "");
    }
  }
}

TEST(TranslateCommand, NBestFormat) {
  TempDir dir;
  write_text(dir.file("in.txt"), "Ein Mann sitzt am Strand.\n\nZwei Hunde spielen im Schnee.\n");
  const std::string base =
      "translate -m " + model_path() + " -i " + dir.file("in.txt") + " --quiet --beam 4";
  const auto nbest = run_revnmt(base + " --n-best 3");
  ASSERT_EQ(nbest.exit_code, 0) << nbest.err;
  const auto best = split_lines(run_revnmt(base).out);
  ASSERT_EQ(best.size(), 3u);
  const std::regex line_format(R"(^(\d+) \|\|\| (.*) \|\|\| (-?\d+\.\d{6})$)");
  std::vector<int> per_sentence(3, 0);
  int previous_index = -1;
  double previous_score = 0;
  for (const std::string& line : split_lines(nbest.out)) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(line, m, line_format)) << line;
    const int index = std::stoi(m[1]);
    const double score = std::stod(m[3]);
    ASSERT_GE(index, previous_index);
    ASSERT_LT(index, 3);
    if (index == previous_index)
      EXPECT_LE(score, previous_score);
    else
      EXPECT_EQ(m[2].str(), best[index]);  // the first entry is the 1-best output
    ++per_sentence[index];
    previous_index = index;
    previous_score = score;
  }
  EXPECT_EQ(per_sentence, (std::vector<int>{3, 1, 3}));
  EXPECT_TRUE(contains(nbest.out, "1 |||  ||| 0.000000\n"));
}

// Every bad invocation: one line on stderr naming the problem, non-zero exit, no output
// file left behind.
TEST(TranslateCommand, ErrorsAreOneLine) {
  TempDir dir;
  write_text(dir.file("in.txt"), "Ein Mann.\n");
  write_text(dir.file("garbage.rnmt"), "this is not a model at all\n");
  const std::string in = " -i " + dir.file("in.txt");
  const std::string out = " -o " + dir.file("out.txt");
  struct Case {
    std::string args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"translate -m " + dir.file("missing.rnmt") + in + out, "missing.rnmt"},
      {"translate -m " + dir.file("garbage.rnmt") + in + out, "garbage.rnmt"},
      {"translate -m " + dir.path() + in + out, dir.path()},
      {"translate -m " + model_path() + " -i " + dir.file("none.txt") + out, "none.txt"},
      {"translate -m " + model_path() + in + out + " --beam 0", "--beam"},
      {"translate -m " + model_path() + in + out + " --beam 5 --n-best 6", "--n-best"},
      {"translate -m " + model_path() + in + out + " --alpha=-1", "--alpha"},
      {"translate -m " + model_path() + in + out + " --batch 0", "--batch"},
      {"translate -m " + model_path() + in + out + " --chunk-lines 0", "--chunk-lines"},
      {"translate -m " + model_path() + in + out + " --precision fp16", "--precision"},
      {"translate -m " + model_path() + in + out + " --beam abc", "beam"},
      {"translate -m " + model_path() + in + out + " --no-such-flag", "no-such-flag"},
      {"translate" + in + out, "model"},
      {"translate -m " + model_path() + in + " -o " + dir.path(), "directory"},
  };
  for (const Case& c : cases) {
    const auto result = run_revnmt(c.args);
    EXPECT_NE(result.exit_code, 0) << c.args;
    EXPECT_EQ(count(result.err, "\n"), 1) << c.args << "\n" << result.err;
    EXPECT_TRUE(contains(result.err, "error")) << result.err;
    EXPECT_TRUE(contains(result.err, c.expected)) << c.args << "\n" << result.err;
    EXPECT_EQ(result.out, "") << c.args;
    EXPECT_FALSE(std::filesystem::exists(dir.file("out.txt"))) << c.args;
  }
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++files;
  }
  EXPECT_EQ(files, 2);  // in.txt and garbage.rnmt: no temporary output files
}

// Reads one line from fd within timeout_ms; "" on timeout or end.
std::string read_line(int fd, int timeout_ms) {
  std::string line;
  char c;
  while (true) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return "";
    if (::read(fd, &c, 1) != 1) return "";
    if (c == '\n') return line + "\n";
    line += c;
  }
}

// With an interactive pipe, each line's translation arrives before the next line is
// written: the command does not wait for a full chunk or for the end of the input.
TEST(TranslateCommand, StreamsAnInteractivePipe) {
  int to_child[2], from_child[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(from_child), 0);
  const std::string binary = testing::revnmt_binary(), model = model_path();
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::dup2(to_child[0], 0);
    ::dup2(from_child[1], 1);
    const int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 2);
    ::close(to_child[1]);
    ::close(from_child[0]);
    ::execl(binary.c_str(), binary.c_str(), "translate", "-m", model.c_str(), "--beam", "2",
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  std::vector<std::string> answers;
  for (const std::string line : {"Ein Mann sitzt am Strand.\n", "\n", "Ein Hund.\n"}) {
    ASSERT_EQ(::write(to_child[1], line.data(), line.size()), ssize_t(line.size()));
    answers.push_back(read_line(from_child[0], 20000));
    EXPECT_FALSE(answers.back().empty()) << "no answer to " << line;
  }
  ::close(to_child[1]);
  EXPECT_EQ(read_line(from_child[0], 20000), "");  // nothing more after the end
  ::close(from_child[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_EQ(answers[1], "\n");
  const auto batch = run_revnmt("translate -m " + model + " --beam 2 --quiet",
                                "Ein Mann sitzt am Strand.\n\nEin Hund.\n");
  EXPECT_EQ(batch.out, answers[0] + answers[1] + answers[2]);
}

}  // namespace
}  // namespace revnmt
