// Health probes that never finish on their own: each waits, by its target's
// address, until the test answers it (done(undefined) passes, done(error) fails).
import type { ProbeFn } from '../../src/control/health';

export function heldProbes(): { pending: Map<string, (error: string | undefined) => void>; probe: ProbeFn } {
  const pending = new Map<string, (error: string | undefined) => void>();
  const probe: ProbeFn = (target, _check, done) => {
    pending.set(target.address, done);
    return () => pending.delete(target.address);
  };
  return { pending, probe };
}
