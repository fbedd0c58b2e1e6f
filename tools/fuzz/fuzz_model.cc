// libFuzzer target: the model/checkpoint loader. Each input is parsed as it is (so the
// header, version and CRC checks are exercised) and again with its last four bytes replaced
// by the CRC-32 of the rest, so mutations reach the section, tensor, config, vocabulary,
// parameter, optimizer-state and training-state readers behind the checksum.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "nmt/core/error.h"
#include "nmt/core/file_io.h"
#include "nmt/model/archive.h"
#include "nmt/model/model_io.h"
#include "nmt/train/optimizer.h"
#include "nmt/train/training_state.h"
#include "tools/fuzz/fuzz_common.h"

namespace {

void load(std::string_view bytes) {
  revnmt::Archive archive;
  try {
    archive = revnmt::Archive::parse(bytes, "fuzz.rnmt");
  } catch (const revnmt::InputError&) {
    return;
  }
  // What parses serializes back to the same bytes (sections in file order).
  FUZZ_ASSERT(archive.serialize() == bytes);
  if (archive.has("state")) {
    try {
      const revnmt::TrainingState state =
          revnmt::training_state_from_yaml(archive.bytes("state"), "fuzz.rnmt (state)");
      FUZZ_ASSERT(revnmt::training_state_from_yaml(revnmt::training_state_to_yaml(state),
                                                   "again") == state);
    } catch (const revnmt::InputError&) {
    }
  }
  try {
    revnmt::LoadedModel loaded = revnmt::model_from_archive(archive);
    if (archive.has("optimizer")) {
      revnmt::AdamOptimizer adam(loaded.model->params(), revnmt::AdamOptions{});
      adam.load_state(archive.tensors("optimizer"), "fuzz.rnmt (optimizer)");
    }
  } catch (const revnmt::InputError&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  load(bytes);
  if (size >= 4) {
    std::string fixed(bytes);
    const uint32_t crc = revnmt::crc32_of(std::string_view(fixed).substr(0, size - 4));
    fixed.replace(size - 4, 4, reinterpret_cast<const char*>(&crc), 4);
    if (fixed != bytes) load(fixed);
  }
  return 0;
}
