// The tier test bed's router: Debian's FRR (8.4) `zebra` and `bgpd` inside the
// sluice-rtr namespace, with their own config, pid, zserv and vty socket files
// in a directory of their own (nothing under /etc/frr or /var/run/frr, and a
// running frr.service is not touched: no pathspace of its, no TCP vty port).
// eBGP with every node (AS 65001, each node its own router id) from AS 65000,
// multipath, short timers (keepalive 1 s, hold 3 s) so a dead node's routes
// leave quickly even when its session's TCP connection is not closed.
//
// Both daemons run in the foreground under `setpriv --pdeathsig SIGKILL`: they
// end with the process that started them, however it ends. They stay root
// (`-u root`) because dropping to the frr user would clear that parent-death
// signal; `-g frrvty` is the vty group Debian's build insists the user be in
// (root is not, but the group given counts).
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { execIn, ip, spawnIn } from './netns';
import { NODE_ASN, ROUTER_ADDRESS, ROUTER_ASN, ROUTER_NS, type TierNodeSpec } from './tier-topology';

export const FRR_DIR = '/usr/lib/frr';
const START_MS = 10_000;

/** bgpd.conf for the nodes given; also what docs/tier.md shows. */
export function bgpdConfig(nodes: readonly TierNodeSpec[], o: { maximumPaths?: number; keepaliveSec?: number; holdSec?: number } = {}): string {
  const keepalive = o.keepaliveSec ?? 1;
  const hold = o.holdSec ?? 3;
  return [
    'frr defaults traditional',
    'hostname sluice-rtr',
    'log stdout informational',
    '!',
    `router bgp ${ROUTER_ASN}`,
    ` bgp router-id ${ROUTER_ADDRESS}`,
    // FRR 8 accepts nothing from an eBGP peer without a policy unless told so.
    ' no bgp ebgp-requires-policy',
    ` timers bgp ${keepalive} ${hold}`,
    ' neighbor NODES peer-group',
    ` neighbor NODES remote-as ${NODE_ASN}`,
    ` neighbor NODES timers ${keepalive} ${hold}`,
    // Connect to a node's gobgpd at once (it waits 5 to 9 s before its own try).
    ' neighbor NODES timers connect 1',
    ...nodes.map((n) => ` neighbor ${n.address} peer-group NODES`),
    ' !',
    ' address-family ipv4 unicast',
    `  maximum-paths ${Math.max(o.maximumPaths ?? 16, nodes.length)}`,
    ' exit-address-family',
    '!',
    '',
  ].join('\n');
}

export interface RouterPeer {
  address: string;
  state: string;
  prefixesReceived: number;
}

export class FrrRouter {
  private readonly procs: ChildProcess[] = [];
  private out = '';

  private constructor(readonly dir: string) {}

  /** Writes the configs into `dir` and starts zebra, then bgpd; resolves once bgpd answers vtysh. */
  static async start(dir: string, nodes: readonly TierNodeSpec[]): Promise<FrrRouter> {
    for (const bin of ['zebra', 'bgpd']) {
      if (!fs.existsSync(path.join(FRR_DIR, bin))) {
        throw new Error(`${FRR_DIR}/${bin} is missing: install Debian's frr package (bash scripts/setup.sh)`);
      }
    }
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'zebra.conf'), 'hostname sluice-rtr\n');
    fs.writeFileSync(path.join(dir, 'bgpd.conf'), bgpdConfig(nodes));
    const r = new FrrRouter(dir);
    try {
      r.spawn('zebra', []);
      await r.waitFor(() => fs.existsSync(path.join(dir, 'zserv.api')), 'zebra');
      r.spawn('bgpd', ['-p', '179']);
      await r.waitFor(() => {
        try {
          r.vtysh('show bgp summary json');
          return true;
        } catch {
          return false;
        }
      }, 'bgpd');
    } catch (err) {
      r.stop();
      throw err;
    }
    return r;
  }

  private spawn(daemon: string, extra: string[]): void {
    const d = this.dir;
    const child = spawnIn(ROUTER_NS, 'setpriv', ['--pdeathsig', 'SIGKILL', path.join(FRR_DIR, daemon),
      '-f', path.join(d, `${daemon}.conf`), '-i', path.join(d, `${daemon}.pid`), '-z', path.join(d, 'zserv.api'),
      '--vty_socket', d, '-P', '0', '-u', 'root', '-g', 'frrvty', '--log', 'stdout', ...extra]);
    this.procs.push(child);
    const keep = (chunk: Buffer) => {
      this.out += `${daemon}: ${chunk}`;
      if (this.out.length > 200_000) this.out = this.out.slice(-100_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  }

  private async waitFor(cond: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + START_MS;
    while (!cond()) {
      if (this.procs.some((p) => p.exitCode !== null || p.signalCode !== null)) {
        throw new Error(`FRR ${what} exited while starting:\n${this.out}`);
      }
      if (Date.now() > deadline) throw new Error(`FRR ${what} did not start within ${START_MS} ms:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  output(): string {
    return this.out;
  }

  /** A vtysh command against these daemons (their vty sockets), its output. */
  vtysh(command: string): string {
    return execIn(undefined, 'vtysh', ['--vty_socket', this.dir, '-c', command], { timeoutMs: 5000 });
  }

  /** Each node's session as bgpd sees it. */
  peers(): RouterPeer[] {
    const s = JSON.parse(this.vtysh('show bgp ipv4 unicast summary json')) as { peers?: Record<string, { state: string; pfxRcd?: number }> };
    return Object.entries(s.peers ?? {}).map(([address, p]) => ({ address, state: p.state, prefixesReceived: p.pfxRcd ?? 0 }));
  }

  stop(): void {
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  }
}

/** The next hops of `prefix` in the router namespace's kernel table (what zebra installed), sorted; none when absent. */
export function kernelNextHops(prefix: string): string[] {
  const routes = JSON.parse(ip(ROUTER_NS, '-j', 'route', 'show', prefix)) as { gateway?: string; nexthops?: { gateway: string }[] }[];
  const hops = routes.flatMap((r) => (r.nexthops ? r.nexthops.map((h) => h.gateway) : r.gateway ? [r.gateway] : []));
  return hops.sort((a, b) => Number(a.split('.')[3]) - Number(b.split('.')[3]));
}

/** `ip -n sluice-rtr route show PREFIX`, as printed. */
export function kernelRouteText(prefix: string): string {
  return ip(ROUTER_NS, 'route', 'show', prefix).trimEnd();
}
