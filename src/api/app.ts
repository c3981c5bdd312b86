// The REST API as a fastify instance, built but not listening: the daemon owns
// the socket, tests drive it with inject(). Order as in fastify/demo: external
// plugins (OpenAPI), then Sluice's own (errors, auth), then routes.
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { SluiceConfig } from '../config';
import type { HealthView } from '../control/health-view';
import type { ServiceStore } from '../control/store';
import type { Dataplane } from '../dataplane';
import { auth } from './auth';
import type { ApiContext } from './context';
import { errorHandler, routerError, validationError } from './errors';
import { createMetrics } from './metrics';
import { backendRoutes } from './routes/backends';
import { lcoreRoutes } from './routes/lcores';
import { metricsRoutes } from './routes/metrics';
import { neighborRoutes } from './routes/neighbors';
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
  /** when set, every route but /healthz needs "Authorization: Bearer <token>" */
  token?: string;
  bodyLimitBytes?: number;
  /** a pino logger; false or absent logs nothing */
  logger?: FastifyBaseLogger | false;
  version: string;
  /** the validated config the data plane started with; without it /api/v1/lcores omits rx queues */
  config?: SluiceConfig;
}

export function buildApp(opts: AppOptions): FastifyInstance {
  const bodyLimit = opts.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    ...(opts.logger ? { loggerInstance: opts.logger } : { logger: false }),
    bodyLimit,
    frameworkErrors: routerError,
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

  const ctx: ApiContext = { store: opts.store, dataplane: opts.dataplane, health: opts.health, config: opts.config };
  const metrics = createMetrics({ ...ctx, version: opts.version });

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

  app.register(errorHandler, { bodyLimit });
  app.register(auth, { token: opts.token });

  app.register(probeRoutes, ctx);
  app.register(metricsRoutes, { metrics });
  app.register(openapiRoutes);
  app.register(async (v1) => {
    // No route takes query parameters: one that is sent anyway (a hoped-for
    // ?dryRun=true, a typo) is refused rather than ignored.
    v1.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, querystring: route.schema?.querystring ?? NoQuery };
    });
    v1.register(serviceRoutes, ctx);
    v1.register(backendRoutes, ctx);
    v1.register(portRoutes, ctx);
    v1.register(neighborRoutes, ctx);
    v1.register(lcoreRoutes, ctx);
    v1.register(statsRoutes, ctx);
  }, { prefix: '/api/v1' });

  return app;
}
