// What both test beds (topology.ts, one balancer; tier-topology.ts, N nodes)
// build their L2 segment from: a bridge inside a namespace of its own, veths
// from it into other namespaces, and DSR backends on it.
import { existsSync } from 'node:fs';
import { ensureNetns, ip, removeLink, removeNetns, setSysctl, silenceLink } from './netns';

export interface BackendSpec {
  /** b1, b2, ...: what its server answers and its namespace's suffix */
  name: string;
  address: string;
  netns: string;
}

/** Each namespace's end of its veth to the bridge. */
export const NS_IF = 'eth0';

const ipv6 = existsSync('/proc/sys/net/ipv6');

/** No IPv6 chatter (router/neighbor solicitations, MLD) on anything created in `netns` from now on. */
export function quietNamespace(netns: string): void {
  if (!ipv6) return;
  setSysctl('net/ipv6/conf/all/disable_ipv6', 1, netns);
  setSysctl('net/ipv6/conf/default/disable_ipv6', 1, netns);
}

/** A segment: `bridge` inside namespace `netns`. */
export interface Segment {
  netns: string;
  bridge: string;
}

/** Creates the segment's namespace and its bridge, up (no STP, no forward delay, no multicast snooping). */
export function createSegment(s: Segment): void {
  ensureNetns(s.netns);
  quietNamespace(s.netns);
  ip(s.netns, 'link', 'add', s.bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0');
  ip(s.netns, 'link', 'set', s.bridge, 'up');
}

/** A veth whose `port` end is enslaved to the bridge (up) and whose other end is `ifname` in `netns` (down, no address). */
export function attachToSegment(s: Segment, netns: string, port: string, ifname = NS_IF): void {
  ensureNetns(netns);
  quietNamespace(netns);
  ip(s.netns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', ifname, 'netns', netns);
  ip(s.netns, 'link', 'set', port, 'master', s.bridge, 'up');
}

/**
 * Backend `b` on the segment (bridge port sluice-p-NAME): its address/`prefix`
 * on eth0, up, and `vip` on lo, for which it never answers ARP (direct server
 * return).
 */
export function attachDsrBackend(s: Segment, b: BackendSpec, prefix: number, vip: string): void {
  attachToSegment(s, b.netns, `sluice-p-${b.name}`);
  ip(b.netns, 'addr', 'add', `${b.address}/${prefix}`, 'dev', NS_IF);
  ip(b.netns, 'addr', 'add', `${vip}/32`, 'dev', 'lo');
  ip(b.netns, 'link', 'set', NS_IF, 'up');
  setSysctl('net/ipv4/conf/all/arp_ignore', 1, b.netns);
  setSysctl('net/ipv4/conf/all/arp_announce', 2, b.netns);
}

/**
 * The balancer's af_packet interface `name` in the root namespace, its peer
 * `port` on the bridge; up, silenced and without ARP.
 */
export function attachDpdkInterface(s: Segment, name: string, port: string): void {
  ip(undefined, 'link', 'add', name, 'type', 'veth', 'peer', 'name', port, 'netns', s.netns);
  silenceLink(name);
  ip(s.netns, 'link', 'set', port, 'master', s.bridge, 'up');
  // DPDK owns this interface: the kernel must neither answer ARP nor send on it.
  ip(undefined, 'link', 'set', name, 'arp', 'off');
  ip(undefined, 'link', 'set', name, 'up');
}

/**
 * Removes a test bed: its root-namespace interfaces first (deleting one takes
 * its bridge-side peer with it at once), then its namespaces with what runs in
 * them, the segment's last. Safe when none exist.
 */
export function removeTestbed(rootLinks: readonly string[], namespaces: readonly string[]): void {
  allSteps([...rootLinks.map((l) => () => removeLink(l)), ...namespaces.map((ns) => () => removeNetns(ns))]);
}

/** Runs every step, even after one failed; then throws the first failure. */
export function allSteps(steps: (() => void)[]): void {
  const errors: unknown[] = [];
  for (const f of steps) {
    try {
      f();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length > 0) throw errors[0];
}
