#include "control/allocator.h"

#include <malloc.h>

namespace sluice {

bool KeepFreedMemory() {
  // A fixed threshold also stops glibc moving it with each freed mapping.
  const bool mapped = mallopt(M_MMAP_THRESHOLD, kMappedFromBytes) == 1;
  const bool kept = mallopt(M_TRIM_THRESHOLD, kKeptFreeBytes) == 1;
  return mapped && kept;
}

}  // namespace sluice
