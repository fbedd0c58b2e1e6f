#pragma once
// Shared by the libFuzzer targets: every input must either be accepted or be refused with
// an InputError (the one-line error the CLI prints). Any other exception is a bug, so it is
// left uncaught and libFuzzer reports the crash with the input that caused it.

#include <cstdio>
#include <cstdlib>

// An invariant that must hold for every input (a differential or round-trip check).
#define FUZZ_ASSERT(cond)                                                                    \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)
