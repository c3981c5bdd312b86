// The inner half of a tier node's API forwarding, run inside the node's
// namespace: listens on a unix socket (a path, which every namespace sees) and
// pipes each connection to host:port, the node's REST API on that namespace's
// loopback. The outer half (tier-api.ts) listens on the root namespace's
// loopback and pipes to the socket.
//   ip netns exec sluice-n1 node dist/tools/testbed/tier-forwarder.js /tmp/.../n1.sock 127.0.0.1:9090
// Prints "ready" once it listens; ends on SIGTERM or with its namespace.
import fs from 'node:fs';
import net from 'node:net';

const [socketPath, target] = process.argv.slice(2);
const m = /^(.+):(\d+)$/.exec(target ?? '');
if (socketPath === undefined || m === null) {
  process.stderr.write('usage: tier-forwarder UNIX_SOCKET HOST:PORT\n');
  process.exit(2);
}
const [host, port] = [m[1], Number(m[2])];

fs.rmSync(socketPath, { force: true });
const server = net.createServer((client) => {
  const upstream = net.connect({ host, port });
  client.pipe(upstream).pipe(client);
  // Either side failing (the daemon not running yet, restarting) ends both.
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
  client.on('close', () => upstream.destroy());
  upstream.on('close', () => client.destroy());
});
server.listen(socketPath, () => process.stdout.write('ready\n'));
const stop = () => {
  server.close();
  fs.rmSync(socketPath, { force: true });
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
