// One timed data-plane run, in its own process because the EAL initialises once
// per process:
//
//   node dist/src/bench/sluice-run.js CONFIG WARM_INSERTS SECONDS
//
// Starts the data plane from CONFIG (the operator path), waits until the workers
// have inserted WARM_INSERTS flows (0: no wait beyond one second), then samples
// the worker counters SECONDS apart and prints one RESULT_PREFIX line of JSON.
import { loadConfigFile } from '../config';
import { Dataplane } from '../dataplane';
import type { DataplaneStats } from '../native/addon';
import { lcoreTotals, type LcoreTotals } from '../native/lcore-totals';

export const RESULT_PREFIX = 'SLUICE_BENCH_RESULT ';

const WARM_TIMEOUT_MS = 120000;

export type WorkerSample = LcoreTotals & { atMs: number };

export interface SluiceRunResult {
  before: WorkerSample;
  after: WorkerSample;
  warmMs: number;
  /** Resident set of this process after the run, for the memory benchmark. */
  rssBytes: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sample(s: DataplaneStats): WorkerSample {
  return { atMs: performance.now(), ...lcoreTotals(s) };
}

async function main(configPath: string, warmInserts: number, seconds: number): Promise<number> {
  const dp = new Dataplane();
  dp.start(loadConfigFile(configPath), `bench-${process.pid}`);
  try {
    const t0 = performance.now();
    await sleep(1000);
    while (sample(dp.stats()).inserts < warmInserts) {
      if (performance.now() - t0 > WARM_TIMEOUT_MS) {
        process.stderr.write(`sluice-run: ${sample(dp.stats()).inserts} of ${warmInserts} flows after warm-up\n`);
        return 4;
      }
      await sleep(50);
    }
    const warmMs = performance.now() - t0;
    const before = sample(dp.stats());
    await sleep(seconds * 1000);
    const after = sample(dp.stats());
    const result: SluiceRunResult = { before, after, warmMs, rssBytes: process.memoryUsage().rss };
    process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
    return 0;
  } finally {
    dp.stop();
  }
}

if (require.main === module) {
  const [configPath, warmText, secondsText] = process.argv.slice(2);
  const warm = Number(warmText);
  const seconds = Number(secondsText);
  if (configPath === undefined || !Number.isInteger(warm) || warm < 0 || !(seconds > 0)) {
    process.stderr.write('usage: sluice-run CONFIG WARM_INSERTS SECONDS\n');
    process.exit(2);
  }
  main(configPath, warm, seconds).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`sluice-run: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
