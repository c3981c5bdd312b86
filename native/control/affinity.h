// Keeps the control plane off the worker cores. rte_eal_init pins the calling
// (main) thread to the main lcore's CPUs, but threads that existed before it
// (V8's platform workers, which run the garbage collector, and libuv's) keep
// the whole process mask and get scheduled onto the workers' cores whenever
// the main core is busy, which under API load cuts a worker's rate hard
// (docs/performance-notes.md, "The platform").
#pragma once

#include <cstdint>

namespace sluice {

// Moves every thread of this process that is not an EAL lcore thread onto the
// main lcore's CPUs. Call on the main thread after rte_eal_init. Returns how
// many threads were moved, or -1 when /proc/self/task cannot be read.
int ConfineControlThreads();

}  // namespace sluice
