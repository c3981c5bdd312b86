// `sluice run`: config -> state file -> data plane -> health checks -> REST API,
// and the reverse on SIGINT/SIGTERM. Process concerns only; the parts live in
// their own modules.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { buildApp } from './api/app';
import { serveReload, type ReloadOutcome } from './api/routes/config';
import { gobgpdVersion } from './bgp/gobgp-version';
import type { BgpSpeaker } from './bgp/speaker';
import { loadConfigFile, type SluiceConfig } from './config';
import { DRAIN_QUIET_SEC_DEFAULT, drainOnStopSec } from './config/schema';
import { describeDiff, diffServices, isEmptyDiff, planReload } from './config/diff';
import { isLoopbackHost } from './config/listen';
import { readApiToken, parseListen } from './control/api-token';
import { DrainWatch } from './control/drain-watch';
import { drainOnStop, type DrainOnStopOutcome } from './control/drain-on-stop';
import { HealthChecker } from './control/health';
import { LcoreLiveness } from './control/liveness';
import { NodeDrain } from './control/node-drain';
import { RateSampler } from './control/rates';
import { StateFile } from './control/state-file';
import { ServiceStore } from './control/store';
import { Dataplane } from './dataplane';
import { SluiceError } from './errors';
import type { Logger } from './logger';

