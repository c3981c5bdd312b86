// The flow table in EAL memory, on the worker's NUMA socket. Kept apart from
// tables/flow_table.cc so unit tests and fuzzers can use the table without the EAL.
#include <rte_errno.h>
#include <rte_malloc.h>

#include "tables/flow_table.h"

namespace sluice {

FlowTable* FlowTable::Create(const char* name, uint32_t capacity, int socket,
                             const FlowTimeouts& timeouts) {
  void* memory = rte_zmalloc_socket(name, MemoryBytes(capacity), RTE_CACHE_LINE_SIZE, socket);
  if (memory == nullptr) {
    // rte_malloc does not always set rte_errno: a stale value (ENOENT from an
    // earlier lookup) would be reported as the reason.
    rte_errno = ENOMEM;
    return nullptr;
  }
  FlowTable* table = Place(memory, capacity, timeouts);
  table->owns_memory_ = true;
  return table;
}

void FlowTable::Destroy(FlowTable* table) {
  if (table == nullptr) return;
  bool owned = table->owns_memory_;
  table->~FlowTable();
  if (owned) rte_free(table);
}

}  // namespace sluice
