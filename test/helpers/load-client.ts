// A load generator for the end-to-end tests, run inside the client namespace:
//   ip netns exec sluice-client node dist/test/helpers/load-client.js \
//     --url http://10.99.0.100/ --concurrency 50 (--requests N | --duration-ms MS) \
//     [--keepalive] [--timeout-ms 3000]
// C workers issue requests until N are done (or the duration is over): a new
// connection per request, or with --keepalive, C kept-alive sockets. Prints one
// JSON line: {requests, failures, byBackend, failuresBy, errors, elapsedMs}.
// failuresBy says which backend the failed request's socket last talked to
// ("new" for a socket that never had an answer), so a test can tell failures
// on an affected backend from failures elsewhere.
import http from 'node:http';
import type { Socket } from 'node:net';
import { parseArgs } from 'node:util';

const MAX_ERRORS_KEPT = 5;

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    requests: { type: 'string' },
    'duration-ms': { type: 'string' },
    concurrency: { type: 'string', default: '10' },
    keepalive: { type: 'boolean', default: false },
    'timeout-ms': { type: 'string', default: '3000' },
  },
});
if (values.url === undefined || (values.requests === undefined) === (values['duration-ms'] === undefined)) {
  process.stderr.write('usage: load-client --url URL (--requests N | --duration-ms MS) [--concurrency C] [--keepalive] [--timeout-ms MS]\n');
  process.exit(2);
}
const url = new URL(values.url);
const total = values.requests === undefined ? Infinity : Number(values.requests);
const endAt = values['duration-ms'] === undefined ? Infinity : Date.now() + Number(values['duration-ms']);
const concurrency = Number(values.concurrency);
const timeoutMs = Number(values['timeout-ms']);
const agent = values.keepalive ? new http.Agent({ keepAlive: true, maxSockets: concurrency }) : false;

const result = {
  requests: 0,
  failures: 0,
  byBackend: {} as Record<string, number>,
  failuresBy: {} as Record<string, number>,
  errors: [] as string[],
  elapsedMs: 0,
};
const socketBackend = new WeakMap<Socket, string>();
let started = 0;
const bump = (m: Record<string, number>, k: string) => (m[k] = (m[k] ?? 0) + 1);

function once(): Promise<void> {
  return new Promise((resolve) => {
    let done = false;
    let socket: Socket | undefined;
    const finish = (backend: string | undefined, error?: string) => {
      if (done) return;
      done = true;
      result.requests++;
      if (backend !== undefined) {
        bump(result.byBackend, backend);
        if (socket) socketBackend.set(socket, backend);
      } else {
        result.failures++;
        bump(result.failuresBy, (socket && socketBackend.get(socket)) ?? 'new');
        if (result.errors.length < MAX_ERRORS_KEPT) result.errors.push(error ?? 'unknown');
      }
      resolve();
    };
    const req = http.get({ host: url.hostname, port: url.port || 80, path: url.pathname, agent, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        const m = /^backend (\S+)/.exec(body);
        if (res.statusCode === 200 && m) finish(m[1]);
        else finish(undefined, `status ${res.statusCode}: ${body.slice(0, 80)}`);
      });
      res.on('error', (e) => finish(undefined, e.message));
    });
    req.on('socket', (s) => (socket = s));
    req.on('timeout', () => {
      req.destroy(new Error(`timeout after ${timeoutMs} ms`));
    });
    req.on('error', (e) => finish(undefined, `${(e as NodeJS.ErrnoException).code ?? ''} ${e.message}`.trim()));
  });
}

async function worker(): Promise<void> {
  while (started < total && Date.now() < endAt) {
    started++;
    await once();
  }
}

const t0 = Date.now();
Promise.all(Array.from({ length: concurrency }, worker)).then(() => {
  result.elapsedMs = Date.now() - t0;
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (agent) agent.destroy();
  process.exit(0);
});
