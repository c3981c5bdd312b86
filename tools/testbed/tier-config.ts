// A tier node's `sluice run` config: the af_packet port on eth0 inside its
// namespace with two queue pairs (its kernel interface sluice0 carrying the
// port's address), two worker lcores, one on each of the machine's two cores
// (as the demo's), the main lcore free to run on either; memory from the heap rather than
// hugepages (N nodes at once), the DSR service over the three backends with
// HTTP health checks, and BGP with the router.
import { PortSchema } from '../../src/config/schema';
import { daemonSettings, testbedService } from './config';
import {
  KERNEL_IF, NODE_ASN, NODE_IF, ROUTER_ADDRESS, ROUTER_ASN, TIER_BACKENDS, TIER_PREFIX, TIER_SERVICE_PORT, TIER_VIP,
  type KernelPath, type TierNodeSpec,
} from './tier-topology';

/**
 * 'tap' once the daemon's config knows ports[].kernelInterface, 'shared'
 * before; SLUICE_TIER_KERNEL_PATH=tap|shared says which.
 */
export function kernelPathSupported(): KernelPath {
  const forced = process.env.SLUICE_TIER_KERNEL_PATH;
  if (forced === 'tap' || forced === 'shared') return forced;
  return 'kernelInterface' in PortSchema.properties ? 'tap' : 'shared';
}

export interface TierNodeConfigOptions {
  kernelPath: KernelPath;
  /** host:port of the API inside the node's namespace */
  apiListen: string;
  stateFile?: string;
  /** BGP hold time with the router (s) */
  holdTimeSec?: number;
  /** more neighbors (a peer that never comes up) */
  extraNeighbors?: Record<string, unknown>[];
}

export function tierNodeConfig(n: TierNodeSpec, o: TierNodeConfigOptions): Record<string, unknown> {
  return {
    eal: { lcores: `0@(0-1),1@${n.k % 2},2@${(n.k + 1) % 2}`, hugepages: false, memoryMb: 512 },
    ports: [{
      name: 'seg', device: `net_af_packet0,iface=${NODE_IF},qpairs=2`, queues: 2, address: `${n.address}/${TIER_PREFIX}`,
      ...(o.kernelPath === 'tap' ? { kernelInterface: KERNEL_IF } : {}),
    }],
    ...daemonSettings(o),
    services: [testbedService('web', TIER_VIP, TIER_SERVICE_PORT, 'dsr', TIER_BACKENDS)],
    bgp: {
      asn: NODE_ASN,
      routerId: n.address,
      neighbors: [
        { address: ROUTER_ADDRESS, asn: ROUTER_ASN, holdTimeSec: o.holdTimeSec ?? 3 },
        ...(o.extraNeighbors ?? []),
      ],
    },
  };
}
