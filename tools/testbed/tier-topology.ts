// The tier test bed's wiring (`npm start -- --nodes N`, test/system/tier.test.ts):
// N Sluice nodes, an FRR router, three DSR backends on one L2 segment
// (10.97.0.0/24, a bridge inside its own namespace), and a client on its own
// subnet (10.98.0.0/24) behind the router. Nothing is added to the root
// namespace.
//
//   sluice-client eth0 10.98.0.2 ---- eth1 10.98.0.1  sluice-rtr (FRR bgpd + zebra, ECMP, L4 hash)
//                                      eth0 10.97.0.1
//                                        |
//                         sluice-tsw (bridge sluice-tbr)
//        +---------------+---------------+---------------+---------------+
//   sluice-n1 eth0   sluice-n2 eth0   ...  sluice-b1 eth0   sluice-b2 ...   sluice-b3
//   (DPDK, .2)       (DPDK, .3)            .11, VIP on lo   .12             .13
//
// Node K's DPDK port (net_af_packet) sits on eth0 inside sluice-nK; its kernel
// interface (a TAP the daemon makes, `kernelInterface`) carries the port's
// address, so its gobgpd peers with the router and its health probes leave
// through the DPDK port. The backends hold the VIP on lo, never answer ARP for
// it, and route everything (replies to the client) through the router.
//
// `KernelPath` 'shared' is a stand-in for daemons without `kernelInterface`:
// the node's address goes on eth0 itself (ARP on), so the node's own kernel
// and af_packet share the veth. The kernel then sends straight onto the veth,
// not through the DPDK port.
//
// up() first removes whatever a crashed run left (any sluice-nK, whatever N it
// had), and down() is safe at any time, any number of times.
import { existsSync, readdirSync } from 'node:fs';
import { ensureNetns, execIn, ip, removeNetns, setSysctl, silenceLink } from './netns';
import { allSteps, attachDsrBackend, attachToSegment, createSegment, quietNamespace, type Segment } from './segment';
import type { BackendSpec } from './topology';

export const TIER_PREFIX = 24;
export const TIER_VIP = '10.90.0.100';
export const TIER_SERVICE_PORT = 80;
export const ROUTER_ADDRESS = '10.97.0.1';
export const ROUTER_CLIENT_ADDRESS = '10.98.0.1';
export const TIER_CLIENT_ADDRESS = '10.98.0.2';
export const ROUTER_ASN = 65000;
export const NODE_ASN = 65001;
export const MAX_NODES = 8;

export const TIER_SWITCH_NS = 'sluice-tsw';
export const TIER_BRIDGE = 'sluice-tbr';
export const ROUTER_NS = 'sluice-rtr';
export const TIER_CLIENT_NS = 'sluice-client';
/** Each node's interface inside its own namespace: the DPDK port's veth end. */
export const NODE_IF = 'eth0';
/** The kernel interface `sluice run` makes in the node's namespace (a TAP). */
export const KERNEL_IF = 'sluice0';

export type KernelPath = 'tap' | 'shared';

export interface TierNodeSpec {
  /** 1..N */
  k: number;
  netns: string;
  address: string;
  /** the node's veth end on the bridge, in sluice-tsw */
  switchPort: string;
}

export function nodeSpec(k: number): TierNodeSpec {
  if (!Number.isInteger(k) || k < 1 || k > MAX_NODES) throw new Error(`node ${k}: nodes are 1 to ${MAX_NODES}`);
  return { k, netns: `sluice-n${k}`, address: `10.97.0.${1 + k}`, switchPort: `sluice-p-n${k}` };
}

export const TIER_BACKENDS: readonly BackendSpec[] = [1, 2, 3].map((i) => ({
  name: `b${i}`,
  address: `10.97.0.${10 + i}`,
  netns: `sluice-b${i}`,
}));

const SEGMENT: Segment = { netns: TIER_SWITCH_NS, bridge: TIER_BRIDGE };

