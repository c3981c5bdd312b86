// /api/v1/config: the running configuration (the config the daemon started
// with, its services as they run now) and a reload of the config file. The
// reload itself is the daemon's (it knows the file); it hands it to these
// routes with serveReload, keyed by its store, so an app built without one
// (tests, an embedding program) answers 404 for the reload.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { ServicesDiff } from '../../config/diff';
import { ConfigSchema } from '../../config/schema';
import type { ServiceStore } from '../../control/store';
import { SluiceError } from '../../errors';
import type { ApiContext } from '../context';
import { ALWAYS, errorResponses, strict } from '../schemas/common';

export interface ReloadOutcome {
  /** the config file read */
  file: string;
  /** false when the file's services are those that run: nothing was applied */
  changed: boolean;
  diff: ServicesDiff;
}

export type ConfigReload = () => Promise<ReloadOutcome>;

const reloads = new WeakMap<ServiceStore, ConfigReload>();

/** Makes POST /api/v1/config/reload of the app serving `store` run `reload`. */
export function serveReload(store: ServiceStore, reload: ConfigReload): void {
  reloads.set(store, reload);
}

const Names = (description: string) => Type.Array(Type.String(), { description });

const BackendsDiffView = Type.Object({
  added: Names('backends (address:port) added'),
  removed: Names('backends removed; their flows move to the others'),
  changed: Names('backends with another weight, state, MAC or health check; their flows stay'),
}, strict);

export const ServicesDiffView = Type.Object({
  added: Names('services added'),
  removed: Names('services removed; their flows end'),
  changed: Type.Array(Type.Object({
    name: Type.String(),
    fields: Names('the service\'s own fields that changed, backends apart'),
    backends: BackendsDiffView,
  }, strict)),
  unchanged: Type.Integer({ minimum: 0, description: 'services left as they run' }),
}, { ...strict, description: 'what runs now against what ran before, services by name and backends by address:port' });

const ReloadView = Type.Object({
  file: Type.String({ description: 'the config file read' }),
  changed: Type.Boolean({ description: 'false when the file\'s services were those running: nothing was applied' }),
  diff: ServicesDiffView,
}, strict);

const tags = ['config'];

export const configRoutes: FastifyPluginAsyncTypebox<ApiContext> = async (app, { store, config }) => {
  app.get('/config', {
    schema: {
      tags,
      summary: 'The running configuration: the config the daemon started with, its services as they run now',
      description: 'What `sluice config export` writes back as a config file.',
      response: { 200: ConfigSchema, ...errorResponses(404, ...ALWAYS) },
    },
  }, async () => {
    if (config === undefined) throw new SluiceError('SLUICE_NOT_FOUND', 'this API was started without a config');
    return { ...config, services: [...store.list()] };
  });

  app.post('/config/reload', {
    schema: {
      tags,
      summary: 'Re-read the config file and apply its services in one step',
      description: 'The file\'s services replace the running ones (API changes included) as one validated change, ' +
        'one snapshot and one state file write; a file that changes anything but services is refused with ' +
        'SLUICE_RELOAD_REFUSED naming the fields, an invalid one with SLUICE_CONFIG_INVALID; nothing changes then.',
      response: { 200: ReloadView, ...errorResponses(400, 404, 409, 503, ...ALWAYS) },
    },
  }, async () => {
    const reload = reloads.get(store);
    if (reload === undefined) throw new SluiceError('SLUICE_NOT_FOUND', 'this API was started without a config file to reload');
    return reload();
  });
};
