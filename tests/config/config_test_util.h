#pragma once
// Shared by the config tests: catching the one-line InputError a call throws.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <utility>

#include "nmt/core/error.h"
#include "tests/support/test_support.h"

namespace revnmt::config_test {

// The message of the InputError `call` throws; a test failure (and "") when it throws nothing.
// Every user-facing config error is one line, so that is checked here too.
template <typename Call>
std::string input_error_of(Call&& call) {
  try {
    std::forward<Call>(call)();
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "multi-line message: " << message;
    return message;
  }
  ADD_FAILURE() << "expected an InputError, nothing was thrown";
  return "";
}

// tests/fixtures/config/<name>.
inline std::string fixture(const std::string& name) {
  return revnmt::testing::test_data_dir() + "/config/" + name;
}

}  // namespace revnmt::config_test
