// The document the daemon pushes to the dashboard once a second: what the page
// shows, already joined and turned into rates, so the page only draws it. Kept
// free of imports: both the daemon (src/api/dashboard-snapshot.ts) and the
// browser bundle (esbuild) compile it. Rates are per second over the last
// interval and absent until two reads exist, never 0 for "unknown".

export interface PortSnapshot {
  name: string;
  linkUp: boolean;
  speedMbps: number;
  rxPps?: number;
  txPps?: number;
  missedPps?: number;
  rxMissed: number;
}

export interface LcoreSnapshot {
  lcore: number;
  /** share of cycles spent on packets over the last interval (the counters' running ratio before two reads) */
  busy: number;
  rxPps?: number;
  flows: number;
  natSessions: number;
  natCapacity: number;
}

export interface BackendSnapshot {
  key: string;
  state: 'active' | 'drain' | 'disabled';
  weight: number;
  health: 'up' | 'down' | 'unchecked' | 'unknown';
  lastProbeAt?: string;
  lastError?: string;
  activeFlows?: number;
  pps?: number;
  newFlowsPerSec?: number;
  /** a draining backend that reached 0 active flows: when (ISO) */
  emptySince?: string;
}

export interface ServiceSnapshot {
  name: string;
  vip: string;
  port: number;
  protocol: 'tcp' | 'udp';
  forwarding: string;
  pps?: number;
  bps?: number;
  newFlowsPerSec?: number;
  activeFlows?: number;
  backendsUp: number;
  backends: BackendSnapshot[];
}

export interface BgpSnapshot {
  speaker?: string;
  peers: { address: string; asn: number; state: string; uptimeSec?: number }[];
  vips: { vip: string; announced: boolean; reason: string }[];
}

export interface Snapshot {
  /** ms since the epoch, when the snapshot was built */
  at: number;
  /** seconds the rates span (0 before two reads) */
  intervalSec: number;
  node: {
    name: string;
    version: string;
    uptimeSec: number;
    state: 'active' | 'draining';
    running: boolean;
  };
  ports: PortSnapshot[];
  lcores: LcoreSnapshot[];
  /** every worker lcore together */
  totals: { rxPps?: number; newFlowsPerSec?: number; dropsPerSec?: number };
  /** drop reasons with a non-zero rate, per second */
  drops: Record<string, number>;
  admission: { refusedPerSec?: number; protectedPerSec?: number; refused: number };
  services: ServiceSnapshot[];
  bgp?: BgpSnapshot;
}
