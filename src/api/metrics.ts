// Prometheus metrics. The data plane already keeps every counter (per lcore,
// plain, summed on read), so nothing here counts anything: each metric is a view
// that copies the current values in when scraped, and no timer runs between
// scrapes. One dataplane.stats() call serves a whole scrape, so every series in
// one scrape comes from the same moment.
//
// Labels are bounded by configuration, never by traffic: service, backend
// (address:port of a configured backend), lcore, port, drop reason, and the
// fixed sets state and direction, BGP peer (a configured neighbor) and vip (a
// configured service's). No label ever holds a client address.
import { Counter, Gauge, Registry } from 'prom-client';
import { NO_BGP, type BgpStatus, type BgpView } from '../bgp/view';
import type { ServiceConfig } from '../config';
import { backendKey } from '../control/backend-key';
import type { HealthView } from '../control/health-view';
import { NO_LIVENESS, type LivenessView } from '../control/liveness';
import type { NodeDrainView } from '../control/node-drain';
import type { ServiceStore } from '../control/store';
import type { Dataplane } from '../dataplane';
import type { BackendStats, DataplaneStats, KernelInterfaceStats, LcoreStats, PortInfo, PortStats, ServiceStats } from '../native/addon';
import {
  BACKEND_COUNTERS, LCORE_DROPS, LCORE_VALUES, lcoreValue, promType, SERVICE_COUNTERS, withMetric,
} from '../native/counters';
import { errorCode, liveStats } from './context';

type Label = 'version' | 'service' | 'backend' | 'lcore' | 'port' | 'reason' | 'state' | 'direction' | 'peer' | 'vip';
type Labels = Partial<Record<Label, string>>;
type Sample = readonly [Labels, number];

/** What one scrape reads. stats and ports are absent while the data plane is not running. */
interface Snapshot {
  stats?: DataplaneStats;
  ports?: PortInfo[];
  services: readonly ServiceConfig[];
  health: HealthView;
  liveness: LivenessView;
  /** the BGP speaker's state, read once per scrape */
  bgp: BgpStatus;
  /** the node drains: every VIP withdrawn */
  draining: boolean;
  /** backendKey, computed once per backend per scrape however many metrics name the backend */
  key: (b: { address: string; port: number }) => string;
}

interface Definition {
  name: string;
  help: string;
  type: 'counter' | 'gauge';
  labels: readonly Label[];
  samples: (s: Snapshot) => Iterable<Sample>;
}

const ADMIN_STATES = ['active', 'drain', 'disabled'] as const;

const counter = (name: string, help: string, labels: readonly Label[], samples: Definition['samples']): Definition =>
  ({ name, help, type: 'counter', labels, samples });
const gauge = (name: string, help: string, labels: readonly Label[], samples: Definition['samples']): Definition =>
  ({ name, help, type: 'gauge', labels, samples });

const perLcore = (type: Definition['type'], name: string, help: string, value: (l: LcoreStats) => number): Definition =>
  ({ name, help, type, labels: ['lcore'],
    samples: (s) => (s.stats?.lcores ?? []).map((l) => [{ lcore: String(l.lcore) }, value(l)] as const) });

const perPort = (name: string, help: string, value: (p: PortStats) => number): Definition =>
  counter(name, help, ['port'], (s) => (s.stats?.ports ?? []).map((p) => [{ port: p.name }, value(p)] as const));

/** Ports with a kernel interface only; `values` gives [to_kernel, from_kernel]. */
const perKernelInterface = (name: string, help: string, values: (k: KernelInterfaceStats) => [number, number]): Definition =>
  counter(name, help, ['port', 'direction'], function* (s) {
    for (const p of s.stats?.ports ?? []) {
      if (p.kernelInterface === undefined) continue;
      const [to, from] = values(p.kernelInterface);
      yield [{ port: p.name, direction: 'to_kernel' }, to];
      yield [{ port: p.name, direction: 'from_kernel' }, from];
    }
  });

const perService = (type: Definition['type'], name: string, help: string, value: (v: ServiceStats) => number): Definition =>
  ({ name, help, type, labels: ['service'],
    samples: (s) => (s.stats?.services ?? []).map((v) => [{ service: v.name }, value(v)] as const) });

const perBackend = (type: Definition['type'], name: string, help: string, value: (b: BackendStats) => number): Definition =>
  ({ name, help, type, labels: ['service', 'backend'],
    samples: function* (s) {
      for (const v of s.stats?.services ?? []) {
        for (const b of v.backends) yield [{ service: v.name, backend: s.key(b) }, value(b)];
      }
    } });

