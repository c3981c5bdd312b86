// Bearer-token authentication for the whole API but /healthz, which a
// supervisor must reach without secrets, and the routes named in `openRoutes`
// (the dashboard's page and assets, which hold no data: the page asks for the
// token and sends it with each request); the OpenAPI UI (/docs) included, as it
// is registered after this plugin. Without a token the API is open, which the
// config allows only on a loopback listener unless api.allowUnauthenticated.
import { createHash, timingSafeEqual } from 'node:crypto';
import fp from 'fastify-plugin';
import { SluiceError } from '../errors';

const OPEN_ROUTES = new Set(['/healthz']);

/** Hashing first gives equal-length inputs, so neither the token nor its length leaks through timing. */
const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

export const auth = fp<{ token?: string; openRoutes?: readonly string[] }>(async (app, { token, openRoutes = [] }) => {
  if (token === undefined) return;
  // An empty token would make "Bearer " with nothing after it the password.
  if (token === '') throw new SluiceError('SLUICE_INVALID_ARGUMENT', 'the API token must not be empty');
  const expected = digest(token);
  const open = new Set([...OPEN_ROUTES, ...openRoutes]);
  app.addHook('onRequest', async (req, reply) => {
    // The matched route, not the raw URL, so "/healthz/../api/v1/services"
    // style spellings cannot borrow the exemption.
    if (open.has(req.routeOptions.url ?? '')) return;
    const m = /^Bearer +(.+)$/i.exec(req.headers.authorization ?? '');
    if (m !== null && timingSafeEqual(digest(m[1]), expected)) return;
    reply.header('www-authenticate', 'Bearer realm="sluice"');
    throw new SluiceError('SLUICE_UNAUTHORIZED', 'this API needs "Authorization: Bearer <token>" with the configured token');
  });
}, { name: 'sluice-auth', fastify: '5.x' });
