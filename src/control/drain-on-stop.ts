// The drain a stop signal makes before `sluice run` stops (config
// drain.onStopSec): the node drains (every VIP withdrawn), then the stop waits
// until the worker lcores hold no more flows, nothing has been forwarded for
// drain.quietSec (the routers send the node nothing more: the flows it still
// remembers would only time out), the wait is over, or a second stop signal
// cuts it short, whichever comes first. Meanwhile the data plane forwards
// everything that still arrives, so the flows the routers still send while
// they converge, and those that were open, are not cut.
import type { LcoreStats } from '../native/addon';
import type { Logger } from '../logger';
import type { NodeDrain } from './node-drain';

/** How often the lcores' flow gauges are read during the wait. */
export const DRAIN_POLL_MS = 100;

export interface FlowsRemaining {
  /** flows in the worker lcores' tables, all lcores */
  active: number;
  /** nat sessions the lcores hold, all lcores */
  natSessions: number;
  lcores: { lcore: number; active: number; natSessions: number }[];
}

/** The flows each lcore still holds, from its gauges (no lcore is asked anything). */
export function flowsRemaining(lcores: readonly LcoreStats[]): FlowsRemaining {
  const per = lcores.map((l) => ({ lcore: l.lcore, active: l.flows.active, natSessions: l.nat.sessionsActive }));
  return {
    active: per.reduce((a, l) => a + l.active, 0),
    natSessions: per.reduce((a, l) => a + l.natSessions, 0),
    lcores: per,
  };
}

export interface DrainOnStopSources {
  node: NodeDrain;
  /** the worker lcores' counters */
  lcores(): readonly LcoreStats[];
  /** with BGP: resolves once the withdrawals the drain asked for are out (the speaker's settled) */
  settled?(): Promise<void>;
}

export interface DrainOnStopOutcome {
  /** why the wait ended */
  ended: 'no flows' | 'quiet' | 'wait over' | 'cut short';
  flowsLeft: number;
  waitedSec: number;
}

const left = (f: FlowsRemaining) => f.active + f.natSessions;

/**
 * Drains, waits at most `waitSec` (less when nothing is forwarded for `quietSec`,
 * unless 0), logs the start and the end at info. `cut` ends the wait at once.
 */
export async function drainOnStop(src: DrainOnStopSources, waitSec: number, quietSec: number, log: Logger,
                                  cut?: AbortSignal): Promise<DrainOnStopOutcome> {
  const t0 = performance.now();
  src.node.drain('stop');
  await src.settled?.();
  let forwarded = -1;
  let quietSince = performance.now();
  const read = () => {
    try {
      const lcores = src.lcores();
      const now = lcores.reduce((a, l) => a + l.forwarded, 0);
      if (now !== forwarded) {
        forwarded = now;
        quietSince = performance.now();
      }
      return left(flowsRemaining(lcores));
    } catch {
      return 0; // the data plane does not run: nothing is left to forward
    }
  };
  let flows = read();
  log.info({ waitSec, flows },
    `draining before the stop: ${src.settled === undefined ? '' : 'every VIP withdrawn, '}waiting for the flows to end`);
  const deadline = t0 + waitSec * 1000;
  let ended: DrainOnStopOutcome['ended'] = 'no flows';
  while (flows > 0) {
    if (cut?.aborted) {
      ended = 'cut short';
      break;
    }
    const now = performance.now();
    if (now >= deadline) {
      ended = 'wait over';
      break;
    }
    if (quietSec > 0 && now - quietSince >= quietSec * 1000) {
      ended = 'quiet';
      break;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, Math.min(DRAIN_POLL_MS, deadline - now));
      cut?.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        cut?.removeEventListener('abort', done);
        resolve();
      }
    });
    flows = read();
  }
  const waitedSec = Math.round(performance.now() - t0) / 1000;
  log.info({ flowsLeft: flows, waitedSec, ended }, `drain ended (${ended}): ${flows} flows left after ${waitedSec} s; stopping`);
  return { ended, flowsLeft: flows, waitedSec };
}
