// `sluice run`: config -> state file -> data plane -> health checks -> REST API,
// and the reverse on SIGINT/SIGTERM. Process concerns only; the parts live in
// their own modules.
import fs from 'node:fs';
import path from 'node:path';
import { buildApp } from './api/app';
import { loadConfigFile } from './config';
import { readApiToken, parseListen } from './control/api-token';
import { HealthChecker } from './control/health';
import { StateFile } from './control/state-file';
import { ServiceStore } from './control/store';
import { Dataplane } from './dataplane';
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
  const token = readApiToken(cfg.api);
  const listen = parseListen(cfg.api.listen);
  if (cfg.stateFile === undefined) log.warn('no stateFile in the config: changes made through the API are lost on restart');
  const dataplane = new Dataplane();
  const store = new ServiceStore(cfg, dataplane, cfg.stateFile === undefined ? undefined : new StateFile(cfg.stateFile));
  const services = store.initialServices();
  if (services !== cfg.services) log.info({ stateFile: cfg.stateFile }, 'services restored from the state file');
  dataplane.start({ ...cfg, services }, instanceId);
  store.started(services);

  const health = new HealthChecker(store, log.child({ component: 'health' }));
  const app = buildApp({ store, dataplane, health, config: cfg, token, bodyLimitBytes: cfg.api.bodyLimitBytes, logger: log, version: VERSION });
  try {
    health.start();
    await app.listen({ host: listen.host, port: listen.port });
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
        health.stop();
        dataplane.stop();
      })()),
  };
}
