// /api/v1/services/:name/backends: one service's backends. A backend is named in
// URLs by address:port; the key is normalized first, so "[2001:DB8::1]:80" and
// "[2001:db8::1]:80" name the same backend.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import type { BackendConfig } from '../../config';
import { backendKey, parseBackendKey } from '../../control/backend-key';
import { cachedBackendKey } from '../../control/service-keys';
import { audit, backendSummary } from '../audit';
import type { ApiContext } from '../context';
import { liveBackendStats, liveServiceStats } from '../context';
import { ALWAYS, BackendParams, errorResponses, NoContent, ServiceParams } from '../schemas/common';
import { BackendList, BackendView, CreateBackendBody, PatchBackendBody } from '../schemas/services';
import { JSON_TYPE, sendJsonChunks } from '../json-stream';
import { backendStatsFor, backendViewJson, backendViewsChunks } from '../views';

const tags = ['backends'];

/** Throws SLUICE_BAD_REQUEST for a key that is not address:port. */
const normalizedKey = (raw: string): string => backendKey(parseBackendKey(raw));

export const backendRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { store, dataplane, health, drains, rates }) => {
  // As text from the view's kept texts (views.ts), like the lists.
  const view = (reply: FastifyReply, service: string, b: BackendConfig) => {
    const stats = backendStatsFor(liveBackendStats(dataplane, service, b), b);
    return reply.type(JSON_TYPE).send(backendViewJson(service, b, health, stats, drains, rates));
  };

  app.get('/services/:name/backends', {
    schema: {
      tags,
      summary: "A service's backends with health and counters",
      params: ServiceParams,
      response: { 200: BackendList, ...errorResponses(404, ...ALWAYS) },
    },
  }, async (req, reply) => {
    const { name } = req.params;
    // As text made from kept texts, in chunks: a service may have thousands of backends (views.ts).
    return sendJsonChunks(reply, backendViewsChunks(name, store.get(name).backends, health, liveServiceStats(dataplane, name), drains, rates));
  });

  app.post('/services/:name/backends', {
    schema: {
      tags,
      summary: 'Add a backend',
      params: ServiceParams,
      body: CreateBackendBody,
      response: { 201: BackendView, ...errorResponses(400, 404, 409, 413, 503, ...ALWAYS) },
    },
  }, async (req, reply) => {
    const { name } = req.params;
    const b = store.addBackend(name, req.body);
    await store.persisted();
    audit(req, { object: `backend ${name}/${cachedBackendKey(b)}`, after: backendSummary(b) });
    const location = `${app.prefix}/services/${encodeURIComponent(name)}/backends/${encodeURIComponent(backendKey(b))}`;
    reply.code(201).header('location', location);
    return view(reply, name, b);
  });

  app.get('/services/:name/backends/:backend', {
    schema: {
      tags,
      summary: 'One backend',
      params: BackendParams,
      response: { 200: BackendView, ...errorResponses(400, 404, ...ALWAYS) },
    },
  }, async (req, reply) => {
    const { name, backend } = req.params;
    return view(reply, name, store.backend(name, normalizedKey(backend)));
  });

  app.patch('/services/:name/backends/:backend', {
    schema: {
      tags,
      summary: "Change a backend's weight or admin state",
      description: 'drain and weight 0 keep existing flows and take no new ones; disabled moves existing flows away.',
      params: BackendParams,
      body: PatchBackendBody,
      response: { 200: BackendView, ...errorResponses(400, 404, 409, 413, ...ALWAYS) },
    },
  }, async (req, reply) => {
    const { name, backend } = req.params;
    const key = normalizedKey(backend);
    const before = backendSummary(store.backend(name, key));
    const b = store.updateBackend(name, key, req.body);
    await store.persisted();
    audit(req, { object: `backend ${name}/${key}`, before, after: backendSummary(b) });
    return view(reply, name, b);
  });

  app.delete('/services/:name/backends/:backend', {
    schema: {
      tags,
      summary: 'Remove a backend; its flows move to the others',
      params: BackendParams,
      response: { 204: NoContent, ...errorResponses(400, 404, 409, ...ALWAYS) },
    },
  }, async (req, reply) => {
    const { name, backend } = req.params;
    const key = normalizedKey(backend);
    const before = backendSummary(store.backend(name, key));
    store.deleteBackend(name, key);
    await store.persisted();
    audit(req, { object: `backend ${name}/${key}`, before });
    return reply.code(204).send(null);
  });
};
