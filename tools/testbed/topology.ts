// The test bed: one L2 segment, 10.99.0.0/24, built from a bridge inside its
// own namespace so the root namespace gains only two interfaces.
//
//   root ns                 sluice-sw (bridge sluice-br)        namespaces
//   sluice-lb   (DPDK) ---- sluice-p-lb
//   sluice-host .254   ---- sluice-p-host
//                           sluice-p-c   ---- eth0 .1   sluice-client
//                           sluice-p-b1  ---- eth0 .11  sluice-b1 (VIP .100 on lo)
//                           sluice-p-b2  ---- eth0 .12  sluice-b2
//                           sluice-p-b3  ---- eth0 .13  sluice-b3
//
// The balancer's net_af_packet port sits on sluice-lb (no address, ARP off: the
// kernel stays out of the way). Health probes leave through sluice-host. The
// backends hold the VIP on lo and never answer ARP for it (direct server
// return): requests go client -> balancer -> backend, replies backend -> client.
// For nat (NAT_VIP, not on any backend), replies go backend -> balancer -> client.
//
// up() first removes whatever a crashed run left, and down() is safe to call
// at any time, any number of times.
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import {
  execIn, ip, linkMac, removeLink, removeNetns, silenceLink, spawnReady,
} from './netns';
import { NS_IF, allSteps, attachDsrBackend, attachToSegment, createSegment, type BackendSpec, type Segment } from './segment';

export const SUBNET_PREFIX = 24;
export const VIP = '10.99.0.100';
export const SERVICE_PORT = 80;
export const BALANCER_ADDRESS = '10.99.0.2';
export const CLIENT_ADDRESS = '10.99.0.1';
export const HOST_ADDRESS = '10.99.0.254';
/** forwarding nat: a VIP no backend holds, to backends on their own port, from the balancer's pool */
export const NAT_VIP = '10.99.0.101';
export const NAT_BACKEND_PORT = 8080;
export const NAT_POOL = ['10.99.0.200', '10.99.0.201'];

export const SWITCH_NS = 'sluice-sw';
export const BRIDGE = 'sluice-br';
export const CLIENT_NS = 'sluice-client';
/** the balancer's interface, in the root namespace */
export const LB_IF = 'sluice-lb';
/** the host's kernel path to the segment (health probes), in the root namespace */
export const HOST_IF = 'sluice-host';

export type { BackendSpec } from './segment';

export const BACKENDS: readonly BackendSpec[] = [1, 2, 3].map((i) => ({
  name: `b${i}`,
  address: `10.99.0.${10 + i}`,
  netns: `sluice-b${i}`,
}));

export const LB_DEVICE = `net_af_packet0,iface=${LB_IF},qpairs=2`;

const SERVER_SCRIPT = path.join(__dirname, 'backend-server.js');
const SERVER_START_MS = 10_000;

const SEGMENT: Segment = { netns: SWITCH_NS, bridge: BRIDGE };

/** A veth whose `port` end is enslaved to the bridge and whose other end is `eth0` in `netns`. */
function attachNamespace(netns: string, port: string, address: string): void {
  attachToSegment(SEGMENT, netns, port);
  ip(netns, 'addr', 'add', `${address}/${SUBNET_PREFIX}`, 'dev', NS_IF);
  ip(netns, 'link', 'set', NS_IF, 'up');
}

/** A veth with `name` in the root namespace and its peer `port` on the bridge. */
function attachRoot(name: string, port: string): void {
  ip(undefined, 'link', 'add', name, 'type', 'veth', 'peer', 'name', port, 'netns', SWITCH_NS);
  silenceLink(name);
  ip(SWITCH_NS, 'link', 'set', port, 'master', BRIDGE, 'up');
}

export interface Topology {
  lbMac: string;
}

/** Builds the whole segment from nothing (after clearing leftovers). Throws with what failed. */
export function up(): Topology {
  down();
  try {
    createSegment(SEGMENT);

    attachRoot(LB_IF, 'sluice-p-lb');
    // DPDK owns this interface: the kernel must neither answer ARP nor send on it.
    ip(undefined, 'link', 'set', LB_IF, 'arp', 'off');
    ip(undefined, 'link', 'set', LB_IF, 'up');

    attachRoot(HOST_IF, 'sluice-p-host');
    ip(undefined, 'addr', 'add', `${HOST_ADDRESS}/${SUBNET_PREFIX}`, 'dev', HOST_IF);
    ip(undefined, 'link', 'set', HOST_IF, 'up');

    attachNamespace(CLIENT_NS, 'sluice-p-c', CLIENT_ADDRESS);
    // veth leaves TCP checksums to "hardware" (partial); af_packet hands such
    // frames to DPDK as they are and DSR forwards them unchanged, so the
    // backend's kernel would drop them. Checksum in software (TSO goes too).
    execIn(CLIENT_NS, 'ethtool', ['-K', NS_IF, 'tx', 'off']);

    for (const b of BACKENDS) {
      attachDsrBackend(SEGMENT, b, SUBNET_PREFIX, VIP);
      // nat replies pass through the balancer the way client requests do (above).
      execIn(b.netns, 'ethtool', ['-K', NS_IF, 'tx', 'off']);
    }
    return { lbMac: linkMac(LB_IF) };
  } catch (err) {
    down();
    throw err;
  }
}

/** Removes every namespace (killing what runs inside) and both root interfaces. */
export function down(): void {
  allSteps([
    // Root ends first: deleting one takes its bridge-side peer with it at once.
    () => removeLink(LB_IF),
    () => removeLink(HOST_IF),
    ...[CLIENT_NS, ...BACKENDS.map((b) => b.netns), SWITCH_NS].map((ns) => () => removeNetns(ns)),
  ]);
}

/**
 * Starts `b`'s HTTP server inside its namespace and resolves once it listens.
 * The caller owns the process (the namespace's removal kills it anyway).
 */
export function startBackendServer(b: BackendSpec, port = SERVICE_PORT): Promise<ChildProcess> {
  return spawnReady(b.netns, process.execPath, [SERVER_SCRIPT, b.name, String(port)], 'listening', SERVER_START_MS);
}
