// One "node" for test/dataplane/identical-picks: in its own process (the EAL
// starts once per process), a ring-port data plane whose one UDP service is
// built through the REST API by the history it is given, then sent the same
// flows as every other node; it prints, per flow, the backend it picked.
//   node dist/test/helpers/pick-node.js '{"initial": [...], "history": [...], "flows": N, "seed": S}'
import { addon } from '../../src/native/addon';
import { lcoreTotals } from '../../src/native/lcore-totals';
import * as pk from './packets';
import { startRingApi } from './ring-api';

export const VIP = '10.99.0.100';
/** a backend's MAC tells which one a frame went to */
export const macOf = (address: string) => `02:00:00:00:01:${Number(address.split('.')[3]).toString(16).padStart(2, '0')}`;

export type HistoryStep =
  | { add: string; weight?: number }
  | { remove: string }
  | { weight: string; to: number };

export interface PickNode {
  /** the backends the config file starts with, in this order */
  initial: string[];
  /** then these changes, through the REST API, one after another */
  history: HistoryStep[];
  flows: number;
  seed: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function main(spec: PickNode): Promise<void> {
  const api = await startRingApi({
    eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 512 },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
    flowTable: { entriesPerLcore: 262144 },
    dataplane: { idleSleepMaxUs: 50 },
    services: [{ name: 'dns', vip: VIP, port: 53, protocol: 'udp', healthCheck: { type: 'none' },
      backends: spec.initial.map((address) => ({ address, port: 53, mac: macOf(address) })) }],
  }, `pick-${process.pid}`);
  try {
    for (const step of spec.history) {
      const res = 'add' in step
        ? await api.app.inject({ method: 'POST', url: '/api/v1/services/dns/backends',
          payload: { address: step.add, port: 53, mac: macOf(step.add), ...(step.weight === undefined ? {} : { weight: step.weight }) } })
        : 'remove' in step
          ? await api.app.inject({ method: 'DELETE', url: `/api/v1/services/dns/backends/${step.remove}:53` })
          : await api.app.inject({ method: 'PATCH', url: `/api/v1/services/dns/backends/${step.weight}:53`, payload: { weight: step.to } });
      if (res.statusCode >= 300) throw new Error(`${JSON.stringify(step)}: ${res.statusCode} ${res.body}`);
    }
    await sleep(50);  // the last change reaches the lcore on the next turn
    const native = addon();
    const mac = native.ports()[0].mac;
    const flows = pk.randomFlows(spec.flows, spec.seed, { vip: VIP, vport: 53, proto: 'udp', clientNet: '172.16.0.0/12' });
    const picked = new Map<string, string>();
    for (let i = 0; i < flows.length; i += 1024) {
      const part = flows.slice(i, i + 1024).map((f) => pk.udpFrame({ srcMac: '02:00:00:00:00:99', dstMac: mac, src: f.src,
        dst: VIP, sport: f.sport, dport: 53, payload: Buffer.from('q') }));
      const before = lcoreTotals(native.stats()).rx;
      if (native.inject('p0', part) !== part.length) throw new Error('the ring port took fewer frames');
      while (lcoreTotals(native.stats()).rx < before + part.length) await sleep(1);
      const target = native.stats().lcores.map((l) => l.iterations + 2);
      while (native.stats().lcores.some((l, j) => l.iterations < target[j])) await sleep(1);
      for (const frame of native.capture('p0')) {
        const d = pk.decodeFrame(frame);
        picked.set(`${d.ipv4?.src}:${d.udp?.sport}`, d.dstMac ?? '?');
      }
    }
    process.stdout.write(JSON.stringify(flows.map((f) => picked.get(`${f.src}:${f.sport}`) ?? 'none')));
  } finally {
    await api.close();
  }
}

main(JSON.parse(process.argv[2]) as PickNode).catch((err) => {
  console.error(err);
  process.exit(1);
});
