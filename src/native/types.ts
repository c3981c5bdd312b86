// The shapes that cross the N-API boundary. TypeScript validates the operator's
// config and converts it to these; native/addon/config_from_js.cc checks them again.

export interface NativePort {
  name: string;
  /** vdev spec ("net_pcap0,rx_pcap=in.pcap"), PCI address, or "ring" (in-process test port) */
  device: string;
  queues: number;
  /** the balancer's own IPv4 address on this port */
  address: string;
  prefixLength: number;
  gateway?: string;
  /** the balancer's own IPv6 address on this port, for IPv6 services */
  address6?: string;
  /** with address6 */
  prefixLength6?: number;
  /** IPv6 next hop of off-link tunnel backends; needs address6 */
  gateway6?: string;
  mtu: number;
  rxDescriptors: number;
  txDescriptors: number;
  /** forwarding nat's source addresses and ports on this port */
  natPool?: NativeNatPool;
  /** the TAP carrying the node's own traffic over this port, and its frame rate */
  kernelInterface?: { name: string; packetsPerSec: number };
}

export interface NativeNatPool {
  /** IPv4 addresses on the port's subnet, each once */
  addresses: string[];
  /** IPv6 addresses in the port's address6 prefix, each once */
  addresses6?: string[];
  portMin: number;
  portMax: number;
}

export interface NativeWorker {
  lcore: number;
  /** `port` is an index into NativeStartConfig.ports */
  rx: { port: number; queue: number }[];
}

export interface NativeFlowTable {
  entriesPerLcore: number;
  tcpTimeoutSec: number;
  tcpClosingTimeoutSec: number;
  udpTimeoutSec: number;
  admission: { newFlowsPerSec: number; burst: number };
}

/** IP fragments, per lcore (src/config/schema.ts FragmentsSchema) */
export interface NativeFragments {
  enabled: boolean;
  entriesPerLcore: number;
  holdMs: number;
  heldBytesPerLcore: number;
}

/** The most the data plane may allocate of each kind, in bytes (at most 2^53). */
export interface NativeLimits {
  /** every lookup table alive at once, retired snapshots' included */
  lookupTableBytes: number;
  /** all workers' flow tables, IPv4 and IPv6 */
  flowTableBytes: number;
  /** all workers' nat session tables, both families */
  natSessionBytes: number;
}

export interface NativeStartConfig {
  /** argv for rte_eal_init, argv[0] included */
  ealArgs: string[];
  ports: NativePort[];
  workers: NativeWorker[];
  flowTable: NativeFlowTable;
  /** absent: the defaults, on */
  fragments?: NativeFragments;
  /** 0: sized from ports, queues and workers */
  mbufsPerSocket: number;
  /** longest sleep of an idle worker, microseconds; 0 never sleeps */
  idleSleepMaxUs: number;
  neighborRefreshSec: number;
  /** allocations beyond these are refused with SLUICE_LIMIT_EXCEEDED */
  limits: NativeLimits;
}

export type NativeAdminState = 'active' | 'drain' | 'disabled';

export interface NativeBackend {
  /** global backend id, < 65536, stable while the backend exists */
  id: number;
  address: string;
  port: number;
  weight: number;
  state: NativeAdminState;
  healthy: boolean;
  /** static next-hop MAC; resolved by ARP or neighbor discovery when absent */
  mac?: string;
  /** QUIC-LB server ID, lower-case hex of the service's quicLb.serverIdLength octets */
  serverId?: string;
}

/** A UDP service's QUIC-LB config (src/config/schema.ts QuicLbSchema), checked. */
export interface NativeQuicLb {
  configId: number;
  serverIdLength: number;
  nonceLength: number;
  algorithm: 'plaintext' | 'single-pass' | 'four-pass';
  /** 32 lower-case hex digits; absent with plaintext */
  key?: string;
}

export interface NativeTunnel {
  encapsulation: 'ipip' | 'gue';
  guePort: number;
  /** fixed outer source; absent: per flow from sourceNetwork (ipip), the egress port address (gue) */
  source?: string;
  /** network address of the service's family (the VIP's), host bits zero */
  sourceNetwork: string;
  /** IPv4: 8 to 24; IPv6: 96 to 120 */
  sourcePrefixLength: number;
}

export interface NativeService {
  /** global service id, < 1024, stable while the service exists */
  id: number;
  name: string;
  vip: string;
  port: number;
  protocol: 'tcp' | 'udp';
  forwarding: 'dsr' | 'tunnel' | 'nat';
  /** with forwarding tunnel only, and then required */
  tunnel?: NativeTunnel;
  quicLb?: NativeQuicLb;
  /** prime, 2 to 16777259 (native kMaxLookupTableSize) */
  lookupTableSize: number;
  backends: NativeBackend[];
}

/** The running service's backends [start, end), in its order, unchanged. */
export type NativeBackendRun = [start: number, end: number];

/**
 * A service as setServices takes it: a backend that is a number is the backend
 * of that id of the running service with the same id, unchanged, and a run
 * stands for that stretch of its backends; so a change of one backend of 4,096
 * sends that backend and the two runs around it.
 */
export type NativeServiceChange = Omit<NativeService, 'backends'> & {
  backends: (NativeBackend | number | NativeBackendRun)[];
};
