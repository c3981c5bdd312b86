// `sluice run`: config -> state file -> data plane -> health checks -> REST API,
// and the reverse on SIGINT/SIGTERM. Process concerns only; the parts live in
// their own modules.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { buildApp } from './api/app';
import { loadConfigFile } from './config';
import { isLoopbackHost } from './config/listen';
import { readApiToken, parseListen } from './control/api-token';
import { HealthChecker } from './control/health';
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
  stop(): Promise<void>;
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
  if (cfg.stateFile === undefined) log.warn('no stateFile in the config: changes made through the API are lost on restart');
  const dataplane = new Dataplane();
  const store = new ServiceStore(cfg, dataplane, cfg.stateFile === undefined ? undefined : new StateFile(cfg.stateFile));
  const services = store.initialServices();
  if (services !== cfg.services) log.info({ stateFile: cfg.stateFile }, 'services restored from the state file');
  dataplane.start({ ...cfg, services }, instanceId);
  store.started(services);

  const health = new HealthChecker(store, log.child({ component: 'health' }));
  const app = buildApp({ store, dataplane, health, config: cfg, token, bodyLimitBytes: cfg.api.bodyLimitBytes, limits: cfg.api, logger: log, version: VERSION });
  try {
    health.start();
    await app.listen({ host: listen.host, port: listen.port }).catch((err: unknown) => {
      // The socket's errors only (lost the address since checkListen); a plugin's stay as they are.
      throw typeof (err as NodeJS.ErrnoException).syscall === 'string' ? listenFailed(cfg.api.listen, err) : err;
    });
  } catch (err) {
    health.stop();
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

  let stopping: Promise<void> | undefined;
  return {
    url,
    stop: () =>
      (stopping ??= (async () => {
        // The API stops taking requests first, then nothing changes the data plane.
        await app.close();
        // A state file group still being written finishes (its requests were answered or cut off).
        await store.persisted().catch(() => undefined);
        health.stop();
        dataplane.stop();
      })()),
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
