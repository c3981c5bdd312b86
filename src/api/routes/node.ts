// /api/v1/node: the process as a whole: what runs, whether its worker lcores
// move, and where its memory goes, by kind, as the data plane allocated it,
// beside the limits of the config's budget.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { lookupBudget } from '../../config';
import { NO_LIVENESS } from '../../control/liveness';
import type { ApiContext } from '../context';
import { ALWAYS, errorResponses } from '../schemas/common';
import { NodeView } from '../schemas/node';

/** HugetlbPages of /proc/self/status, in bytes; 0 where there is no such line. */
function hugepagesBytes(): number {
  try {
    const kb = /^HugetlbPages:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
    return kb === undefined ? 0 : Number(kb) * 1024;
  } catch {
    return 0;
  }
}

export const nodeRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { store, dataplane, liveness = NO_LIVENESS, version = 'unknown' }) => {
  app.get('/node', {
    schema: {
      tags: ['data plane'],
      summary: 'The node: host, pid, version, uptime, worker lcores alive or stuck; memory by kind',
      response: { 200: NodeView, ...errorResponses(409, ...ALWAYS) },
    },
  }, async () => {
    const m = dataplane.memory();
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const perLcore = (v4: (l: typeof m.lcores[number]) => number, v6: (l: typeof m.lcores[number]) => number) =>
      m.lcores.map((l) => ({ lcore: l.lcore, ipv4Bytes: v4(l), ipv6Bytes: v6(l) }));
    const flows = perLcore((l) => l.flowTableBytes, (l) => l.flowTable6Bytes);
    const nat = perLcore((l) => l.natSessionBytes, (l) => l.natSession6Bytes);
    const { stuck } = liveness.lcores();
    const total = m.lcores.length;
    return {
      name: hostname(),
      pid: process.pid,
      version,
      uptimeSec: Math.round(process.uptime() * 10) / 10,
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
        flowTables: { bytes: sum(flows.map((l) => l.ipv4Bytes + l.ipv6Bytes)), limitBytes: m.limits.flowTableBytes, lcores: flows },
        natSessions: { bytes: sum(nat.map((l) => l.ipv4Bytes + l.ipv6Bytes)), limitBytes: m.limits.natSessionBytes, lcores: nat },
        mbufPools: { bytes: sum(m.mempools.map((p) => p.bytes)), pools: m.mempools },
      },
    };
  });
};
