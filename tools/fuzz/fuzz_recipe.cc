// libFuzzer target: the recipe loader (YAML text + --set overrides) and the model config
// reader of model files. Leading lines "--set key=value" become overrides. Accepted
// recipes must survive dump_recipe -> recipe_from_yaml unchanged.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "nmt/config/model_config.h"
#include "nmt/config/recipe.h"
#include "nmt/core/error.h"
#include "tools/fuzz/fuzz_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  size_t at = 0;
  static const std::string kSet = "--set ";
  while (input.compare(at, kSet.size(), kSet) == 0) {
    size_t end = input.find('\n', at);
    if (end == std::string::npos) end = input.size();
    overrides.push_back(input.substr(at + kSet.size(), end - at - kSet.size()));
    at = end < input.size() ? end + 1 : end;
  }
  const std::string yaml = input.substr(at);
  try {
    const revnmt::Recipe recipe = revnmt::recipe_from_yaml(yaml, "fuzz.yaml", overrides);
    const std::string dumped = revnmt::dump_recipe(recipe);
    const revnmt::Recipe again = revnmt::recipe_from_yaml(dumped, "dumped.yaml");
    FUZZ_ASSERT(again == recipe);
    FUZZ_ASSERT(revnmt::dump_recipe(again) == dumped);
  } catch (const revnmt::InputError&) {
  }
  try {
    const revnmt::ModelConfig config = revnmt::model_config_from_yaml(input, "fuzz model config");
    FUZZ_ASSERT(revnmt::model_config_from_yaml(revnmt::model_config_to_yaml(config), "again") ==
                config);
  } catch (const revnmt::InputError&) {
  }
  return 0;
}
