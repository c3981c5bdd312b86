// The flow tables in EAL memory, on the worker's NUMA socket. Kept apart from
// tables/flow_table.cc so unit tests and fuzzers can use the tables without the EAL.
#include <rte_errno.h>
#include <rte_malloc.h>

#include "tables/flow_table.h"
#include "tables/flow_table6.h"

namespace sluice {

template <typename Layout>
FlowTableOf<Layout>* FlowTableOf<Layout>::Create(const char* name, uint32_t capacity, int socket,
                                                 const FlowTimeouts& timeouts) {
  void* memory = rte_zmalloc_socket(name, MemoryBytes(capacity), RTE_CACHE_LINE_SIZE, socket);
  if (memory == nullptr) {
    // rte_malloc does not always set rte_errno: a stale value (ENOENT from an
    // earlier lookup) would be reported as the reason.
    rte_errno = ENOMEM;
    return nullptr;
  }
  FlowTableOf* table = Place(memory, capacity, timeouts);
  table->owns_memory_ = true;
  return table;
}

template <typename Layout>
void FlowTableOf<Layout>::Destroy(FlowTableOf* table) {
  if (table == nullptr) return;
  bool owned = table->owns_memory_;
  table->~FlowTableOf();
  if (owned) rte_free(table);
}

// The rest of each table is instantiated in tables/flow_table.cc.
template FlowTable* FlowTable::Create(const char*, uint32_t, int, const FlowTimeouts&);
template void FlowTable::Destroy(FlowTable*);
template FlowTable6* FlowTable6::Create(const char*, uint32_t, int, const FlowTimeouts&);
template void FlowTable6::Destroy(FlowTable6*);

}  // namespace sluice
