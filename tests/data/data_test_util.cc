#include "tests/data/data_test_util.h"

#include <zlib.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "nmt/data/line_reader.h"
#include "tests/support/test_support.h"

namespace revnmt::testing {

void write_gzip(const std::string& path, const std::string& text) {
  gzFile gz = gzopen(path.c_str(), "wb6");
  if (gz == nullptr) throw std::runtime_error("cannot write " + path);
  size_t done = 0;
  while (done < text.size()) {
    const unsigned n = static_cast<unsigned>(std::min<size_t>(text.size() - done, 1 << 20));
    if (gzwrite(gz, text.data() + done, n) != static_cast<int>(n))
      throw std::runtime_error("gzwrite failed for " + path);
    done += n;
  }
  if (gzclose(gz) != Z_OK) throw std::runtime_error("gzclose failed for " + path);
}

std::string data_fixture(const std::string& name) { return test_data_dir() + "/data/" + name; }

const Vocab& fixture_vocab() {
  static TempDir dir;
  static const Vocab vocab = [] {
    VocabTrainOptions options;
    options.inputs = {data_fixture("small.en"), data_fixture("small.de")};
    options.model_path = dir.file("fixture.spm");
    options.vocab_size = 90;
    return Vocab::train(options);
  }();
  return vocab;
}

}  // namespace revnmt::testing
