#pragma once
// Error types. Every failure a user can cause (bad file, bad key, bad value) is an
// InputError whose message already names the file/line/key and what was expected; the
// CLI prints it as one line and exits non-zero. RangeError is a fixed-point value that
// would leave its representable range (never a silent wrap). InternalError is a bug.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace revnmt {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Bad input: files, recipes, flags, models. The message is shown to the user as is.
class InputError : public Error {
 public:
  using Error::Error;
};

// A fixed-point state or buffer value would leave its representable range.
class RangeError : public Error {
 public:
  using Error::Error;
};

// A broken invariant inside revnmt (a bug, not a user mistake).
class InternalError : public Error {
 public:
  using Error::Error;
};

namespace detail {
template <typename... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}
}  // namespace detail

// Throws E with the concatenation of `parts` when `condition` is false.
template <typename E = InputError, typename... Parts>
inline void require(bool condition, Parts&&... parts) {
  if (!condition) throw E(detail::concat(std::forward<Parts>(parts)...));
}

template <typename... Parts>
[[noreturn]] inline void fail(Parts&&... parts) {
  throw InputError(detail::concat(std::forward<Parts>(parts)...));
}

}  // namespace revnmt

// Internal invariant check that stays on in release builds (cheap conditions only).
#define REVNMT_CHECK(cond, ...)                                                   \
  do {                                                                            \
    if (!(cond))                                                                  \
      throw ::revnmt::InternalError(::revnmt::detail::concat(                     \
          __FILE__, ":", __LINE__, ": check failed: " #cond " ", ##__VA_ARGS__)); \
  } while (0)
