// `npm start -- --nodes 2`: the tier test bed comes up, prints the router's
// route to the VIP with both nodes as next hops, curl from sluice-client gets
// answers through the router, each node's API answers from the root namespace,
// and Ctrl-C removes every namespace and process. After a kill -9 of the demo
// nothing of it runs on (parent-death signals), and the next run clears its
// namespaces. A bad --nodes is a usage error.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tierDown } from '../../tools/testbed/tier-topology';
import { DEMO, killDemos, leftovers as leftoversOf, namespaces as namespacesOf, curlFromClient, runDemo as run } from '../helpers/demo-run';

const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');

after(() => {
  killDemos();
  tierDown();
});

/** The tier's own names only: other tests may have sluice-* namespaces of their own meanwhile. */
const TIER_NAME = /^sluice-(tsw|rtr|client|n[0-9]+|b[0-9]+|tbr|p-.*)$/;
const isTierName = (n: string) => TIER_NAME.test(n);
const namespaces = () => namespacesOf(isTierName);
const leftovers = () => leftoversOf(isTierName);

/** Processes still running in the tier's namespaces. */
function processesInside(): string[] {
  return namespaces().flatMap((ns) => execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean)
    .map((pid) => `${ns}: ${pid} ${(() => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').slice(0, 80);
      } catch {
        return '(gone)';
      }
    })()}`));
}

test('npm start -- --nodes 2: the route has both nodes, curl through the router, APIs from the root namespace, Ctrl-C removes it all', async () => {
  const t0 = Date.now();
  const demo = run(['--nodes', '2']);
  await demo.waitFor('Ctrl-C stops the nodes', 90_000);
  console.log(`# npm start -- --nodes 2 ready in ${Date.now() - t0} ms`);
  const out = demo.output();
  assert.match(out, /Sluice tier: 2 nodes announce 10\.90\.0\.100:80/);
  assert.match(out, /\$ ip -n sluice-rtr route show 10\.90\.0\.100\n10\.90\.0\.100 .*proto bgp.*\n\s+nexthop via 10\.97\.0\.2 dev eth0 weight 1\s*\n\s+nexthop via 10\.97\.0\.3 dev eth0 weight 1/);
  assert.match(out, /node 1: sluice-n1, 10\.97\.0\.2, API http:\/\/127\.0\.0\.1:9090/);
  assert.match(out, /node 2: sluice-n2, 10\.97\.0\.3, API http:\/\/127\.0\.0\.1:9091/);
  const answers = curlFromClient('http://10.90.0.100/', 12);
  assert.ok([...answers].every((a) => /^backend b[123]$/.test(a)), [...answers].join('|'));
  for (const port of [9090, 9091]) {
    const bgp = execFileSync(process.execPath, [CLI, '--api', `http://127.0.0.1:${port}`, 'bgp'], { encoding: 'utf8' });
    assert.match(bgp, /^10\.97\.0\.1\s+65000\s+established\s/m, bgp);
  }
  demo.child.kill('SIGINT');
  assert.equal(await demo.exited, 0, demo.output());
  assert.deepEqual(leftovers(), [], 'no sluice-* namespace or interface remains');
});

test('after a kill -9 of the tier demo nothing of it runs on; the next run clears its namespaces and comes up', async () => {
  const first = run(['--nodes', '2']);
  await first.waitFor('Ctrl-C stops the nodes', 90_000);
  first.child.kill('SIGKILL');
  await first.exited;
  // Parent-death signals: the nodes, their gobgpd, FRR, the forwarders and the backends die with it.
  const deadline = Date.now() + 5000;
  while (processesInside().length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(processesInside(), [], 'no process of the killed demo runs on');
  assert.ok(namespaces().includes('sluice-rtr'), 'its namespaces are left (for the next run to clear)');
  const second = run(['--nodes', '2']);
  await second.waitFor('Ctrl-C stops the nodes', 90_000);
  assert.match(second.output(), /nexthop via 10\.97\.0\.2 .*\n\s+nexthop via 10\.97\.0\.3 /);
  second.child.kill('SIGTERM');
  assert.equal(await second.exited, 0, second.output());
  assert.deepEqual(leftovers(), []);
});

test('--nodes 1 and --nodes x are usage errors', () => {
  for (const n of ['1', 'x', '9']) {
    const r = spawnSync(process.execPath, [DEMO, '--nodes', n], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`--nodes: ${n} is not 2 to 8`));
  }
  assert.deepEqual(leftovers(), []);
});
