// The worker's side of a connection listing (common/flow_query.h): a bounded
// part of the scan per loop iteration, the flows that match copied out.
#pragma once

#include <cstdint>

#include "common/flow_query.h"
#include "tables/flow_table.h"
#include "tables/flow_table6.h"

namespace sluice {

struct NatLcore;

// The worker's tables, as a listing reads them; nullptr: the lcore has none.
struct ListedTables {
  const FlowTable* flows;
  const FlowTable6* flows6;
  const NatLcore* nat;
};

// Scans up to `budget` slots of the worker's tables for `q`, resuming where the
// last call stopped, and sets kAnswered once every table is scanned or a flow
// beyond the limit matched. Call only while q.state is kAsked.
void ContinueFlowQuery(FlowQuery& q, const ListedTables& tables, uint32_t now_ms, uint32_t budget);

}  // namespace sluice
