// Invariant checks for the fuzz harnesses. A failed check prints what failed and
// aborts: libFuzzer reports the abort as a crash and saves the input that caused
// it, so an invariant violation is found, minimised and reproduced like a memory
// error. assert() is not used because it vanishes under NDEBUG.
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                   \
  do {                                                                                     \
    if (!(cond)) {                                                                         \
      std::fprintf(stderr, "%s:%d: invariant violated: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                        \
    }                                                                                      \
  } while (0)
