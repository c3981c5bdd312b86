// A running data plane on an in-process "ring" port: tests inject frames into the
// real worker lcores and capture what they transmit, with configuration changes
// in between. One per test process (the EAL initialises once per process).
import { nativeLimits } from '../../src/config/memory';
import { LIMIT_DEFAULTS } from '../../src/config/schema';
import { addon, type ServiceStats, type SluiceAddon } from '../../src/native/addon';
import { lcoreTotals } from '../../src/native/lcore-totals';
import { unpackService, unpackServices } from '../../src/native/service-stats';
import type { NativeBackend, NativeFragments, NativeLimits, NativeNatPool, NativeService, NativeStartConfig } from '../../src/native/types';

export const PORT_ADDRESS = '10.99.0.2';
export const CLIENT_MAC = '02:00:00:00:00:99';

export interface RingOptions {
  workers?: number;
  entriesPerLcore?: number;
  udpTimeoutSec?: number;
  tcpClosingTimeoutSec?: number;
  /** per lcore; 0 (the default here) = unlimited */
  newFlowsPerSec?: number;
  admissionBurst?: number;
  /** mbufs in the pool; 0 or absent sizes it from ports, queues and workers */
  mbufsPerSocket?: number;
  gateway?: string;
  /** the port's IPv6 address (prefix length prefixLength6, default 64) and IPv6 gateway */
  address6?: string;
  prefixLength6?: number;
  gateway6?: string;
  mtu?: number;
  natPool?: NativeNatPool;
  /** the port's own IPv4 address (default PORT_ADDRESS), /24 */
  address?: string;
  /** a TAP for the node's own traffic, in the test's network namespace */
  kernelInterface?: { name: string; packetsPerSec: number };
  /** bytes; absent ones are the config's defaults */
  limits?: Partial<NativeLimits>;
  /** absent: the data plane's defaults */
  fragments?: NativeFragments;
}

export function ringStartConfig(o: RingOptions = {}): NativeStartConfig {
  const workers = o.workers ?? 1;
  const lcores = ['0@0', ...Array.from({ length: workers }, (_, i) => `${i + 1}@1`)].join(',');
  return {
    ealArgs: ['sluice', '--lcores', lcores, '--no-huge', '-m', '512', '--no-shconf', '--file-prefix',
      `sluice-test-${process.pid}`, '--no-pci', '--log-level', 'lib.eal:warning'],
    ports: [{ name: 'p0', device: 'ring', queues: workers, address: o.address ?? PORT_ADDRESS, prefixLength: 24,
      mtu: o.mtu ?? 1500, ...(o.kernelInterface === undefined ? {} : { kernelInterface: o.kernelInterface }),
      rxDescriptors: 1024, txDescriptors: 1024, ...(o.gateway === undefined ? {} : { gateway: o.gateway }),
      ...(o.natPool === undefined ? {} : { natPool: o.natPool }),
      ...(o.address6 === undefined ? {} : { address6: o.address6, prefixLength6: o.prefixLength6 ?? 64 }),
      ...(o.gateway6 === undefined ? {} : { gateway6: o.gateway6 }) }],
    workers: Array.from({ length: workers }, (_, i) => ({ lcore: i + 1, rx: [{ port: 0, queue: i }] })),
    flowTable: { entriesPerLcore: o.entriesPerLcore ?? 65536, tcpTimeoutSec: 300,
      tcpClosingTimeoutSec: o.tcpClosingTimeoutSec ?? 10, udpTimeoutSec: o.udpTimeoutSec ?? 30,
      admission: { newFlowsPerSec: o.newFlowsPerSec ?? 0, burst: o.admissionBurst ?? 1 } },
    ...(o.fragments === undefined ? {} : { fragments: o.fragments }),
    mbufsPerSocket: o.mbufsPerSocket ?? 0,
    idleSleepMaxUs: 50,
    neighborRefreshSec: 30,
    limits: { ...nativeLimits(LIMIT_DEFAULTS), ...o.limits },
  };
}

export function backendMac(i: number): string {
  return `02:00:00:00:01:${(i + 1).toString(16).padStart(2, '0')}`;
}

export function backend(i: number, extra: Partial<NativeBackend> = {}): NativeBackend {
  return { id: i, address: `10.99.0.${11 + i}`, port: 80, weight: 100, state: 'active', healthy: true,
    mac: backendMac(i), ...extra };
}

export function service(backends: NativeBackend[], extra: Partial<NativeService> = {}): NativeService {
  return { id: 0, name: 'web', vip: '10.99.0.100', port: 80, protocol: 'tcp', forwarding: 'dsr',
    lookupTableSize: 65537, backends, ...extra };
}

/** Kept under the name the tests use. */
export const totals = lcoreTotals;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RingDataplane {
  readonly native: SluiceAddon = addon();
  readonly mac: string;

  constructor(o: RingOptions = {}) {
    this.native.start(ringStartConfig(o));
    this.mac = this.native.ports()[0].mac;
  }

  /** stats().services as the control plane reads them (Dataplane.stats()). */
  services(): ServiceStats[] {
    return unpackServices(this.native.stats().services);
  }

  /** serviceStats() as the control plane reads it (Dataplane.serviceStats(), backendStats()). */
  serviceStats(name: string, address?: string, port?: number): ServiceStats | undefined {
    return unpackService(this.native.serviceStats(name, address, port));
  }

  /** Waits until the workers have received `target` packets in all and flushed. */
  async settle(target: number, timeoutMs = 10000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (totals(this.native.stats()).rx < target) {
      if (Date.now() > deadline) throw new Error(`workers received ${totals(this.native.stats()).rx} of ${target} packets`);
      await sleep(2);
    }
    // Each loop iteration ends with a tx flush: two more iterations of every lcore
    // and all is out, also what one lcore handed to another (nat replies).
    const iterations = () => this.native.stats().lcores.map((l) => l.iterations);
    const after = iterations().map((n) => n + 2);
    while (iterations().some((n, i) => n < after[i])) await sleep(1);
  }

  /** Injects frames (spread over rx queues by index when `queue` is absent) and returns what came out. */
  async exchange(frames: Buffer[], queue?: number): Promise<Buffer[]> {
    const out: Buffer[] = [];
    const chunk = 1024;
    for (let i = 0; i < frames.length; i += chunk) {
      const part = frames.slice(i, i + chunk);
      const before = totals(this.native.stats()).rx;
      const taken = this.native.inject('p0', part, queue ?? 0);
      if (taken !== part.length) throw new Error(`ring port took ${taken} of ${part.length} frames`);
      await this.settle(before + part.length);
      out.push(...this.native.capture('p0'));
    }
    return out;
  }

  stop(): void {
    this.native.stop();
  }
}
