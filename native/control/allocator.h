// Keeps the memory the control plane frees for its next use. Every snapshot,
// lookup table and scratch vector a change builds is big enough for glibc to
// map it afresh and unmap it when freed, so the next change first-touches all
// its pages again: a page fault each, which on some virtual machines costs
// more than the work done in the pages (docs/performance-notes.md). With this,
// they come from the heap, which keeps what is freed.
#pragma once

namespace sluice {

// The allocations below kMappedFromBytes come from the heap, and up to
// kKeptFreeBytes of free memory at its top stays mapped. Process-wide; call
// on the main thread before the data plane allocates. False when glibc
// refused either setting.
bool KeepFreedMemory();

inline constexpr int kMappedFromBytes = 32 << 20;  // the most glibc takes on 64-bit
inline constexpr int kKeptFreeBytes = 64 << 20;

}  // namespace sluice
