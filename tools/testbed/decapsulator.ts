// Tunnel endpoints for the test bed's backends (forwarding `tunnel`). The kernel
// here has neither the ipip nor the fou module, so decapsulate.py does their job
// in user space and hands the inner packet to a tun device; from there on the
// backend's kernel treats it as a Linux tunnel endpoint would: delivered to the
// VIP on lo, answered straight to the client.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { ip, setSysctl, spawnReady } from './netns';
import type { BackendSpec } from './topology';

export const GUE_PORT = 6080;
const TUN = 'decap0';
// Compiled to dist/tools/testbed/; the script itself is not compiled, so it is read
// from the source tree (the repository root is three levels up).
const SCRIPT = path.join(__dirname, '..', '..', '..', 'tools', 'testbed', 'decapsulate.py');
const START_MS = 10_000;

/**
 * Makes `b` a tunnel endpoint for ipip (IPv4-in-IPv4 and IPv6-in-IPv6) and GUE
 * over IPv4 (variant 1, to GUE_PORT) and resolves once it receives. IPv6 inner
 * packets need IPv6 on in the namespace before this creates the tun. The
 * namespace's removal ends the process and the tun.
 */
export function startDecapsulator(b: BackendSpec): Promise<ChildProcess> {
  // The outer source is per flow from the balancer's source network and the inner
  // one is the client's, neither of which this host routes to via the interface
  // it arrived on: strict reverse-path filtering would drop both (as it would for
  // a kernel tunnel, whose documented setup turns it off too).
  for (const dev of ['all', 'default', 'eth0']) setSysctl(`net/ipv4/conf/${dev}/rp_filter`, 0, b.netns);
  ip(b.netns, 'tuntap', 'add', 'dev', TUN, 'mode', 'tun');
  setSysctl(`net/ipv4/conf/${TUN}/rp_filter`, 0, b.netns);
  ip(b.netns, 'link', 'set', TUN, 'up');
  return spawnReady(b.netns, '/usr/bin/python3', [SCRIPT, TUN, String(GUE_PORT)], 'ready', START_MS);
}
