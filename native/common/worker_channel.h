// What a worker lcore tells the control thread, through its learn ring (an
// rte_ring of fixed-size elements): the neighbors it has seen.
#pragma once

#include <cstdint>

namespace sluice {

// A neighbor sighting, sent from a worker to the control thread.
struct NeighborLearn {
  uint32_t address;  // network order; family 4 (0 counts as 4)
  uint8_t mac[6];
  uint16_t port_index;
  uint8_t family;
  uint8_t address6[16];  // family 6
  uint8_t pad[3];
};
static_assert(sizeof(NeighborLearn) % 4 == 0, "rte_ring element sizes are multiples of 4");

}  // namespace sluice
