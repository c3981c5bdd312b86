// Builds the dashboard's snapshot (src/dashboard/snapshot.ts) from one read of
// the data plane's counters: the services through the API's own view builders
// (views.ts) and rate sampler (control/rates.ts), the ports, lcores and drops
// as differences from the previous build. Each build is one stats() call and
// one ports() call whatever the number of services, so its cost is the API's
// GET /services plus a little.
import { hostname } from 'node:os';
import type { BgpView } from '../bgp/view';
import type { DrainView } from '../control/drain-watch';
import type { HealthView } from '../control/health-view';
import type { NodeDrainView } from '../control/node-drain';
import { RateSampler, type RatesView } from '../control/rates';
import type { ServiceStore } from '../control/store';
import type { Dataplane } from '../dataplane';
import type { BackendSnapshot, LcoreSnapshot, PortSnapshot, ServiceSnapshot, Snapshot } from '../dashboard/snapshot';
import type { DataplaneStats, PortInfo } from '../native/addon';
import { errorCode } from './context';
import { serviceViews, type ServiceBody } from './views';

export interface SnapshotSources {
  store: ServiceStore;
  dataplane: Dataplane;
  health: HealthView;
  drains?: DrainView;
  /** the daemon's sampler; absent: the builder samples the rates itself, from its own reads */
  rates?: RatesView;
  bgp?: BgpView;
  nodeDrain?: Pick<NodeDrainView, 'status'>;
  version?: string;
}

interface Read {
  at: number;
  stats: DataplaneStats;
}

export class SnapshotBuilder {
  private prev: Read | undefined;
  private readonly ownRates: RateSampler | undefined;
  private last: DataplaneStats | undefined;
  /** the time of the read being built from, which the own rate sampler takes as its own */
  private readAt = 0;
  /** builds so far: what tests count to see that clients share them */
  builds = 0;

  constructor(private readonly src: SnapshotSources, private readonly clock: () => number = () => performance.now()) {
    // Fed from the stats this builder has already read, at their time, so it
    // adds no read of its own and its rates span the same interval as the rest.
    if (src.rates === undefined) this.ownRates = new RateSampler({ services: () => this.running().services }, 1000, () => this.readAt);
  }

