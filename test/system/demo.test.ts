// `npm start`: the demo brings the namespace test bed up, a real client reaches
// the backends through the balancer, and Ctrl-C removes everything it made.
// `--config FILE` runs the daemon alone and touches no namespace.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { down } from '../../tools/testbed/topology';
import { killDemos, leftovers as leftoversOf, curlFromClient, runDemo as run } from '../helpers/demo-run';

after(() => {
  killDemos();
  down();
});

const leftovers = () => leftoversOf((n) => n.startsWith('sluice-'));

test('npm start with no arguments: test bed up, curl through the balancer, Ctrl-C removes it all', async () => {
  const demo = run([]);
  await demo.waitFor('Ctrl-C stops the balancer', 60000);
  const out = demo.output();
  assert.match(out, /Sluice is balancing 10\.99\.0\.100:80 over b1 \(10\.99\.0\.11\), b2 \(10\.99\.0\.12\), b3 \(10\.99\.0\.13\)/);
  assert.match(out, /ip netns exec sluice-client curl http:\/\/10\.99\.0\.100\//);
  assert.match(out, /API docs: http:\/\/127\.0\.0\.1:9090\/docs/);
  const answers = curlFromClient('http://10.99.0.100/', 20);
  console.log(`# 20 curls through the demo reached: ${[...answers].sort().join(', ')}`);
  assert.ok([...answers].every((a) => /^backend b[123]$/.test(a)), [...answers].join('|'));
  assert.ok(answers.size >= 2, 'new connections spread over backends');
  assert.equal((await fetch('http://127.0.0.1:9090/readyz')).status, 200);
  demo.child.kill('SIGINT');
  assert.equal(await demo.exited, 0, demo.output());
  assert.deepEqual(leftovers(), [], 'no sluice-* namespace or interface remains');
});

test('npm start -- --config FILE runs the daemon on that config and builds no test bed', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-demo-config-'));
  try {
    const file = path.join(dir, 'c.yaml');
    fs.writeFileSync(file, stringify({
      eal: { lcores: '0@0,1@1', hugepages: false, memoryMb: 256 },
      ports: [{ name: 'p0', device: 'ring', address: '10.98.0.2/24' }],
      api: { listen: '127.0.0.1:0' },
    }));
    const d = run(['--config', '/nonexistent.yaml', '--config', file]);
    await d.waitFor('"msg":"sluice running"', 30000);
    assert.deepEqual(leftovers(), []);
    d.child.kill('SIGTERM');
    assert.equal(await d.exited, 0, d.output());
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
