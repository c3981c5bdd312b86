// One long-lived keep-alive connection, for the end-to-end tests, run inside
// the client namespace:
//   ip netns exec sluice-client node dist/test/helpers/sticky-client.js \
//     --url http://10.99.0.100/ [--interval-ms 50] [--timeout-ms 2000] [--max-ms 60000]
// Sends a request every interval over ONE socket (it never opens a second one:
// a failure ends the run). Prints a JSON line {event: "first", backend} after
// the first answer; on SIGTERM/SIGINT (or after --max-ms) prints the summary
// {requests, failures, byBackend, sockets, errors} and exits.
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    'interval-ms': { type: 'string', default: '50' },
    'timeout-ms': { type: 'string', default: '2000' },
    'max-ms': { type: 'string', default: '60000' },
  },
});
if (values.url === undefined) {
  process.stderr.write('usage: sticky-client --url URL [--interval-ms MS] [--timeout-ms MS] [--max-ms MS]\n');
  process.exit(2);
}
const url = new URL(values.url);
const intervalMs = Number(values['interval-ms']);
const timeoutMs = Number(values['timeout-ms']);

const result = { requests: 0, failures: 0, byBackend: {} as Record<string, number>, sockets: 1, errors: [] as string[] };
let stopped = false;
let pending: { timer: NodeJS.Timeout; buf: string } | undefined;

function finish(): void {
  if (stopped) return;
  stopped = true;
  socket.destroy();
  process.stdout.write(`${JSON.stringify({ event: 'summary', ...result })}\n`);
  process.exit(0);
}

function fail(why: string): void {
  if (pending) clearTimeout(pending.timer);
  pending = undefined;
  result.requests++;
  result.failures++;
  result.errors.push(why);
  // One connection only: once it broke, there is nothing left to observe.
  finish();
}

// Raw HTTP/1.1 over one socket, so nothing can silently open a second one.
const socket = net.connect({ host: url.hostname, port: Number(url.port || 80) });
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
  pending = undefined;
  result.requests++;
  const backend = /^backend (\S+)/.exec(body)?.[1] ?? '?';
  if (result.requests === 1) process.stdout.write(`${JSON.stringify({ event: 'first', backend })}\n`);
  result.byBackend[backend] = (result.byBackend[backend] ?? 0) + 1;
  setTimeout(send, intervalMs);
});
socket.on('connect', send);

function send(): void {
  if (stopped) return;
  pending = { timer: setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs), buf: '' };
  socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\n\r\n`);
}

process.on('SIGTERM', finish);
process.on('SIGINT', finish);
setTimeout(finish, Number(values['max-ms']));