/** Builds the whole tier's network for `nodes` nodes, after clearing leftovers. Throws with what failed. */
export function tierUp(nodes: number, kernelPath: KernelPath): TierNodeSpec[] {
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > MAX_NODES) throw new Error(`--nodes must be 2 to ${MAX_NODES}, not ${nodes}`);
  tierDown();
  try {
    createSegment(SEGMENT);

    // The router: eth0 on the segment, eth1 to the client.
    attachToSegment(SEGMENT, ROUTER_NS, 'sluice-p-rtr');
    ip(ROUTER_NS, 'addr', 'add', `${ROUTER_ADDRESS}/${TIER_PREFIX}`, 'dev', 'eth0');
    ip(ROUTER_NS, 'link', 'set', 'eth0', 'up');
    ensureNetns(TIER_CLIENT_NS);
    quietNamespace(TIER_CLIENT_NS);
    ip(ROUTER_NS, 'link', 'add', 'eth1', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', TIER_CLIENT_NS);
    ip(ROUTER_NS, 'addr', 'add', `${ROUTER_CLIENT_ADDRESS}/${TIER_PREFIX}`, 'dev', 'eth1');
    ip(ROUTER_NS, 'link', 'set', 'eth1', 'up');
    setSysctl('net/ipv4/ip_forward', 1, ROUTER_NS);
    // ECMP by the 5-tuple (L4 hash), not by addresses alone: one client's
    // connections spread over the nodes.
    setSysctl('net/ipv4/fib_multipath_hash_policy', 1, ROUTER_NS);
    for (const dev of ['all', 'default', 'eth0', 'eth1']) {
      // Replies from the backends come from the VIP, which the router routes to the nodes.
      setSysctl(`net/ipv4/conf/${dev}/rp_filter`, 0, ROUTER_NS);
      setSysctl(`net/ipv4/conf/${dev}/send_redirects`, 0, ROUTER_NS);
    }

    ip(TIER_CLIENT_NS, 'addr', 'add', `${TIER_CLIENT_ADDRESS}/${TIER_PREFIX}`, 'dev', 'eth0');
    ip(TIER_CLIENT_NS, 'link', 'set', 'eth0', 'up');
    ip(TIER_CLIENT_NS, 'route', 'add', 'default', 'via', ROUTER_CLIENT_ADDRESS);
    // The router forwards the client's frames as they are and the nodes (DSR)
    // too: a checksum left to "hardware" (veth's partial checksums) would reach
    // the backend unfinished, through af_packet. Checksum in software.
    execIn(TIER_CLIENT_NS, 'ethtool', ['-K', 'eth0', 'tx', 'off']);

    const specs: TierNodeSpec[] = [];
    for (let k = 1; k <= nodes; k++) {
      const n = nodeSpec(k);
      attachToSegment(SEGMENT, n.netns, n.switchPort, NODE_IF);
      silenceLink(NODE_IF, n.netns);
      if (kernelPath === 'shared') {
        ip(n.netns, 'addr', 'add', `${n.address}/${TIER_PREFIX}`, 'dev', NODE_IF);
      } else {
        // DPDK owns this interface: the kernel must neither answer ARP nor send on it.
        ip(n.netns, 'link', 'set', NODE_IF, 'arp', 'off');
      }
      ip(n.netns, 'link', 'set', NODE_IF, 'up');
      specs.push(n);
    }

    for (const b of TIER_BACKENDS) {
      attachDsrBackend(SEGMENT, b, TIER_PREFIX, TIER_VIP);
      // Replies go to the client through the router, straight from the backend (DSR).
      ip(b.netns, 'route', 'add', 'default', 'via', ROUTER_ADDRESS);
    }
    return specs;
  } catch (err) {
    tierDown();
    throw err;
  }
}

/** Every node namespace there is (sluice-n1, sluice-n2, ...), whatever N made them. */
function nodeNamespaces(): string[] {
  if (!existsSync('/run/netns')) return [];
  return readdirSync('/run/netns').filter((n) => /^sluice-n[0-9]+$/.test(n));
}

/** Removes every namespace of the tier (killing what runs inside). */
export function tierDown(): void {
  allSteps([ROUTER_NS, TIER_CLIENT_NS, ...nodeNamespaces(), ...TIER_BACKENDS.map((b) => b.netns), TIER_SWITCH_NS]
    .map((ns) => () => removeNetns(ns)));
}
