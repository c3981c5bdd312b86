// /openapi.json: the OpenAPI document built from the route schemas, at a fixed
// address for client generators (the UI at /docs serves the same document).
import type { FastifyPluginAsync } from 'fastify';

export const openapiRoutes: FastifyPluginAsync = async (app) => {
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
};