/** Per configured backend: these come from the store and the health checker, not the data plane. */
function* configuredBackends(s: Snapshot) {
  for (const svc of s.services) {
    for (const b of svc.backends) {
      const key = s.key(b);
      yield { service: svc.name, key, b, health: s.health.backend(svc.name, key) };
    }
  }
}

function definitions(version: string): Definition[] {
  return [
    gauge('sluice_build_info', 'always 1; the version label says which Sluice runs', ['version'],
      () => [[{ version }, 1]]),
    gauge('sluice_dataplane_up', '1 while the data plane runs', [], (s) => [[{}, s.stats === undefined ? 0 : 1]]),
    gauge('sluice_dataplane_generation', 'configuration generation the workers run; moves on every applied change', [],
      (s) => (s.stats === undefined ? [] : [[{}, s.stats.generation]])),
    gauge('sluice_node_draining', '1 while the node drains (every VIP withdrawn over BGP, the data plane still forwarding), else 0',
      [], (s) => [[{}, s.draining ? 1 : 0]]),
    gauge('sluice_lcore_stuck', '1 while the worker lcore\'s loop has stood still for a second (it forwards nothing), else 0',
      ['lcore'], (s) => {
        const stuck = new Set(s.liveness.lcores().stuck.map((x) => x.lcore));
        return (s.stats?.lcores ?? []).map((l) => [{ lcore: String(l.lcore) }, stuck.has(l.lcore) ? 1 : 0] as const);
      }),
    gauge('sluice_dataplane_retired_snapshots', 'old configurations waiting for workers to move past them', [],
      (s) => (s.stats === undefined ? [] : [[{}, s.stats.retiredSnapshots]])),

    // The data plane's counters: every one native/common/lcore_counters.h gives a metric.
    ...withMetric(LCORE_VALUES).map((e) => perLcore(promType(e.kind), e.metric, e.help, (l) => lcoreValue(l, e))),
    counter(LCORE_DROPS.metric, LCORE_DROPS.help, ['lcore', 'reason'], function* (s) {
      for (const l of s.stats?.lcores ?? []) {
        for (const [reason, n] of Object.entries(l.drops)) yield [{ lcore: String(l.lcore), reason }, n];
      }
    }),
    ...withMetric(SERVICE_COUNTERS).map((e) => perService(promType(e.kind), e.metric, e.help, (v) => v[e.name])),
    ...withMetric(BACKEND_COUNTERS).map((e) => perBackend(promType(e.kind), e.metric, e.help, (b) => b[e.name])),

    gauge('sluice_port_link_up', '1 when the port has link', ['port'],
      (s) => (s.ports ?? []).map((p) => [{ port: p.name }, p.link.up ? 1 : 0] as const)),
    perPort('sluice_port_rx_packets_total', 'packets the port received', (p) => p.rxPackets),
    perPort('sluice_port_rx_bytes_total', 'bytes the port received', (p) => p.rxBytes),
    perPort('sluice_port_tx_packets_total', 'packets the port transmitted', (p) => p.txPackets),
    perPort('sluice_port_tx_bytes_total', 'bytes the port transmitted', (p) => p.txBytes),
    perPort('sluice_port_rx_missed_packets_total', 'packets the NIC dropped for want of an rx descriptor',
      (p) => p.rxMissed),
    perPort('sluice_port_rx_no_mbuf_packets_total', 'packets the NIC dropped for want of an mbuf', (p) => p.rxNoMbuf),
    perPort('sluice_port_rx_errors_total', 'erroneous frames received', (p) => p.rxErrors),
    perPort('sluice_port_tx_errors_total', 'frames the port failed to transmit', (p) => p.txErrors),
    perKernelInterface('sluice_kernel_interface_frames_total', 'frames through a port\'s kernel interface, by direction',
      (k) => [k.toKernel, k.fromKernel]),
    perKernelInterface('sluice_kernel_interface_dropped_total',
      'frames a port\'s kernel interface did not pass, by direction', (k) => [k.toKernelDropped, k.fromKernelDropped]),

    gauge('sluice_backend_healthy', '0 while health checks hold the backend down, else 1 (up or unchecked)',
      ['service', 'backend'], function* (s) {
        for (const x of configuredBackends(s)) yield [{ service: x.service, backend: x.key }, x.health.status === 'down' ? 0 : 1];
      }),
    gauge('sluice_backend_admin_state', '1 for the backend\'s admin state (active, drain or disabled), 0 for the others',
      ['service', 'backend', 'state'], function* (s) {
        for (const x of configuredBackends(s)) {
          for (const state of ADMIN_STATES) yield [{ service: x.service, backend: x.key, state }, x.b.state === state ? 1 : 0];
        }
      }),
    gauge('sluice_backend_weight', 'the backend\'s configured weight', ['service', 'backend'], function* (s) {
      for (const x of configuredBackends(s)) yield [{ service: x.service, backend: x.key }, x.b.weight];
    }),
    counter('sluice_backend_health_transitions_total', 'up<->down changes since the backend was added',
      ['service', 'backend'], function* (s) {
        for (const x of configuredBackends(s)) yield [{ service: x.service, backend: x.key }, x.health.transitions];
      }),
    counter('sluice_health_transitions_total', 'health changes of all backends since start, by direction', ['direction'],
      (s) => {
        const t = s.health.totals();
        return [[{ direction: 'up' }, t.up], [{ direction: 'down' }, t.down]];
      }),
    gauge('sluice_bgp_peer_up', '1 while the BGP session with the configured neighbor is established, else 0',
      ['peer'], (s) => (s.bgp.peers ?? []).map((p) => [{ peer: p.address }, p.state === 'established' ? 1 : 0] as const)),
    gauge('sluice_bgp_vip_announced', '1 while the VIP is announced over BGP, else 0 (GET /api/v1/bgp says why)',
      ['vip'], (s) => (s.bgp.vips ?? []).map((v) => [{ vip: v.vip }, v.announced ? 1 : 0] as const)),
    counter('sluice_health_probes_total', 'health probes finished', [], (s) => [[{}, s.health.totals().probes]]),
    counter('sluice_health_probe_failures_total', 'health probes that failed', [],
      (s) => [[{}, s.health.totals().probeFailures]]),
  ];
}

