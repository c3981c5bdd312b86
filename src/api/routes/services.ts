// /api/v1/services: the services as a collection. Every change goes through the
// store, which validates the whole desired state before the data plane sees it,
// and is answered once the store has it in the state file (persisted()).
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { audit, serviceSummary } from '../audit';
import type { ApiContext } from '../context';
import { liveServiceStats, liveStats } from '../context';
import { ALWAYS, errorResponses, NoContent, ServiceParams } from '../schemas/common';
import { CreateServiceBody, ReplaceServiceBody, ServiceList, ServiceView } from '../schemas/services';
import { sendJsonChunks } from '../json-stream';
import { serviceViewChunks, serviceViewsChunks } from '../views';

const tags = ['services'];

export const serviceRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { store, dataplane, health, drains, rates }) => {
  app.get('/services', {
    schema: {
      tags,
      summary: 'List services with their backends, health and counters',
      response: { 200: ServiceList, ...errorResponses(...ALWAYS) },
    },
  }, async (_req, reply) => {
    // As text made from kept texts, in chunks: a list of 1,024 services and thousands of backends (views.ts).
    return sendJsonChunks(reply, serviceViewsChunks(store.list(), health, liveStats(dataplane), drains, rates));
  });

  app.post('/services', {
    schema: {
      tags,
      summary: 'Create a service',
      description: 'Fields left out take the same defaults as in the config file.',
      body: CreateServiceBody,
      response: { 201: ServiceView, ...errorResponses(400, 409, 413, 503, ...ALWAYS) },
    },
  }, async (req, reply) => {
    const s = store.createService(await store.checkAhead(req.body));
    await store.persisted();
    audit(req, { object: `service ${s.name}`, after: serviceSummary(s) });
    reply.code(201).header('location', `${app.prefix}/services/${encodeURIComponent(s.name)}`);
    return sendJsonChunks(reply, serviceViewChunks(s, health, liveServiceStats(dataplane, s.name), drains, rates));
  });

  app.get('/services/:name', {
    schema: {
      tags,
      summary: 'One service',
      params: ServiceParams,
      response: { 200: ServiceView, ...errorResponses(404, ...ALWAYS) },
    },
  }, async (req, reply) => {
    const s = store.get(req.params.name);
    return sendJsonChunks(reply, serviceViewChunks(s, health, liveServiceStats(dataplane, req.params.name), drains, rates));
  });

  app.put('/services/:name', {
    schema: {
      tags,
      summary: 'Replace a service, backends included, in one step',
      params: ServiceParams,
      body: ReplaceServiceBody,
      response: { 200: ServiceView, ...errorResponses(400, 404, 409, 413, 503, ...ALWAYS) },
    },
  }, async (req, reply) => {
    // A service that is not there is a 404 before its body's backends are checked.
    store.get(req.params.name);
    const body = await store.checkAhead(req.body, req.params.name);
    const before = serviceSummary(store.get(req.params.name));
    const s = store.replaceService(req.params.name, body);
    await store.persisted();
    audit(req, { object: `service ${s.name}`, before, after: serviceSummary(s) });
    return sendJsonChunks(reply, serviceViewChunks(s, health, liveServiceStats(dataplane, s.name), drains, rates));
  });

  app.delete('/services/:name', {
    schema: {
      tags,
      summary: 'Delete a service; its flows end',
      params: ServiceParams,
      response: { 204: NoContent, ...errorResponses(404, 409, ...ALWAYS) },
    },
  }, async (req, reply) => {
    const before = serviceSummary(store.get(req.params.name));
    store.deleteService(req.params.name);
    await store.persisted();
    audit(req, { object: `service ${req.params.name}`, before });
    return reply.code(204).send(null);
  });
};