export const VERSION: string = (
  JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;

export interface Daemon {
  url: string;
  /**
   * The API closes, health checks stop, then the data plane (which blocks the
   * thread until it has stopped); `beforeDataplaneStop`, if given, is awaited
   * just before that (run.ts: the window for duplicate signals).
   */
  stop(beforeDataplaneStop?: () => Promise<void>): Promise<void>;
  /**
   * What a stop signal does first (config drain.onStopSec): the node drains,
   * then this waits until no flows are left, the wait is over or `cut` aborts.
   * Undefined at once (nothing drained) when drain.onStopSec is 0.
   */
  drainForStop(cut?: AbortSignal): Promise<DrainOnStopOutcome | undefined>;
  /**
   * Re-reads the config file and applies its services in one change (SIGHUP,
   * `sluice reload`, POST /api/v1/config/reload); rejects, changing nothing,
   * when the file is unreadable or invalid or changes anything but services.
   */
  reload(): Promise<ReloadOutcome>;
}

export async function startDaemon(configFile: string, log: Logger, instanceId = `${process.pid}`): Promise<Daemon> {
  const cfg = loadConfigFile(configFile);
  const token = readApiToken(cfg.api, process.env, (m) => log.warn(m));
  const listen = parseListen(cfg.api.listen);
  if (token === undefined && !isLoopbackHost(listen.host)) {
    // The config's rules allow this only with api.allowUnauthenticated: true.
    log.warn({ listen: cfg.api.listen }, 'the API listens beyond loopback without a token (api.allowUnauthenticated): ' +
      'anyone who reaches it can change every service');
  }
  // Before the data plane takes hugepages and ports: an address in use or not
  // local fails the start here, with nothing to undo.
  await checkListen(cfg.api.listen, listen.host, listen.port);
  // gobgpd missing or of a release Sluice does not know fails the start before the data plane takes anything.
  if (cfg.bgp !== undefined) await gobgpdVersion();
  if (cfg.stateFile === undefined) log.warn('no stateFile in the config: changes made through the API are lost on restart');
  // DPDK's own lines (the EAL's, the drivers') join the JSON log.
  const dataplane = new Dataplane(undefined, log.child({ component: 'dpdk' }));
  const store = new ServiceStore(cfg, dataplane, cfg.stateFile === undefined ? undefined : new StateFile(cfg.stateFile));
  const services = store.initialServices();
  if (services !== cfg.services) {
    log.info({ stateFile: cfg.stateFile }, 'services restored from the state file');
    // The state file wins (it holds what the API acknowledged), but an edited
    // config file it shadows is said so, with what differs.
    const diff = diffServices(cfg.services, services);
    if (!isEmptyDiff(diff)) {
      log.info({ stateFile: cfg.stateFile, config: configFile, wins: 'stateFile', ...diff },
        `the state file's services differ from the config file's and run: ${describeDiff(diff)} ` +
        '(from the config file to the state file); `sluice reload` makes the config file\'s run');
    }
  }
  dataplane.start({ ...cfg, services }, instanceId);
  store.started(services);

  let stopping: Promise<void> | undefined;
  const reload = configReload(configFile, cfg, store, log, () => stopping !== undefined);
  serveReload(store, reload);

  const health = new HealthChecker(store, log.child({ component: 'health' }));
  const drains = new DrainWatch({ services: () => store.list(), serviceStats: (name) => dataplane.serviceStats(name) });
  const rates = new RateSampler({ services: () => dataplane.stats().services });
  const liveness = new LcoreLiveness({ lcores: () => dataplane.lcores() });
  // Not persisted: a restarted node starts active.
  const nodeDrain = new NodeDrain();
  // Loaded only with a bgp section: the gRPC modules take a tenth of a second to load.
  const bgp: BgpSpeaker | undefined = cfg.bgp === undefined ? undefined
    : new (await import('./bgp/speaker')).BgpSpeaker(cfg.bgp, cfg.ports, { services: () => store.list(), changes: store, health, liveness, node: nodeDrain },
      log.child({ component: 'bgp' }));
  const app = buildApp({ store, dataplane, health, drains, rates, liveness, bgp, nodeDrain, config: cfg, token, bodyLimitBytes: cfg.api.bodyLimitBytes, limits: cfg.api, logger: log, version: VERSION });
  try {
    health.start();
    drains.start();
    rates.start();
    liveness.start();
    await bgp?.start();
    await app.listen({ host: listen.host, port: listen.port }).catch((err: unknown) => {
      // The socket's errors only (lost the address since checkListen); a plugin's stay as they are.
      throw typeof (err as NodeJS.ErrnoException).syscall === 'string' ? listenFailed(cfg.api.listen, err) : err;
    });
  } catch (err) {
    await bgp?.stop();
    health.stop();
    drains.stop();
    rates.stop();
    dataplane.stop();
    throw err;
  }
  for (const p of dataplane.ports()) {
    log.info({ port: p.name, driver: p.driver, mac: p.mac, rxQueues: p.rxQueues, txQueues: p.txQueues, mtu: p.mtu, link: p.link.up }, 'port up');
    for (const w of p.warnings) log.warn({ port: p.name }, w);
  }
  const address = app.server.address();
  const url = typeof address === 'object' && address !== null
    ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`
    : cfg.api.listen;
  log.info({ services: services.length, api: url, auth: token !== undefined }, 'sluice running');

  const waitSec = drainOnStopSec(cfg);
  return {
    url,
    reload,
    drainForStop: async (cut) => (waitSec === 0 ? undefined
      : drainOnStop({ node: nodeDrain, lcores: () => dataplane.lcores(), settled: bgp === undefined ? undefined : () => bgp.settled() },
        waitSec, cfg.drain?.quietSec ?? DRAIN_QUIET_SEC_DEFAULT, log, cut)),
    stop: (beforeDataplaneStop) =>
      (stopping ??= (async () => {
        // Routes go first, while the data plane still forwards what the routers send until they converge.
        await bgp?.stop();
        // The API stops taking requests first, then nothing changes the data plane.
        await app.close();
        // A state file group still being written finishes (its requests were answered or cut off).
        await store.persisted().catch(() => undefined);
        health.stop();
        drains.stop();
        rates.stop();
        await beforeDataplaneStop?.();
        dataplane.stop();
      })()),
  };
}

/**
 * A daemon's reload: `file` re-read and its services applied through the store
 * in one change, reloads one at a time (the next reads the file once the one
 * before is applied); see planReload for what is refused. Logs the outcome at
 * info; a failure is the caller's to log.
 */
export function configReload(file: string, cfg: SluiceConfig, store: ServiceStore, log: Logger,
                             stopping: () => boolean = () => false): () => Promise<ReloadOutcome> {
  let reloading: Promise<unknown> = Promise.resolve();
  const run = async (): Promise<ReloadOutcome> => {
    if (stopping()) throw new SluiceError('SLUICE_SHUTTING_DOWN', 'the daemon is stopping; nothing was reloaded');
    const plan = planReload(cfg, store.list(), file);
    if (isEmptyDiff(plan.diff)) {
      log.info({ config: file, unchanged: plan.diff.unchanged }, 'config reloaded: the services already run as the file has them');
      return { file, changed: false, diff: plan.diff };
    }
    store.replaceAll(plan.services);
    await store.persisted();
    log.info({ config: file, ...plan.diff }, `config reloaded: ${describeDiff(plan.diff)}`);
    return { file, changed: true, diff: plan.diff };
  };
  return () => {
    const next = reloading.then(run, run);
    reloading = next.catch(() => undefined);
    return next;
  };
}

function listenFailed(listen: string, err: unknown): SluiceError {
  const e = err as NodeJS.ErrnoException;
  return new SluiceError('SLUICE_LISTEN_FAILED', `api.listen: cannot listen on ${listen}: ${e.code ?? e.message}`);
}

/** Binds api.listen once and lets go, so a start fails before anything is allocated; SLUICE_LISTEN_FAILED. */
export async function checkListen(listen: string, host: string, port: number): Promise<void> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(listenFailed(listen, err)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
