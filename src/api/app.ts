// The REST API as a fastify instance, built but not listening: the daemon owns
// the socket, tests drive it with inject(). Order: Sluice's own plugins (errors,
// auth) first, so that every route after them, the OpenAPI UI's included, has
// the coded error handler and needs the token; then OpenAPI; then routes.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { BgpView } from '../bgp/view';
import { API_LIMIT_DEFAULTS, type ApiConfig, type SluiceConfig } from '../config/schema';
import type { DrainView } from '../control/drain-watch';
import type { HealthView } from '../control/health-view';
import type { LivenessView } from '../control/liveness';
import type { NodeDrain } from '../control/node-drain';
import type { RatesView } from '../control/rates';
import type { ServiceStore } from '../control/store';
import { auditOf } from './audit';
import type { Dataplane } from '../dataplane';
import { auth } from './auth';
import type { ApiContext } from './context';
import { clientErrorHandler, errorHandler, routerError, validationError } from './errors';
import { createMetrics } from './metrics';
import { backendRoutes } from './routes/backends';
import { bgpRoutes } from './routes/bgp';
import { configRoutes } from './routes/config';
import { DASHBOARD_OPEN_ROUTES, dashboardPage, dashboardStream } from './routes/dashboard';
import { flowRoutes } from './routes/flows';
import { lcoreRoutes } from './routes/lcores';
import { metricsRoutes } from './routes/metrics';
import { neighborRoutes } from './routes/neighbors';
import { nodeRoutes } from './routes/node';
import { openapiRoutes } from './routes/openapi';
import { portRoutes } from './routes/ports';
import { probeRoutes } from './routes/probes';
import { serviceRoutes } from './routes/services';
import { statsRoutes } from './routes/stats';
import { NoQuery } from './schemas/common';

/** config api.bodyLimitBytes' default */
export const DEFAULT_BODY_LIMIT = 1048576;

export interface AppOptions {
  store: ServiceStore;
  dataplane: Dataplane;
  health: HealthView;
  /** when draining backends became empty (the daemon's DrainWatch) */
  drains?: DrainView;
  /** packets, bytes and new flows per second (the daemon's RateSampler) */
  rates?: RatesView;
  /** whether the worker lcores' loops move (the daemon's LcoreLiveness) */
  liveness?: LivenessView;
  /** the BGP speaker's peers and VIPs (the daemon's BgpSpeaker); absent: BGP is off */
  bgp?: BgpView;
  /** the node's drain state (the daemon's NodeDrain); absent: POST /api/v1/node/drain and /undrain answer 404 */
  nodeDrain?: NodeDrain;
  /** when set, every route but /healthz needs "Authorization: Bearer <token>" */
  token?: string;
  bodyLimitBytes?: number;
  /** a pino logger; false or absent logs nothing */
  logger?: FastifyBaseLogger | false;
  version: string;
  /** the validated config the data plane started with; without it /api/v1/lcores omits rx queues */
  config?: SluiceConfig;
  /** the connection cap and timeouts (config api.*); each absent one takes the config's default */
  limits?: Partial<Pick<ApiConfig, keyof typeof API_LIMIT_DEFAULTS>>;
}

