// Log lines are JSON objects a log pipeline can index: no key twice on a line
// (the health checker's lines carried "component" twice when the daemon had
// bound it already), whoever binds the component.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from '../../src/config';
import { HealthChecker } from '../../src/control/health';
import { ServiceStore } from '../../src/control/store';
import { Dataplane } from '../../src/dataplane';
import { captureLog } from '../helpers/captured-log';
import { fakeAddon } from '../helpers/fake-addon';

const occurrences = (line: string, key: string) => line.split(`"${key}":`).length - 1;

test('health checker lines carry "component" once, bound by the caller or not', () => {
  const cfg = validateConfig({
    eal: { lcores: '0@0,1@1', hugepages: false },
    ports: [{ name: 'p0', device: 'ring', address: '10.99.0.2/24' }],
    services: [{ name: 'web', vip: '10.99.0.100', port: 80, healthCheck: { type: 'none' }, backends: [{ address: '10.99.0.11', port: 80 }] }],
  });
  for (const bind of [true, false]) {
    const { logger, raw: lines } = captureLog();
    const store = new ServiceStore(cfg, new Dataplane(fakeAddon()));
    store.started(cfg.services);
    const health = new HealthChecker(store, bind ? logger.child({ component: 'health' }) : logger);
    health.start();
    health.stop();
    assert.ok(lines.length > 0, 'the checker logged its start');
    for (const line of lines) {
      assert.equal(occurrences(line, 'component'), 1, line);
      assert.equal(JSON.parse(line).component, 'health');
    }
  }
});
