// /healthz and /readyz for whatever supervises the process. Liveness says only
// that the process serves HTTP; readiness says traffic can flow: the data plane
// runs and every port has link.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../context';
import { errorCode } from '../context';
import { ALWAYS, errorResponses } from '../schemas/common';
import { Live, NotReady, Ready } from '../schemas/probes';

export const probeRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { dataplane }) => {
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
      summary: 'Readiness: 200 when the data plane runs and every port link is up',
      response: { 200: Ready, 503: NotReady, ...errorResponses(...ALWAYS) },
    },
  }, async (_req, reply) => {
    let ports;
    try {
      ports = dataplane.ports();
    } catch (err) {
      if (errorCode(err) !== 'SLUICE_NOT_RUNNING') throw err;
      return reply.code(503).send({ status: 'not ready', reason: 'the data plane is not running', portsDown: [] });
    }
    const down = ports.filter((p) => !p.link.up).map((p) => p.name);
    if (down.length > 0) {
      return reply.code(503).send({ status: 'not ready', reason: `link down on ${down.join(', ')}`, portsDown: down });
    }
    return { status: 'ready' as const };
  });
};
