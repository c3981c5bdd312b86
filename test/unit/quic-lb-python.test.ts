// The test bed's QUIC-LB encoder (tools/testbed/quic_lb.py), which its QUIC
// servers will make their connection IDs with, against the test vectors of
// draft-ietf-quic-load-balancers-21: the native codec's tests check the same
// vectors (native/test/tables/quic_lb_test.cc), so the balancer and the test
// bed's servers agree on every CID. Debian's python3, as the test bed runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';

// This file runs from dist/test/unit/, three levels below the repository root.
const repoRoot = path.resolve(__dirname, '..', '..', '..');
const SCRIPT = path.join(repoRoot, 'tools', 'testbed', 'quic_lb.py');
const PYTHON = '/usr/bin/python3';

type Algorithm = 'plaintext' | 'single-pass' | 'four-pass';
interface Config {
  configId: number;
  serverIdLength: number;
  nonceLength: number;
  algorithm: Algorithm;
  key?: string;
}
type Answer = { cid?: string; serverId?: string | null; error?: string };

// Sends one request a line, returns one answer a line.
function ask(requests: object[]): Answer[] {
  const run = spawnSync(PYTHON, [SCRIPT], {
    input: requests.map((r) => JSON.stringify(r)).join('\n') + '\n',
    encoding: 'utf8',
    timeout: 60_000,
  });
  assert.equal(run.error, undefined, `could not run ${PYTHON}: ${run.error?.message}`);
  assert.equal(run.status, 0, run.stderr);
  const answers = run.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Answer);
  assert.equal(answers.length, requests.length);
  return answers;
}

const KEY = '8f95f09245765f80256934e50c66207f';
// The draft's vectors, two misprints put right as native/test/tables/quic_lb_test.cc
// explains: plaintext config 1 (printed without leading zeros: nonce 03487d970b,
// first octet 0x2a) and four-pass config 3 (first octet printed 0x12, config 0;
// 0x72 here).
const VECTORS: Array<{ what: string; config: Config; serverId: string; nonce: string; cid: string }> = [
  { what: 'plaintext, 3 + 4', config: { configId: 0, serverIdLength: 3, nonceLength: 4, algorithm: 'plaintext' },
    serverId: 'c4605e', nonce: '4504cc4f', cid: '07c4605e4504cc4f' },
  { what: 'plaintext, 5 + 5', config: { configId: 1, serverIdLength: 5, nonceLength: 5, algorithm: 'plaintext' },
    serverId: '350d28b420', nonce: '03487d970b', cid: '2a350d28b42003487d970b' },
  { what: 'four-pass, 3 + 4', config: { configId: 0, serverIdLength: 3, nonceLength: 4, algorithm: 'four-pass', key: KEY },
    serverId: 'ed793a', nonce: 'ee080dbf', cid: '0720b1d07b359d3c' },
  { what: 'four-pass, 10 + 5', config: { configId: 1, serverIdLength: 10, nonceLength: 5, algorithm: 'four-pass', key: KEY },
    serverId: 'ed793a51d49b8f5fab65', nonce: 'ee080dbf48', cid: '2fcc381bc74cb4fbad2823a3d1f8fed2' },
  { what: 'single-pass, 8 + 8', config: { configId: 2, serverIdLength: 8, nonceLength: 8, algorithm: 'single-pass', key: KEY },
    serverId: 'ed793a51d49b8f5f', nonce: 'ee080dbf48c0d1e5', cid: '504dd2d05a7b0de9b2b9907afb5ecf8cc3' },
  { what: 'four-pass, 9 + 9', config: { configId: 3, serverIdLength: 9, nonceLength: 9, algorithm: 'four-pass', key: KEY },
    serverId: 'ed793a51d49b8f5fab', nonce: 'ee080dbf48c0d1e55d', cid: '725779c9cc86beb3a3a4a3ca96fce4bfe0cdbc' },
  { what: 'four-pass encryption example, 3 + 4',
    config: { configId: 0, serverIdLength: 3, nonceLength: 4, algorithm: 'four-pass', key: 'fdf726a9893ec05c0632d3956680baf0' },
    serverId: '31441a', nonce: '9c69c275', cid: '0767947d29be054a' },
];

