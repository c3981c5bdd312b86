// One timed data-plane run, in its own process because the EAL initialises once
// per process:
//
//   node dist/tools/bench/sluice-run.js CONFIG WARM_INSERTS SECONDS [CHANGES_PER_SEC]
//
// Starts the data plane from CONFIG (the operator path), waits until the workers
// have inserted WARM_INSERTS flows or opened that many nat sessions (0: no wait
// beyond one second), then samples
// the worker counters SECONDS apart and prints one RESULT_PREFIX line of JSON.
// With CHANGES_PER_SEC, the services are changed that often during the window
// (hitless.ts says how), and `changes` counts what was applied.
import { loadConfigFile } from '../../src/config';
import { hitlessChanges } from './hitless';
import { Dataplane } from '../../src/dataplane';
import type { DataplaneStats } from '../../src/native/addon';
import { lcoreTotals, type LcoreTotals } from '../../src/native/lcore-totals';

export const RESULT_PREFIX = 'SLUICE_BENCH_RESULT ';

const WARM_TIMEOUT_MS = 120000;

export type WorkerSample = LcoreTotals & { atMs: number };

export interface SluiceRunResult {
  before: WorkerSample;
  after: WorkerSample;
  warmMs: number;
  /** Resident set of this process after the run, for the memory benchmark. */
  rssBytes: number;
  changes: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sample(s: DataplaneStats): WorkerSample {
  return { atMs: performance.now(), ...lcoreTotals(s) };
}

/** Flows remembered: flow-table inserts, plus nat sessions (nat keeps its flows there). */
function flowsSeen(s: DataplaneStats): number {
  return sample(s).inserts + s.lcores.reduce((a, l) => a + l.nat.sessionsCreated, 0);
}

async function main(configPath: string, warmInserts: number, seconds: number, changesPerSec: number): Promise<number> {
  const dp = new Dataplane();
  const cfg = loadConfigFile(configPath);
  dp.start(cfg, `bench-${process.pid}`);
  try {
    const t0 = performance.now();
    await sleep(1000);
    while (flowsSeen(dp.stats()) < warmInserts) {
      if (performance.now() - t0 > WARM_TIMEOUT_MS) {
        process.stderr.write(`sluice-run: ${flowsSeen(dp.stats())} of ${warmInserts} flows after warm-up\n`);
        return 4;
      }
      await sleep(50);
    }
    const warmMs = performance.now() - t0;
    const changer = changesPerSec > 0 ? hitlessChanges(dp, cfg.services, changesPerSec) : undefined;
    const before = sample(dp.stats());
    await sleep(seconds * 1000);
    const after = sample(dp.stats());
    const changes = changer?.stop() ?? 0;
    const result: SluiceRunResult = { before, after, warmMs, rssBytes: process.memoryUsage().rss, changes };
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    dp.stop();
  }
}

if (require.main === module) {
  const [configPath, warmText, secondsText, changesText = '0'] = process.argv.slice(2);
  const warm = Number(warmText);
  const seconds = Number(secondsText);
  const changes = Number(changesText);
  if (configPath === undefined || !Number.isInteger(warm) || warm < 0 || !(seconds > 0) || !(changes >= 0)) {
    process.stderr.write('usage: sluice-run CONFIG WARM_INSERTS SECONDS [CHANGES_PER_SEC]\n');
    process.exit(2);
  }
  main(configPath, warm, seconds, changes).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`sluice-run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
