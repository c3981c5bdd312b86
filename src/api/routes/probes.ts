// /healthz and /readyz for whatever supervises the process. Liveness says only
// that the process serves HTTP; readiness says traffic can flow: the data plane
// runs, every port has link and every worker lcore's loop moves.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { NO_LIVENESS } from '../../control/liveness';
import type { ApiContext } from '../context';
import { errorCode } from '../context';
import { ALWAYS, errorResponses } from '../schemas/common';
import { Live, NotReady, Ready } from '../schemas/probes';

export const probeRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { dataplane, liveness = NO_LIVENESS }) => {
  app.get('/healthz', {
    schema: {
      tags: ['probes'],
      summary: 'Liveness: 200 while the process serves; needs no token',
      security: [],
      response: { 200: Live, ...errorResponses(500) },
    },
  }, async () => ({ status: 'ok' as const }));

  app.get('/readyz', {
    schema: {
      tags: ['probes'],
      summary: 'Readiness: 200 when the data plane runs, every port link is up and every worker lcore\'s loop moves',
      response: { 200: Ready, 503: NotReady, ...errorResponses(...ALWAYS) },
    },
  }, async (_req, reply) => {
    let ports;
    try {
      ports = dataplane.ports();
    } catch (err) {
      if (errorCode(err) !== 'SLUICE_NOT_RUNNING') throw err;
      return reply.code(503).send({ status: 'not ready', reason: 'the data plane is not running', portsDown: [], lcoresStuck: [] });
    }
    const down = ports.filter((p) => !p.link.up).map((p) => p.name);
    if (down.length > 0) {
      return reply.code(503).send({ status: 'not ready', reason: `link down on ${down.join(', ')}`, portsDown: down, lcoresStuck: [] });
    }
    const stuck = liveness.lcores().stuck;
    if (stuck.length > 0) {
      const which = stuck.map((s) => `lcore ${s.lcore} (${(s.stillForMs / 1000).toFixed(1)} s)`).join(', ');
      return reply.code(503).send({ status: 'not ready', reason: `stuck worker ${which}: its loop stopped moving`, portsDown: [],
        lcoresStuck: stuck.map((s) => s.lcore) });
    }
    return { status: 'ready' as const };
  });
};