  build(): Snapshot {
    this.builds++;
    const at = this.clock();
    this.readAt = at;
    let stats: DataplaneStats | undefined;
    let ports: PortInfo[] = [];
    try {
      stats = this.src.dataplane.stats();
      ports = this.src.dataplane.ports();
    } catch (err) {
      if (errorCode(err) !== 'SLUICE_NOT_RUNNING') throw err;
    }
    this.last = stats;
    this.ownRates?.sample();
    const prev = this.prev;
    this.prev = stats === undefined ? undefined : { at, stats };
    const sec = prev === undefined || stats === undefined ? 0 : (at - prev.at) / 1000;
    const rate = (now: number, before: number | undefined): number | undefined =>
      before === undefined || !(sec > 0) || now < before ? undefined : (now - before) / sec;

    const rates = this.src.rates ?? this.ownRates;
    const views = serviceViews(this.src.store.list(), this.src.health, stats, this.src.drains, rates);
    const services = views.map(serviceSnapshot);
    const lcores = (stats?.lcores ?? []).map((l, i): LcoreSnapshot => {
      const p = prev?.stats.lcores[i];
      const busy = p === undefined ? undefined : rate(l.busyCycles, p.busyCycles);
      const idle = p === undefined ? undefined : rate(l.idleCycles, p.idleCycles);
      return {
        lcore: l.lcore,
        busy: busy !== undefined && idle !== undefined && busy + idle > 0 ? busy / (busy + idle) : l.busyRatio,
        ...defined('rxPps', rate(l.rxPackets, p?.rxPackets)),
        flows: l.flows.active,
        natSessions: l.nat.sessionsActive,
        natCapacity: l.nat.sessionsCapacity,
      };
    });
    const linkOf = new Map(ports.map((p) => [p.name, p.link]));
    const portSnaps = (stats?.ports ?? []).map((p, i): PortSnapshot => {
      const q = prev?.stats.ports[i]?.name === p.name ? prev.stats.ports[i] : undefined;
      const link = linkOf.get(p.name);
      return {
        name: p.name, linkUp: link?.up ?? false, speedMbps: link?.speedMbps ?? 0, rxMissed: p.rxMissed,
        ...defined('rxPps', rate(p.rxPackets, q?.rxPackets)),
        ...defined('txPps', rate(p.txPackets, q?.txPackets)),
        ...defined('missedPps', rate(p.rxMissed, q?.rxMissed)),
      };
    });

    const drops: Record<string, number> = {};
    let dropsPerSec: number | undefined;
    if (stats !== undefined && prev !== undefined) {
      for (const [reason, n] of Object.entries(sumDrops(stats))) {
        const r = rate(n, sumDrops(prev.stats)[reason] ?? 0);
        if (r === undefined) continue;
        dropsPerSec = (dropsPerSec ?? 0) + r;
        if (r > 0) drops[reason] = r;
      }
    }
    const sum = (xs: (number | undefined)[]) => (xs.some((x) => x !== undefined) ? xs.reduce<number>((a, x) => a + (x ?? 0), 0) : undefined);
    const refused = total(stats, (l) => l.flows.admissionRefused);
    const protectedNow = total(stats, (l) => l.flows.admissionProtected);
    const bgp = this.src.bgp?.status();
    const drain = this.src.nodeDrain?.status();
    return {
      at: Date.now(),
      intervalSec: sec,
      node: {
        name: hostname(),
        version: this.src.version ?? 'unknown',
        uptimeSec: Math.round(process.uptime()),
        state: drain?.state ?? 'active',
        running: stats !== undefined,
      },
      ports: portSnaps,
      lcores,
      totals: {
        ...defined('rxPps', sum(lcores.map((l) => l.rxPps))),
        ...defined('newFlowsPerSec', sum(services.map((s) => s.newFlowsPerSec))),
        ...defined('dropsPerSec', dropsPerSec),
      },
      drops,
      admission: {
        refused,
        ...defined('refusedPerSec', prev === undefined ? undefined : rate(refused, total(prev.stats, (l) => l.flows.admissionRefused))),
        ...defined('protectedPerSec', prev === undefined ? undefined : rate(protectedNow, total(prev.stats, (l) => l.flows.admissionProtected))),
      },
      services,
      ...(bgp?.enabled ? {
        bgp: {
          ...(bgp.speaker === undefined ? {} : { speaker: bgp.speaker }),
          peers: (bgp.peers ?? []).map((p) => ({ address: p.address, asn: p.asn, state: p.state, ...defined('uptimeSec', p.uptimeSec) })),
          vips: (bgp.vips ?? []).map((v) => ({ vip: v.prefix, announced: v.announced, reason: v.reason })),
        },
      } : {}),
    };
  }

  private running(): DataplaneStats {
    if (this.last === undefined) throw new Error('the data plane does not run');
    return this.last;
  }
}

function serviceSnapshot(s: ServiceBody): ServiceSnapshot {
  const backends = s.backends.map((b): BackendSnapshot => ({
    key: b.key,
    state: b.state,
    weight: b.weight,
    health: b.health.status,
    ...defined('lastProbeAt', b.health.lastProbeAt),
    ...defined('lastError', b.health.lastError),
    ...defined('activeFlows', b.stats?.activeFlows),
    ...defined('pps', b.rates?.packetsPerSec),
    ...defined('newFlowsPerSec', b.rates?.newFlowsPerSec),
    ...defined('emptySince', b.emptySince),
  }));
  return {
    name: s.name, vip: s.vip, port: s.port, protocol: s.protocol, forwarding: s.forwarding,
    ...defined('pps', s.rates?.packetsPerSec),
    ...defined('bps', s.rates?.bytesPerSec),
    ...defined('newFlowsPerSec', s.rates?.newFlowsPerSec),
    ...defined('activeFlows', s.stats?.activeFlows),
    backendsUp: backends.filter((b) => b.state === 'active' && b.health !== 'down' && b.health !== 'unknown').length,
    backends,
  };
}

/** `{[k]: v}`, or nothing for undefined: the snapshot leaves out what is unknown rather than sending null. */
function defined<K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [k]: v }) as { [P in K]?: V };
}

function sumDrops(s: DataplaneStats): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of s.lcores) for (const [reason, n] of Object.entries(l.drops)) out[reason] = (out[reason] ?? 0) + n;
  return out;
}

function total(s: DataplaneStats | undefined, f: (l: DataplaneStats['lcores'][number]) => number): number {
  return (s?.lcores ?? []).reduce((a, l) => a + f(l), 0);
}
