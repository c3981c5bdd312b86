// KeepFreedMemory: a block freed and allocated again is not first-touched
// again (no page faults), as it would be were it mapped afresh each time.
#include <dlfcn.h>
#include <doctest/doctest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <initializer_list>

#include "control/allocator.h"

namespace sluice {
namespace {

long MinorFaults() {
  struct rusage u = {};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// The page faults of allocating `bytes`, writing every byte and freeing it.
long FaultsOfUse(size_t bytes) {
  const long before = MinorFaults();
  // Volatile: a write the compiler cannot drop before the free.
  char* block = static_cast<char*>(std::malloc(bytes));
  REQUIRE(block != nullptr);
  volatile char* p = block;
  for (size_t at = 0; at < bytes; at += 4096) p[at] = 1;
  std::free(block);
  return MinorFaults() - before;
}

// AddressSanitizer's runtime, compiled in or preloaded (the sanitizer tier
// runs these tests with it preloaded), replaces glibc's allocator: its own
// keeps freed blocks in quarantine and mallopt does not reach it. This is
// glibc's behaviour, so the case is reported as skipped there.
bool GlibcAllocator() { return dlsym(RTLD_DEFAULT, "__asan_init") == nullptr; }

TEST_CASE("memory freed by the control plane is reused without page faults" * doctest::skip(!GlibcAllocator())) {
  REQUIRE(KeepFreedMemory());
  FaultsOfUse(8 << 20);
  // Blocks of the sizes a change builds (a lookup table, a snapshot's views),
  // smaller and then as big as the first: glibc's default maps each size
  // afresh until its threshold has grown past it, and gives the heap's top
  // back past twice that, so these would fault on most of their pages.
  for (size_t bytes : {size_t{300} << 10, size_t{1} << 20, size_t{300} << 10, size_t{8} << 20}) {
    CHECK(FaultsOfUse(bytes) <= static_cast<long>(bytes / 4096 / 100));
  }
}

}  // namespace
}  // namespace sluice
