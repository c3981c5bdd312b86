// The Sluice config a benchmark run uses: one pcap (or null) port, one worker (or,
// for the scaling run, one per queue) on its own core that busy-polls, one
// service (dsr, tunnel or nat) with static backend
// MACs so no ARP is needed. Hugepages when the benchmark could reserve them
// (hugepages.ts), else ordinary memory sized to what the run preloads.
export const BENCH_VIP = '10.99.0.100';
export const BENCH_PORT = 80;
/** testpmd on the cores of a one-worker run (benchLcores(1, ...)): main 0, forwarding 1. */
export const TESTPMD_CORES = '0,1';

/**
 * The pcap port every benchmark replays from: one rx queue per pcap, each
 * preloaded and replayed over and over (`infinite_rx`); transmit is dropped.
 */
export function replayDevice(pcaps: string | string[]): string {
  return `net_pcap0,${[pcaps].flat().map((p) => `rx_pcap=${p}`).join(',')},infinite_rx=1`;
}

/**
 * The main lcore on core 0 (Node and the control plane) and `workers` worker
 * lcores, one a core from core 1; those beyond the machine's last core share it
 * (runs that check the set-up, not its speed).
 */
export function benchLcores(workers: number, cores: number): string {
  return Array.from({ length: workers + 1 }, (_, i) => `${i}@${Math.min(i, cores - 1)}`).join(',');
}

/** testpmd's core list for as many forwarding cores as Sluice's workers (`-l` takes each core once). */
export function testpmdCores(workers: number, cores: number): string {
  return Array.from({ length: Math.min(workers, cores - 1) + 1 }, (_, i) => i).join(',');
}

/**
 * A pktmbuf (2 KiB data room, headroom, header) is ~2.4 KiB, and under --no-huge
 * the mempool keeps objects within 4 KiB pages, so each takes a page.
 */
const MBUF_BYTES_SMALL_PAGES = 4096;
const MBUF_BYTES_HUGEPAGES = 2560;
/** Generous per-flow allowance for sizing memory only; the measured figure is in the memory benchmark. */
const FLOW_BYTES_ALLOWANCE = 160;
const BASE_MB = 512;
/** nat: a session and its index entry per flow, on top of the flow allowance. */
const NAT_SESSION_BYTES_ALLOWANCE = 256;
/** nat: 126 pool addresses of 64512 ports each, more pairs than any run has flows (the sweep's 4M). */
export const BENCH_NAT_POOL = '10.99.0.128/25';
const BENCH_NAT_BACKEND_PORT = 8080;

export interface BenchRun {
  device: string;
  entriesPerLcore: number;
  /** Packets the pcap PMD preloads (infinite_rx); 0 for a null device. */
  preload: number;
  hugepages: boolean;
  forwarding?: 'dsr' | 'tunnel' | 'nat';
  /** Worker lcores, each polling its own rx queue of the port (one `rx_pcap` each); default 1. */
  workers?: number;
  /** The machine's cores, for benchLcores; default: one more than the workers. */
  cores?: number;
  /** flowTable.admission.newFlowsPerSec; 0 (the default here) = unlimited */
  newFlowsPerSec?: number;
}

export function mbufsFor(run: BenchRun): number {
  return run.preload + 16384 * (run.workers ?? 1);
}

export function memoryMbFor(run: BenchRun): number {
  const mbuf = run.hugepages ? MBUF_BYTES_HUGEPAGES : MBUF_BYTES_SMALL_PAGES;
  const perFlow = FLOW_BYTES_ALLOWANCE + (run.forwarding === 'nat' ? NAT_SESSION_BYTES_ALLOWANCE : 0);
  const bytes = mbufsFor(run) * mbuf + run.entriesPerLcore * (run.workers ?? 1) * perFlow;
  return BASE_MB + Math.ceil(bytes / 2 ** 20);
}

export function benchConfig(run: BenchRun): object {
  const nat = run.forwarding === 'nat';
  const workers = run.workers ?? 1;
  return {
    eal: { lcores: benchLcores(workers, run.cores ?? workers + 1), hugepages: run.hugepages, memoryMb: memoryMbFor(run) },
    ports: [{ name: 'p0', device: run.device, address: '10.99.0.2/24', ...(workers > 1 ? { queues: workers } : {}),
      ...(nat ? { natPool: { addresses: [BENCH_NAT_POOL] } } : {}) }],
    // Admission unlimited unless asked: most runs measure the table, not the limiter.
    flowTable: { entriesPerLcore: run.entriesPerLcore, admission: { newFlowsPerSec: run.newFlowsPerSec ?? 0 } },
    dataplane: { idleSleepMaxUs: 0, mbufsPerSocket: mbufsFor(run) },
    services: [
      {
        name: 'web', vip: BENCH_VIP, port: BENCH_PORT, protocol: 'tcp', forwarding: run.forwarding ?? 'dsr',
        backends: Array.from({ length: 8 }, (_, i) => ({
          address: `10.99.0.${11 + i}`, port: nat ? BENCH_NAT_BACKEND_PORT : BENCH_PORT, mac: `02:00:00:00:00:${(0x11 + i).toString(16)}`,
        })),
      },
    ],
  };
}
