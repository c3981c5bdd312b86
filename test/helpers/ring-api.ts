// The REST API over a real data plane on an in-process ring port, assembled as
// the daemon assembles it but without health checks (every backend unchecked,
// so all take traffic): for tests that need the addon's own answers through
// the routes. One per test process (the EAL initialises once per process).
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/api/app';
import { validateConfig, type SluiceConfig } from '../../src/config';
import type { BackendHealth, HealthView } from '../../src/control/health-view';
import type { LivenessView } from '../../src/control/liveness';
import type { StateFile } from '../../src/control/state-file';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';

export const UNCHECKED: HealthView = {
  backend: (): BackendHealth => ({ status: 'unchecked', streak: 0, transitions: 0 }),
  totals: () => ({ up: 0, down: 0, probes: 0, probeFailures: 0 }),
};

export interface RingApi {
  cfg: SluiceConfig;
  dataplane: Dataplane;
  store: ServiceStore;
  app: FastifyInstance;
  /** the app closed, then the data plane stopped */
  close(): Promise<void>;
}

export interface RingApiOptions {
  /** the services are restored from it, and changes written to it */
  stateFile?: StateFile;
  /** made from the data plane once it runs */
  liveness?: (dataplane: Dataplane) => LivenessView;
}

/** `raw` is a config as a file holds it; `name` makes the EAL's file prefix unique with the pid. */
export async function startRingApi(raw: object, name: string, o: RingApiOptions = {}): Promise<RingApi> {
  const cfg = validateConfig(raw);
  const dataplane = new Dataplane();
  dataplane.start(cfg, `${name}-${process.pid}`);
  const store = new ServiceStore(cfg, dataplane, o.stateFile);
  store.started(store.initialServices());
  const liveness = o.liveness?.(dataplane);
  const app = buildApp({ store, dataplane, health: UNCHECKED, version: '0.0.0-test', config: cfg, ...(liveness ? { liveness } : {}) });
  await app.ready();
  return {
    cfg, dataplane, store, app,
    close: async () => {
      await app.close();
      dataplane.stop();
    },
  };
}
