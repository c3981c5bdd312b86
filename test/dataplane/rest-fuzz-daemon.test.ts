// The REST fuzzer of test/api/rest-fuzz against a real daemon (`sluice run` on
// a ring port) over real HTTP: about 200 requests from the same generators
// (test/helpers/api-arbitraries.ts), sent as they are (paths not normalised,
// bodies as raw bytes). No 5xx, every 4xx coded, a read or a refusal changes
// neither GET /services nor the state file, and afterwards the process is alive,
// answers /healthz, takes a valid create and delete, and stops cleanly.
// Reproducible: SLUICE_FUZZ_SEED, SLUICE_FUZZ_RUNS.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { daemonConfig, startDaemon, type DaemonProcess } from '../helpers/daemon-process';
import {
  checkResponse, describeRequest, fuzzParams, mustNotChange, requestArb, type FuzzRequest, type FuzzResponse,
} from '../helpers/api-arbitraries';
import { servicesOnDisk } from '../helpers/state-on-disk';

const TOKEN = 'daemon-fuzz-token';
const AUTH = { authorization: `Bearer ${TOKEN}` };

let dir: string;
let daemon: DaemonProcess | undefined;
let base: URL;

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-rest-fuzz-daemon-'));
  daemon = await startDaemon(dir, daemonConfig(dir, {
    ports: [{
      name: 'p0', device: 'ring', address: '10.99.0.2/24', address6: 'fd00:99::2/64',
      natPool: { addresses: ['10.99.0.240/30'], addresses6: ['fd00:99::1:0/126'] },
    }],
    api: { listen: '127.0.0.1:0', tokenEnv: 'SLUICE_FUZZ_TOKEN', bodyLimitBytes: 65536 },
    services: [
      { name: 'web', vip: '10.99.0.100', port: 80, backends: [{ address: '10.99.0.11', port: 80, mac: '02:00:00:00:00:11' }] },
      { name: 'api', vip: 'fd00:99::100', port: 80, backends: [{ address: 'fd00:99::11', port: 80 }] },
    ],
  }), { SLUICE_FUZZ_TOKEN: TOKEN });
  base = new URL(daemon.url);
});

after(async () => {
  // Whatever happened above: no daemon left behind, no files.
  if (daemon !== undefined && daemon.child.exitCode === null && daemon.child.signalCode === null) await daemon.kill9();
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * SIGTERM and the exit code, or SIGKILL after 20 s. DaemonProcess.stop does the
 * same but leaves its 20 s timer running, which holds this file's process open.
 */
async function stop(d: DaemonProcess): Promise<number | null> {
  if (d.child.exitCode !== null) return d.child.exitCode;
  const exited = new Promise<number | null>((resolve) => d.child.once('exit', (code) => resolve(code)));
  d.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), 20_000); });
  const r = await Promise.race([exited, timeout]);
  clearTimeout(timer);
  if (r === 'timeout') {
    d.child.kill('SIGKILL');
    throw new Error(`the daemon did not stop on SIGTERM:\n${d.output().slice(-2000)}`);
  }
  return r;
}

/** One request as raw as Node's client lets it be; undefined when the client itself refuses to send it. */
function send(req: FuzzRequest): Promise<FuzzResponse | undefined> {
  return new Promise((resolve, reject) => {
    let r: http.ClientRequest;
    try {
      r = http.request({
        host: base.hostname, port: base.port, method: req.method, path: req.url,
        headers: { ...req.headers, ...(req.body === undefined ? {} : { 'content-length': Buffer.byteLength(req.body) }) },
        agent: false, timeout: 10_000,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
    } catch (err) {
      // Node's client refuses some paths and headers outright (ERR_UNESCAPED_CHARACTERS, ERR_INVALID_CHAR).
      if (String((err as NodeJS.ErrnoException).code).startsWith('ERR_')) return resolve(undefined);
      return reject(err);
    }
    r.on('timeout', () => r.destroy(new Error(`no answer in 10 s: ${describeRequest(req)}`)));
    r.on('error', reject);
    r.end(req.body);
  });
}

async function get(url: string, headers: Record<string, string> = AUTH): Promise<FuzzResponse> {
  const res = await send({ method: 'GET', url, headers });
  assert.ok(res !== undefined);
  return res;
}

/**
 * GET /services without what changes by itself (the data plane's counters and rates, the
 * verdicts of the health checks that fuzzed services turn on, and when a drained
 * backend was first seen empty), and the state file.
 */
async function snapshot(): Promise<unknown> {
  const res = await get('/api/v1/services');
  assert.equal(res.status, 200, res.body);
  const services = JSON.parse(res.body, (k, v: unknown) => (k === 'stats' || k === 'rates' || k === 'health' || k === 'emptySince' ? undefined : v));
  const file = path.join(dir, 'state.json');
  return { services, file: fs.existsSync(file) ? servicesOnDisk(file) : null };
}

test('~200 fuzzed requests over HTTP: no 5xx, every 4xx coded, reads and refusals change nothing', async () => {
  const { seed, numRuns } = fuzzParams(200, 24_0005);
  let sent = 0;
  let skipped = 0;
  const started = Date.now();
  await fc.assert(fc.asyncProperty(requestArb(TOKEN), async (req) => {
    const before = await snapshot();
    const res = await send(req);
    if (res === undefined) {
      skipped++;
      return;
    }
    sent++;
    checkResponse(req, res);
    if (mustNotChange(req, res.status)) {
      assert.deepStrictEqual(await snapshot(), before, `state changed by ${describeRequest(req)}\n  -> ${res.status} ${res.body.slice(0, 300)}`);
    }
    assert.equal(daemon!.child.exitCode, null, `the daemon exited after ${describeRequest(req)}:\n${daemon!.output().slice(-2000)}`);
  }), { seed, numRuns });
  console.log(`# rest-fuzz-daemon: seed ${seed}, ${sent} requests sent (${skipped} refused by the client) in ${Date.now() - started} ms`);
});

test('afterwards the daemon is alive, answers /healthz, takes a create and a delete, and stops cleanly', async () => {
  assert.equal(daemon!.child.exitCode, null, daemon!.output().slice(-2000));
  const health = await get('/healthz', {});
  assert.equal(health.status, 200, health.body);
  const body = JSON.stringify({ name: 'after-fuzz', vip: '10.99.0.120', port: 8080, backends: [{ address: '10.99.0.30', port: 8080 }] });
  const created = await send({ method: 'POST', url: '/api/v1/services', headers: { ...AUTH, 'content-type': 'application/json' }, body });
  assert.equal(created?.status, 201, created?.body);
  const deleted = await send({ method: 'DELETE', url: '/api/v1/services/after-fuzz', headers: AUTH });
  assert.equal(deleted?.status, 204, deleted?.body);
  const gone = await get('/api/v1/services/after-fuzz');
  assert.equal(gone.status, 404, gone.body);
  const code = await stop(daemon!);
  assert.equal(code, 0, daemon!.output().slice(-2000));
});
