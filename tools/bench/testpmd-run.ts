// The ceiling: dpdk-testpmd's 5tswap forwarding on the same pcap and core as
// Sluice; and the floor under both: rxonly, the PMD's receive and free alone.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { DPDK_RUNTIME_ROOT } from '../../src/runtime-dirs';
import { replayDevice } from './sluice-config';

const PREFIX = `sluice-bench-testpmd-${process.pid}`;

export interface TestpmdOptions {
  /** One pcap per rx queue. */
  pcap: string | string[];
  /** EAL --lcores-style core list: main, forwarding. */
  cores: string;
  mbufs: number;
  memoryMb: number;
  hugepages: boolean;
  /** Samples (one per second) to skip while the pcap loads and the rate settles. */
  skip: number;
  samples: number;
  /** 5tswap: swap MACs, IP addresses and ports, transmit; rxonly: receive and free. */
  forwardMode: '5tswap' | 'rxonly';
  /** The device's rx queues (one per pcap), spread over the forwarding cores; default 1. */
  queues?: number;
}

export interface TestpmdResult {
  command: string;
  rxPps: number[];
  mpps: number;
}

// --in-memory with hugepages: no map files are left in /dev/hugepages holding the
// pages after testpmd exits.
export function testpmdArgs(o: TestpmdOptions): string[] {
  const queues = o.queues ?? 1;
  return [
    '-l', o.cores, ...(o.hugepages ? ['--in-memory'] : ['--no-huge']), '-m', String(o.memoryMb), '--no-pci', '--file-prefix', PREFIX,
    '--vdev', replayDevice(o.pcap), '--',
    `--forward-mode=${o.forwardMode}`, `--nb-cores=${o.cores.split(',').length - 1}`,
    ...(queues > 1 ? [`--rxq=${queues}`, `--txq=${queues}`] : []), '--stats-period', '1', `--total-num-mbufs=${o.mbufs}`,
  ];
}

/** Runs testpmd until it has printed skip + samples rates, then stops it with SIGINT. */
export function runTestpmd(o: TestpmdOptions, timeoutMs = 180000): Promise<TestpmdResult> {
  const args = testpmdArgs(o);
  const command = ['dpdk-testpmd', ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('dpdk-testpmd', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const rates: number[] = [];
    let done = false;
    const timer = setTimeout(() => finish(new Error(`testpmd: ${rates.length} rates in ${timeoutMs} ms`)), timeoutMs);
    function finish(e?: Error): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      // Settled only once testpmd has exited: until then it holds its memory
      // (hugepages), which the next run needs.
      const settle = () => {
        if (e) {
          reject(e);
          return;
        }
        const kept = rates.slice(o.skip, o.skip + o.samples);
        resolve({ command, rxPps: kept, mpps: kept.reduce((a, v) => a + v, 0) / kept.length / 1e6 });
      };
      if (child.exitCode !== null || child.signalCode !== null) {
        settle();
        return;
      }
      child.once('exit', settle);
      child.kill('SIGINT');
    }
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const lines = out.split('\n');
      out = lines.pop() ?? '';
      for (const line of lines) {
        const m = /Rx-pps:\s+(\d+)/.exec(line);
        // The first report after start covers no interval and reads 0.
        if (m && Number(m[1]) > 0) rates.push(Number(m[1]));
      }
      if (rates.length >= o.skip + o.samples) finish();
    });
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => {
      // testpmd's EAL cleanup leaves its runtime directory behind.
      fs.rmSync(`${DPDK_RUNTIME_ROOT}/${PREFIX}`, { recursive: true, force: true });
      if (!done) finish(new Error(`testpmd exited with ${code} before reporting: ${err.slice(-2000)}`));
    });
  });
}
