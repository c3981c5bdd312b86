// Classic weighted Maglev (Eisenbud et al., NSDI 2016): backends take turns,
// in proportion to their weights, at the next free slot of their permutations
// (the same permutations as the data path's table, tables/permutations.h).
// Not used by the data path; kept so that tests and the benchmark can compare
// the data path's bounded-load rendezvous table (tables/lookup_table.h) with it.
// Same contract as BuildLookupTable (size invariant, kNoBackend, determinism),
// except shares: within a few slots of weight / total.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tables/lookup_table.h"

namespace sluice {

std::vector<uint32_t> BuildClassicMaglevTable(const std::vector<LookupBackend>& backends,
                                              uint32_t table_size, const std::string& where = "table size");

}  // namespace sluice
