// /metrics: Prometheus text, gathered from the data plane at scrape time.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { SluiceMetrics } from '../metrics';
import { ALWAYS, errorResponses } from '../schemas/common';

export const metricsRoutes: FastifyPluginAsyncTypebox<{ metrics: SluiceMetrics }> = async (app, { metrics }) => {
  app.get('/metrics', {
    schema: {
      tags: ['metrics'],
      summary: 'Prometheus metrics (text exposition format 0.0.4)',
      response: {
        200: {
          description: 'one sample per line; metric names start with sluice_',
          content: { 'text/plain': { schema: Type.String() } },
        },
        ...errorResponses(...ALWAYS),
      },
    },
  }, async (_req, reply) => {
    const text = await metrics.scrape();
    return reply.type(metrics.contentType).send(text);
  });
};
