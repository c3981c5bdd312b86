// The fragment table in EAL memory, on the worker's NUMA socket; apart from
// tables/fragment_table.cc so unit tests and fuzzers use the table without the EAL.
#include <rte_errno.h>
#include <rte_malloc.h>

#include "tables/fragment_table.h"

namespace sluice {

FragmentTable* FragmentTable::Create(const char* name, const FragmentLimits& limits, int socket) {
  void* memory = rte_zmalloc_socket(name, MemoryBytes(limits), RTE_CACHE_LINE_SIZE, socket);
  if (memory == nullptr) {
    rte_errno = ENOMEM;  // as in FlowTable::Create: rte_malloc does not always set it
    return nullptr;
  }
  FragmentTable* table = Place(memory, limits);
  table->owns_memory_ = true;
  return table;
}

void FragmentTable::Destroy(FragmentTable* table) {
  if (table == nullptr) return;
  bool owned = table->owns_memory_;
  table->~FragmentTable();
  if (owned) rte_free(table);
}

}  // namespace sluice
