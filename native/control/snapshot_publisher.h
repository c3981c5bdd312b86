// Hands new snapshots to the workers without stopping them: one atomic pointer
// swap, then the old snapshot waits for an RCU grace period (every worker has
// reported a quiescent state since the swap) before it is freed. Control thread only.
#pragma once

#include <rte_rcu_qsbr.h>

#include <atomic>
#include <deque>
#include <memory>
#include <utility>

#include "common/snapshot.h"

namespace sluice {

class SnapshotPublisher {
 public:
  explicit SnapshotPublisher(struct rte_rcu_qsbr* rcu) : rcu_(rcu) {}
  ~SnapshotPublisher() { ReclaimAll(); }

  void Publish(std::unique_ptr<Snapshot> next) {
    const Snapshot* old = current_.exchange(next.release(), std::memory_order_acq_rel);
    if (old != nullptr) retired_.emplace_back(rte_rcu_qsbr_start(rcu_), std::unique_ptr<const Snapshot>(old));
    Reclaim();
  }

  // Frees retired snapshots whose grace period is over; never blocks.
  void Reclaim() {
    while (!retired_.empty() && rte_rcu_qsbr_check(rcu_, retired_.front().first, false) == 1) {
      retired_.pop_front();
    }
  }

  // Waits until every worker has passed a quiescent state since the last
  // retirement (one loop iteration each: at most idleSleepMaxUs for an idle
  // worker), then frees every retired snapshot. For when their memory is
  // needed now: the lookup-table budget (LookupTableCache::SetLimit).
  void ReclaimWaiting() {
    if (retired_.empty()) return;
    rte_rcu_qsbr_check(rcu_, retired_.back().first, true);
    retired_.clear();
  }

  // Only once no worker runs any more.
  void ReclaimAll() {
    retired_.clear();
    delete current_.exchange(nullptr);
  }

  const std::atomic<const Snapshot*>* current() const { return &current_; }
  const Snapshot* get() const { return current_.load(std::memory_order_acquire); }
  size_t retired() const { return retired_.size(); }

 private:
  struct rte_rcu_qsbr* rcu_;
  std::atomic<const Snapshot*> current_{nullptr};
  std::deque<std::pair<uint64_t, std::unique_ptr<const Snapshot>>> retired_;
};

}  // namespace sluice
