#pragma once
// Helpers shared by the data tests.

#include <string>
#include <vector>

#include "nmt/data/vocab.h"

namespace revnmt::testing {

// Writes `text` gzip-compressed (level 6) to `path`.
void write_gzip(const std::string& path, const std::string& text);

// tests/fixtures/data/<name>
std::string data_fixture(const std::string& name);

// A unigram vocabulary trained once per test run on the small en+de fixture.
const Vocab& fixture_vocab();

// Runs `body` and returns the InputError message it throws ("" if it throws nothing).
template <typename F>
std::string input_error_of(F&& body);

}  // namespace revnmt::testing

#include "nmt/core/error.h"

namespace revnmt::testing {
template <typename F>
std::string input_error_of(F&& body) {
  try {
    body();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}
}  // namespace revnmt::testing
