// Long-lived keep-alive connections, for the end-to-end and tier tests, run
// inside the client namespace:
//   ip netns exec sluice-client node dist/test/helpers/sticky-client.js \
//     --url http://10.99.0.100/ [--connections 1] [--interval-ms 50] [--timeout-ms 2000] [--max-ms 60000]
// Each connection sends a request every interval over ONE socket and never opens
// another: a failure ends that connection. Prints a JSON line {event: "first",
// backend, backends, ports} once every connection had its first answer (backend
// is the first connection's, ports each connection's local port, so a tier test
// can tell which node carried it); on SIGTERM/SIGINT, after --max-ms, or once
// every connection has ended, prints the summary {requests, failures, byBackend,
// sockets, errors, connections} and exits. connections[i] has that socket's
// {localPort, first, requests, failures, byBackend, errors, lastAnswerAt,
// maxWaitMs}: maxWaitMs is its longest wait for one answer, lastAnswerAt an
// epoch time.
import net from 'node:net';
import { parseArgs } from 'node:util';
import type { StickyConnection } from './testbed-run';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    connections: { type: 'string', default: '1' },
    'interval-ms': { type: 'string', default: '50' },
    'timeout-ms': { type: 'string', default: '2000' },
    'max-ms': { type: 'string', default: '60000' },
  },
});
if (values.url === undefined) {
  process.stderr.write('usage: sticky-client --url URL [--connections N] [--interval-ms MS] [--timeout-ms MS] [--max-ms MS]\n');
  process.exit(2);
}
const url = new URL(values.url);
const intervalMs = Number(values['interval-ms']);
const timeoutMs = Number(values['timeout-ms']);

type Connection = StickyConnection & { ended: boolean };

const connections: Connection[] = [];
let stopped = false;
let firstPrinted = false;
const sockets: net.Socket[] = [];

function finish(): void {
  if (stopped) return;
  stopped = true;
  for (const s of sockets) s.destroy();
  const byBackend: Record<string, number> = {};
  for (const c of connections) for (const [b, n] of Object.entries(c.byBackend)) byBackend[b] = (byBackend[b] ?? 0) + n;
  const summary = {
    event: 'summary',
    requests: connections.reduce((n, c) => n + c.requests, 0),
    failures: connections.reduce((n, c) => n + c.failures, 0),
    byBackend,
    sockets: sockets.length,
    errors: connections.flatMap((c) => c.errors),
    connections: connections.map(({ ended: _e, ...c }) => c),
  };
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(0);
}

function open(): void {
  const c: Connection = { requests: 0, failures: 0, byBackend: {}, errors: [], maxWaitMs: 0, ended: false };
  connections.push(c);
  let pending: { timer: NodeJS.Timeout; buf: string; sentAt: number } | undefined;

  const fail = (why: string): void => {
    if (c.ended || stopped) return;
    if (pending) clearTimeout(pending.timer);
    pending = undefined;
    c.requests++;
    c.failures++;
    c.errors.push(why);
    // One socket per connection: once it broke, there is nothing left to observe on it.
    c.ended = true;
    socket.destroy();
    if (connections.every((x) => x.ended)) finish();
  };

  const send = (): void => {
    if (stopped || c.ended) return;
    pending = { timer: setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs), buf: '', sentAt: Date.now() };
    socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\n\r\n`);
  };

  // Raw HTTP/1.1 over one socket, so nothing can silently open a second one.
  const socket = net.connect({ host: url.hostname, port: Number(url.port || 80) });
  sockets.push(socket);
  socket.setEncoding('utf8');
  socket.on('error', (e) => fail(`socket: ${e.message}`));
  socket.on('close', () => fail('socket closed'));
  socket.on('data', (d: string) => {
    if (!pending) return;
    pending.buf += d;
    const head = pending.buf.indexOf('\r\n\r\n');
    if (head < 0) return;
    const len = Number(/content-length:\s*(\d+)/i.exec(pending.buf.slice(0, head))?.[1] ?? -1);
    const body = pending.buf.slice(head + 4);
    if (len < 0 || body.length < len) return;
    clearTimeout(pending.timer);
    c.lastAnswerAt = Date.now();
    c.maxWaitMs = Math.max(c.maxWaitMs, c.lastAnswerAt - pending.sentAt);
    pending = undefined;
    c.requests++;
    const backend = /^backend (\S+)/.exec(body)?.[1] ?? '?';
    c.first ??= backend;
    c.byBackend[backend] = (c.byBackend[backend] ?? 0) + 1;
    if (!firstPrinted && connections.every((x) => x.first !== undefined)) {
      firstPrinted = true;
      process.stdout.write(`${JSON.stringify({
        event: 'first', backend: connections[0].first, backends: connections.map((x) => x.first), ports: connections.map((x) => x.localPort),
      })}\n`);
    }
    setTimeout(send, intervalMs);
  });
  socket.on('connect', () => {
    c.localPort = socket.localPort;
    send();
  });
}

for (let i = 0; i < Number(values.connections); i++) open();

process.on('SIGTERM', finish);
process.on('SIGINT', finish);
setTimeout(finish, Number(values['max-ms']));
