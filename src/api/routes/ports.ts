// /api/v1/ports: each port as the device reports it, with its counters.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../context';
import { ALWAYS, errorResponses } from '../schemas/common';
import { PortList } from '../schemas/dataplane';

export const portRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { dataplane }) => {
  app.get('/ports', {
    schema: {
      tags: ['data plane'],
      summary: 'Ports: driver, MAC, queues, link, RSS, and counters',
      response: { 200: PortList, ...errorResponses(409, ...ALWAYS) },
    },
  }, async () => {
    const stats = new Map(dataplane.stats().ports.map((p) => [p.name, p]));
    return dataplane.ports().map((p) => {
      const s = stats.get(p.name);
      return {
        ...p,
        stats: {
          rxPackets: s?.rxPackets ?? 0,
          txPackets: s?.txPackets ?? 0,
          rxBytes: s?.rxBytes ?? 0,
          txBytes: s?.txBytes ?? 0,
          rxMissed: s?.rxMissed ?? 0,
          rxErrors: s?.rxErrors ?? 0,
          txErrors: s?.txErrors ?? 0,
          rxNoMbuf: s?.rxNoMbuf ?? 0,
          xstats: s?.xstats ?? {},
          ...(s?.kernelInterface === undefined ? {} : { kernelInterface: s.kernelInterface }),
        },
      };
    });
  });
};
