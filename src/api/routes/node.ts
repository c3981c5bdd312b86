// /api/v1/node: the process as a whole: what runs, whether it drains and the
// flows it still holds, whether its worker lcores move, and where its memory
// goes, by kind, as the data plane allocated it, beside the limits of the
// config's budget. POST /node/drain and /node/undrain change the drain state;
// each answers once the BGP speaker has applied it.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { lookupBudget } from '../../config';
import { flowsRemaining } from '../../control/drain-on-stop';
import { NO_LIVENESS } from '../../control/liveness';
import type { NodeDrain, NodeDrainStatus } from '../../control/node-drain';
import type { Dataplane } from '../../dataplane';
import { SluiceError } from '../../errors';
import { errorCode, type ApiContext } from '../context';
import { ALWAYS, errorResponses } from '../schemas/common';
import { NodeDrainView, NodeView } from '../schemas/node';

/** HugetlbPages of /proc/self/status, in bytes; 0 where there is no such line. */
function hugepagesBytes(): number {
  try {
    const kb = /^HugetlbPages:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

/** The drain state and the flows left, as GET /node and the drain routes give them. */
function drainView(status: NodeDrainStatus, dataplane: Dataplane) {
  let flows;
  try {
    flows = flowsRemaining(dataplane.lcores());
  } catch (err) {
    if (errorCode(err) !== 'SLUICE_NOT_RUNNING') throw err;
  }
  return {
    state: status.state,
    ...(status.sinceMs === undefined ? {} : {
      drainingSince: new Date(status.sinceMs).toISOString(),
      drainingForSec: Math.max(0, Math.round((Date.now() - status.sinceMs) / 100) / 10),
      drainedBy: status.by,
    }),
    ...(flows === undefined ? {} : { flows }),
  };
}

export const nodeRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { store, dataplane, liveness = NO_LIVENESS, version = 'unknown', nodeDrain, bgp }) => {
  const control = (): NodeDrain => {
    if (nodeDrain === undefined) throw new SluiceError('SLUICE_NOT_FOUND', 'this API was started without a node to drain');
    return nodeDrain;
  };
  // Answered once the speaker has applied the change (its withdrawals or announcements sent to gobgpd).
  const applied = async () => {
    await bgp?.settled?.();
    return drainView(control().status(), dataplane);
  };

  app.post('/node/drain', {
    schema: {
      tags: ['data plane'],
      summary: 'Drain the node: withdraw every VIP over BGP; the data plane keeps forwarding what still arrives',
      description: 'Idempotent: a draining node answers 200 with its state, the time its drain began unchanged. Answered once '
        + 'the BGP speaker has withdrawn the VIPs. Not kept across a restart: a restarted node is active.',
      response: { 200: NodeDrainView, ...errorResponses(404, ...ALWAYS) },
    },
  }, async () => {
    control().drain('api');
    return applied();
  });

  app.post('/node/undrain', {
    schema: {
      tags: ['data plane'],
      summary: 'Undrain the node: its VIPs announced again as the bgp.announce policy says',
      description: 'Idempotent: an active node answers 200 with its state. Refused with 503 SLUICE_SHUTTING_DOWN while a stop '
        + 'signal drains the node.',
      response: { 200: NodeDrainView, ...errorResponses(404, 503, ...ALWAYS) },
    },
  }, async () => {
    control().undrain();
    return applied();
  });

  app.get('/node', {
    schema: {
      tags: ['data plane'],
      summary: 'The node: host, pid, version, uptime, active or draining, flows left per lcore, worker lcores alive or stuck; memory by kind',
      response: { 200: NodeView, ...errorResponses(409, ...ALWAYS) },
    },
  }, async () => {
    const m = dataplane.memory();
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const perLcore = (v4: (l: typeof m.lcores[number]) => number, v6: (l: typeof m.lcores[number]) => number) =>
      m.lcores.map((l) => ({ lcore: l.lcore, ipv4Bytes: v4(l), ipv6Bytes: v6(l) }));
    const flows = m.lcores.map((l) => ({ lcore: l.lcore, ipv4Bytes: l.flowTableBytes, ipv6Bytes: l.flowTable6Bytes,
      fragmentBytes: l.fragmentTableBytes }));
    const nat = perLcore((l) => l.natSessionBytes, (l) => l.natSession6Bytes);
    const { stuck } = liveness.lcores();
    const total = m.lcores.length;
    return {
      name: hostname(),
      pid: process.pid,
      version,
      uptimeSec: Math.round(process.uptime() * 10) / 10,
      ...drainView(nodeDrain?.status() ?? { state: 'active' }, dataplane),
      lcores: { total, alive: total - stuck.length, stuck: stuck.map((s) => ({ lcore: s.lcore, stillForSec: s.stillForMs / 1000 })) },
      memory: {
        residentBytes: process.memoryUsage.rss(),
        hugepagesBytes: hugepagesBytes(),
        lookupTables: {
          tables: m.lookupTables.tables,
          bytes: m.lookupTables.bytes,
          reserveBytes: lookupBudget(store.list()).reserveBytes,
          retiredBytes: Math.max(0, m.lookupTables.liveBytes - m.lookupTables.bytes),
          limitBytes: m.limits.lookupTableBytes,
        },
        flowTables: { bytes: sum(flows.map((l) => l.ipv4Bytes + l.ipv6Bytes + l.fragmentBytes)), limitBytes: m.limits.flowTableBytes, lcores: flows },
        natSessions: { bytes: sum(nat.map((l) => l.ipv4Bytes + l.ipv6Bytes)), limitBytes: m.limits.natSessionBytes, lcores: nat },
        mbufPools: { bytes: sum(m.mempools.map((p) => p.bytes)), pools: m.mempools },
      },
    };
  });
};
