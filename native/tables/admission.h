// New-flow admission control for one worker lcore: a token bucket over the flows
// it remembers. A flood of new 5-tuples (a SYN flood from random sources) would
// otherwise fill the flow table and evict established flows wholesale. A refused
// flow is still forwarded: the lookup table gives it the same backend as long as the
// backend set is unchanged; only its protection across changes is lost.
#pragma once

#include <cstdint>

namespace sluice {

class AdmissionLimiter {
 public:
  // per_sec 0: unlimited. Tokens are kept in TSC cycles times the rate, so the
  // refill needs no division on the worker.
  void Configure(uint32_t per_sec, uint32_t burst, uint64_t tsc_hz, uint64_t now_tsc) {
    limited_ = per_sec > 0;
    if (!limited_) return;
    rate_ = per_sec;
    cost_ = tsc_hz;
    max_credit_ = static_cast<uint64_t>(burst == 0 ? 1 : burst) * tsc_hz;
    max_elapsed_ = max_credit_ / rate_;  // a longer pause would only overfill
    credit_ = max_credit_;
    last_tsc_ = now_tsc;
  }

  // Once per loop iteration, not per packet.
  void Refill(uint64_t now_tsc) {
    if (!limited_) return;
    uint64_t elapsed = now_tsc - last_tsc_;
    last_tsc_ = now_tsc;
    if (elapsed > max_elapsed_) elapsed = max_elapsed_;
    credit_ += elapsed * rate_;
    if (credit_ > max_credit_) credit_ = max_credit_;
  }

  bool TryAdmit() {
    if (!limited_) return true;
    if (credit_ < cost_) return false;
    credit_ -= cost_;
    return true;
  }

 private:
  bool limited_ = false;
  uint64_t rate_ = 0;        // admissions per second
  uint64_t cost_ = 0;        // credit per admission: TSC cycles per second
  uint64_t credit_ = 0;
  uint64_t max_credit_ = 0;  // burst admissions' worth
  uint64_t max_elapsed_ = 0;
  uint64_t last_tsc_ = 0;
};

}  // namespace sluice