test('the Python encoder encodes and decodes every draft test vector', () => {
  const answers = ask(VECTORS.flatMap((v) => [
    { ...v.config, serverId: v.serverId, nonce: v.nonce },
    { ...v.config, cid: v.cid },
  ]));
  VECTORS.forEach((v, i) => {
    assert.deepEqual(answers[2 * i], { cid: v.cid }, `${v.what}: encode`);
    assert.deepEqual(answers[2 * i + 1], { serverId: v.serverId }, `${v.what}: decode`);
  });
});

test('the Python encoder round-trips every length, and refuses another config\'s or a short CID', () => {
  const requests: object[] = [];
  const expected: Answer[] = [];
  for (let sid = 1; sid <= 15; sid++) {
    for (let nonce = 4; sid + nonce <= 19; nonce++) {
      const encrypted: Algorithm = sid + nonce === 16 ? 'single-pass' : 'four-pass';
      for (const algorithm of ['plaintext', encrypted] as Algorithm[]) {
        const config: Config = { configId: (sid + nonce) % 7, serverIdLength: sid, nonceLength: nonce, algorithm,
          key: crypto.randomBytes(16).toString('hex') };
        const serverId = crypto.randomBytes(sid).toString('hex');
        requests.push({ ...config, serverId, nonce: crypto.randomBytes(nonce).toString('hex') });
        expected.push({ serverId });
      }
    }
  }
  const cids = ask(requests).map((a) => a.cid!);
  const decodes = requests.map((r, i) => ({ ...r, cid: cids[i] }));
  assert.deepEqual(ask(decodes), expected);
  // Another config ID in the first octet, or one octet short: not this config's CID.
  const nextConfig = (cid: string) => ((parseInt(cid.slice(0, 2), 16) + 0x20) & 0xff).toString(16).padStart(2, '0') + cid.slice(2);
  const other = decodes.map((r) => ({ ...r, cid: nextConfig(r.cid) }));
  const short = decodes.map((r) => ({ ...r, cid: r.cid.slice(0, -2) }));
  for (const a of ask([...other, ...short])) assert.deepEqual(a, { serverId: null });
});

test('the Python encoder refuses what the draft does not allow', () => {
  const bad: Array<[object, RegExp]> = [
    [{ configId: 7, serverIdLength: 3, nonceLength: 4, algorithm: 'plaintext' }, /configId must be 0 to 6/],
    [{ configId: 0, serverIdLength: 0, nonceLength: 4, algorithm: 'plaintext' }, /serverIdLength/],
    [{ configId: 0, serverIdLength: 3, nonceLength: 3, algorithm: 'plaintext' }, /nonceLength/],
    [{ configId: 0, serverIdLength: 10, nonceLength: 10, algorithm: 'plaintext' }, /at most 19/],
    [{ configId: 0, serverIdLength: 3, nonceLength: 4, algorithm: 'single-pass', key: KEY }, /single-pass needs/],
    [{ configId: 0, serverIdLength: 8, nonceLength: 8, algorithm: 'four-pass', key: KEY }, /single-pass/],
    [{ configId: 0, serverIdLength: 3, nonceLength: 4, algorithm: 'four-pass' }, /16-octet key/],
    [{ configId: 0, serverIdLength: 3, nonceLength: 4, algorithm: 'rot13', key: KEY }, /algorithm must be/],
  ];
  const answers = ask(bad.map(([config]) => ({ ...config, serverId: '010203', nonce: '04050607' })));
  answers.forEach((a, i) => assert.match(a.error ?? '', bad[i][1], JSON.stringify(bad[i][0])));
});
