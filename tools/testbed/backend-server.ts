// One test-bed backend: an HTTP server on 0.0.0.0:PORT whose every answer names
// it ("backend b1") and says how many body bytes it received (x-request-bytes),
// keep-alive on. Run inside its namespace by the test bed:
//   ip netns exec sluice-b1 node dist/tools/testbed/backend-server.js b1 [port]
// Prints "listening" once it accepts connections; ends on SIGTERM or SIGINT.
import http from 'node:http';

/** Long enough that a client's idle gaps between requests never close its socket. */
const KEEP_ALIVE_MS = 120_000;

const [name, portText = '80'] = process.argv.slice(2);
if (name === undefined || !/^\d+$/.test(portText)) {
  process.stderr.write('usage: backend-server NAME [PORT]\n');
  process.exit(2);
}

const body = `backend ${name}\n`;
const server = http.createServer((req, res) => {
  // The whole request is read before the answer, so the socket can carry the next one.
  let received = 0;
  req.on('data', (chunk: Buffer) => (received += chunk.length));
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), 'x-backend': name,
      'x-request-bytes': String(received) });
    res.end(body);
  });
});
server.keepAliveTimeout = KEEP_ALIVE_MS;
server.headersTimeout = KEEP_ALIVE_MS + 1000;
server.requestTimeout = 0;
server.listen(Number(portText), '0.0.0.0', () => process.stdout.write('listening\n'));

const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
