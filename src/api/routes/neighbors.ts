// /api/v1/neighbors: next hops the data plane resolves (ARP for IPv4, neighbor
// discovery for IPv6) and neighbors it learned on the way.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { ApiContext } from '../context';
import { ALWAYS, errorResponses } from '../schemas/common';
import { NeighborList } from '../schemas/neighbors';

export const neighborRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { dataplane }) => {
  app.get('/neighbors', {
    schema: {
      tags: ['data plane'],
      summary: 'Neighbors: IPv4 (ARP) and IPv6 (neighbor discovery) next hops, resolved or not',
      response: { 200: NeighborList, ...errorResponses(409, ...ALWAYS) },
    },
  }, async () => dataplane.neighbors());
};
