// Forwarders that do less than Sluice, on the same pcap, core and pool
// (native/bench/table_ceiling): with `table`, one that keeps Sluice's flow table
// and rewrites MACs and nothing else, the ceiling of any mode that remembers
// flows in it; with `floor` too, one that reads a random line per packet in its
// place, the ceiling of any table; without, one that keeps no state at all.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { resolve } from 'node:path';
import { DPDK_RUNTIME_ROOT } from '../../src/runtime-dirs';
import { replayDevice } from './sluice-config';

const ROOT = resolve(__dirname, '../../..');
const BINARY = 'native/bench/build/table_ceiling';
const PREFIX = `sluice-bench-ceiling-${process.pid}`;
/** Warm-up (up to 120 s in the binary) and the timed seconds, with room to spare. */
const TIMEOUT_MS = 300000;

export interface CeilingOptions {
  pcap: string;
  flows: number;
  /** EAL core list: main, worker. */
  cores: string;
  /** the pool, which the PMD fills with the pcap's frames: as testpmd's --total-num-mbufs */
  mbufs: number;
  memoryMb: number;
  hugepages: boolean;
  seconds: number;
  /** false: no flow table, the backend is taken from the 5-tuple's hash */
  table: boolean;
  /** with `table`: one random line per packet instead of the table, the least any table costs */
  floor?: boolean;
}

export interface CeilingResult {
  command: string;
  mpps: number;
  inserts: number;
}

/** Builds the binary (with burst_bench) when it is missing or stale. */
export function buildCeiling(): void {
  execFileSync('bash', ['scripts/build-burst-bench.sh'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

export function ceilingArgs(o: CeilingOptions): string[] {
  return [
    '-l', o.cores, ...(o.hugepages ? ['--in-memory'] : ['--no-huge']), '-m', String(o.memoryMb), '--no-pci',
    '--file-prefix', PREFIX, '--vdev', replayDevice(o.pcap), '--',
    '--flows', String(o.flows), '--mbufs', String(o.mbufs), '--seconds', String(o.seconds), ...(o.table ? [] : ['--no-table']),
    ...(o.table && o.floor ? ['--floor'] : []),
  ];
}

export function runCeiling(o: CeilingOptions): Promise<CeilingResult> {
  const args = ceilingArgs(o);
  const command = [BINARY, ...args].join(' ');
  return new Promise((res, rej) => {
    execFile(resolve(ROOT, BINARY), args, { cwd: ROOT, timeout: TIMEOUT_MS }, (err, stdout, stderr) => {
      // The EAL's cleanup leaves its runtime directory behind, as testpmd's does.
      fs.rmSync(`${DPDK_RUNTIME_ROOT}/${PREFIX}`, { recursive: true, force: true });
      const line = stdout.trim().split('\n').pop() ?? '';
      if (err || !line.startsWith('{')) {
        rej(new Error(`table_ceiling failed (${err?.message ?? 'no result'}): ${stderr.slice(-2000)}`));
        return;
      }
      const r = JSON.parse(line) as { mpps: number; inserts: number };
      res({ command, mpps: r.mpps, inserts: r.inserts });
    });
  });
}