export function buildApp(opts: AppOptions): FastifyInstance {
  const bodyLimit = opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const limits = { ...API_LIMIT_DEFAULTS, ...opts.limits };
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit,
    frameworkErrors: routerError,
    // Every connection and request is bounded (config api.*; Node's own
    // defaults let an idle socket stay for minutes and fastify's keep-alive 72 s).
    connectionTimeout: limits.idleTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    http: {
      requestTimeout: limits.requestTimeoutMs,
      headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs),
      // How often Node looks for requests past those two; its default is 30 s.
      connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    },
    // One line per request (RequestLog below) instead of fastify's two.
    logController: new RequestLog(),
    // Every line a request logs (a rejection, a failure) names it.
    childLoggerFactory: (logger, bindings, childOpts, raw) =>
      logger.child({ ...bindings, method: raw.method, url: raw.url }, childOpts),
    // Node-level refusals (not HTTP, headers too large) and requests during
    // close get coded bodies too (src/api/errors.ts).
    clientErrorHandler,
    return503OnClosing: false,
    ajv: {
      customOptions: {
        // fastify's defaults would strip unknown fields and turn "5" into 5;
        // a desired-state API must refuse both rather than guess.
        removeAdditional: false,
        coerceTypes: false,
        // Defaults are the store's job (the same as the config file's); here
        // they would also turn a PATCH without `state` into state: active.
        useDefaults: false,
        // The failing schema lets errors list the allowed values.
        verbose: true,
      },
    },
    schemaErrorFormatter: validationError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Bodies are JSON only; fastify would otherwise hand text/plain bodies to
  // validation as strings.
  app.removeContentTypeParser('text/plain');

  limitConnections(app, limits.maxConnections);

  const ctx: ApiContext = { store: opts.store, dataplane: opts.dataplane, health: opts.health, drains: opts.drains, rates: opts.rates, liveness: opts.liveness,
    bgp: opts.bgp, nodeDrain: opts.nodeDrain, config: opts.config, version: opts.version };
  const metrics = createMetrics({ ...ctx, version: opts.version });

  app.register(errorHandler, { bodyLimit });
  app.register(auth, { token: opts.token, openRoutes: DASHBOARD_OPEN_ROUTES });

  app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Sluice',
        version: opts.version,
        description: 'Kernel-bypass L4 load balancer: services, backends, data plane state and counters.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: opts.token === undefined ? [] : [{ bearer: [] }],
    },
  });
  app.register(swaggerUi, { routePrefix: '/docs' });

  app.register(probeRoutes, ctx);
  app.register(dashboardPage);
  app.register(metricsRoutes, { metrics });
  app.register(openapiRoutes);
  app.register(async (v1) => {
    // A route without a querystring schema of its own takes no query
    // parameters: one sent anyway (a hoped-for ?dryRun=true, a typo) is
    // refused rather than ignored.
    v1.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, querystring: route.schema?.querystring ?? NoQuery };
    });
    v1.register(serviceRoutes, ctx);
    v1.register(backendRoutes, ctx);
    v1.register(portRoutes, ctx);
    v1.register(neighborRoutes, ctx);
    v1.register(lcoreRoutes, ctx);
    v1.register(statsRoutes, ctx);
    v1.register(flowRoutes, ctx);
    v1.register(nodeRoutes, ctx);
    v1.register(configRoutes, ctx);
    v1.register(bgpRoutes, ctx);
    v1.register(dashboardStream, ctx);
  }, { prefix: '/api/v1' });

  return app;
}

/**
 * At most `max` connections at once: Node closes one more as soon as it is
 * accepted ('drop'), so idle or slow sockets cannot use up the process's file
 * descriptors, and the connections within the cap (a /healthz probe among
 * them) are served as before. Refusals are logged at most every 10 s, counted.
 */
function limitConnections(app: FastifyInstance, max: number): void {
  app.server.maxConnections = max;
  let dropped = 0;
  let loggedAt = 0;
  app.server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - loggedAt < 10_000) return;
    app.log.warn({ dropped, maxConnections: max }, 'connections refused: api.maxConnections are open');
    loggedAt = now;
    dropped = 0;
  });
}

/**
 * One log line per request at most at info, in place of fastify's "incoming
 * request" and "request completed". A change that succeeded is logged at info
 * with what it changed (`audit`, src/api/audit.ts: the trail of what changed
 * from what to what); reads, probes and scrapes at debug; a
 * refused or failed request is logged once by the error handler (info or
 * error) and here at debug. The request's method and URL are on every line it
 * logs (childLoggerFactory above).
 */
class RequestLog extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, req: FastifyRequest, reply: FastifyReply): void {
    const line = { statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) {
      reply.log.error({ ...line, err: error }, 'request errored');
      return;
    }
    const change = req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'OPTIONS';
    if (change && reply.statusCode < 400) reply.log.info({ ...line, audit: auditOf(req) }, 'request');
    else reply.log.debug(line, 'request');
  }
}
