// A tier node's REST API from the root namespace: the daemon listens on
// 127.0.0.1:PORT inside its own namespace, which the root namespace cannot
// reach. A forwarder inside it (tier-forwarder.ts) listens on a unix socket
// file; this listener on the root namespace's 127.0.0.1:PORT pipes each
// connection to that socket. Unix sockets bound to a path cross namespaces.
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { spawnReady } from './netns';

const FORWARDER = path.join(__dirname, 'tier-forwarder.js');
const START_MS = 10_000;

export class ApiForward {
  private constructor(private readonly server: net.Server, private readonly inner: ChildProcess, readonly port: number) {}

  /** Forwards 127.0.0.1:`port` of the root namespace to 127.0.0.1:`port` inside `netns`, through `socketPath`. */
  static async start(netns: string, port: number, socketPath: string): Promise<ApiForward> {
    const inner = await spawnReady(netns, 'setpriv',
      ['--pdeathsig', 'SIGKILL', process.execPath, FORWARDER, socketPath, `127.0.0.1:${port}`], 'ready', START_MS);
    const server = net.createServer((client) => {
      const upstream = net.connect(socketPath);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => resolve());
      });
    } catch (err) {
      inner.kill('SIGKILL');
      throw new Error(`127.0.0.1:${port} in the root namespace: ${(err as Error).message} (another Sluice or demo running?)`);
    }
    // Its open connections must not keep a test or the demo alive.
    server.unref();
    return new ApiForward(server, inner, port);
  }

  /** Synchronous: also runs from an 'exit' handler. */
  close(): void {
    this.server.close();
    this.inner.kill('SIGKILL');
  }
}