export interface SluiceMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** The exposition text, every value read now. */
  scrape(): Promise<string>;
}

export function createMetrics(o: { store: ServiceStore; dataplane: Dataplane; health: HealthView; liveness?: LivenessView; bgp?: BgpView;
  nodeDrain?: Pick<NodeDrainView, 'draining'>; version: string }):
  SluiceMetrics {
  const take = (): Snapshot => {
    const stats = liveStats(o.dataplane);
    let ports: PortInfo[] | undefined;
    if (stats !== undefined) {
      try {
        ports = o.dataplane.ports();
      } catch (err) {
        // The data plane stopped between the two reads: report what was read.
        if (errorCode(err) !== 'SLUICE_NOT_RUNNING') throw err;
      }
    }
    const keys = new WeakMap<object, string>();
    const key = (b: { address: string; port: number }): string => {
      let k = keys.get(b);
      if (k === undefined) keys.set(b, (k = backendKey(b)));
      return k;
    };
    return { stats, ports, services: o.store.list(), health: o.health, liveness: o.liveness ?? NO_LIVENESS,
      bgp: (o.bgp ?? NO_BGP).status(), draining: o.nodeDrain?.draining() ?? false, key };
  };
  // prom-client runs every collect() synchronously inside registry.metrics(), so
  // the snapshot taken just before serves them all; the fallback covers anyone
  // calling registry.metrics() directly.
  let current: Snapshot | undefined;
  const snapshot = () => current ?? take();

  // Not the global registry: each app (and each test) gets its own.
  const registry = new Registry();
  for (const d of definitions(o.version)) {
    const common = { name: d.name, help: d.help, labelNames: d.labels, registers: [registry] };
    if (d.type === 'counter') {
      // Counters have no set(): reset, then add the absolute value. Series of
      // removed services and backends disappear with the reset.
      new Counter({ ...common, collect() {
        this.reset();
        for (const [labels, value] of d.samples(snapshot())) this.inc(labels, value);
      } });
    } else {
      new Gauge({ ...common, collect() {
        this.reset();
        for (const [labels, value] of d.samples(snapshot())) this.set(labels, value);
      } });
    }
  }

  return {
    registry,
    contentType: registry.contentType,
    async scrape() {
      current = take();
      try {
        return await registry.metrics();
      } finally {
        current = undefined;
      }
    },
  };
}
