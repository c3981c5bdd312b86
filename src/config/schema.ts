// The operator's config file. The schema checks shape and ranges and supplies
// defaults; rules that relate fields to each other live in semantics.ts.
// Defaulted fields are not Optional: validation fills them before checking, so
// the Static type is the config with every default present.
import { Type, type Static } from '@sinclair/typebox';

const strict = { additionalProperties: false } as const;

// A name is a URL path segment (/api/v1/services/<name>) and a CLI argument: one
// that starts with a letter or digit is never "." or "..", which clients resolve
// away, nor an option like "-x".
const Name = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$',
  description: '1 to 32 of A-Z a-z 0-9 _ . -, starting with a letter or digit',
});
const Int = (minimum: number, maximum: number, extra: { default?: number; description?: string } = {}) =>
  Type.Integer({ minimum, maximum, ...extra });
const L4Port = Int(1, 65535);

export const EalSchema = Type.Object(
  {
    lcores: Type.String({ minLength: 1, description: 'DPDK --lcores syntax; the first lcore is main' }),
    hugepages: Type.Boolean({ default: true }),
    memoryMb: Int(64, 1048576, { default: 1024 }),
    extraArgs: Type.Array(Type.String(), { default: [] }),
  },
  strict,
);

/** Source ports of a nat pool when the config names none: all but the well-known ones. */
export const NAT_PORT_RANGE_DEFAULT: [number, number] = [1024, 65535];
/** Most addresses one nat pool holds (native kMaxNatPoolAddresses). */
export const MAX_NAT_POOL_ADDRESSES = 4096;

export const NatPoolSchema = Type.Object(
  {
    addresses: Type.Array(Type.String(), {
      minItems: 1,
      maxItems: 64,
      description: 'IPv4 addresses or prefixes (like 10.99.0.64/28) on the port\'s subnet; the backends see ' +
        'connections from these; at most 4096 addresses in all',
    }),
    addresses6: Type.Optional(Type.Array(Type.String(), {
      maxItems: 64,
      description: 'IPv6 addresses or prefixes (like fd00:99::100/120) in the port\'s address6 prefix, the ' +
        'source of IPv6 nat services towards backends on this port; at most 4096 addresses in all',
    })),
    portRange: Type.Tuple([L4Port, L4Port], {
      default: NAT_PORT_RANGE_DEFAULT,
      description: 'lowest and highest source port used on each pool address',
    }),
  },
  { ...strict, description: 'forwarding nat: source addresses and ports towards backends on this port' },
);

/** Frames a second per port handed to its kernel interface when the config names no rate. */
export const KERNEL_PPS_DEFAULT = 20000;

export const PortSchema = Type.Object(
  {
    name: Name,
    device: Type.String({ minLength: 1, description: 'vdev spec (net_...), PCI address, or "ring"' }),
    queues: Int(1, 64, { default: 1 }),
    address: Type.String({ description: 'own IPv4 address with prefix length, like 10.99.0.2/24' }),
    gateway: Type.Optional(Type.String()),
    address6: Type.Optional(Type.String({
      description: 'own IPv6 address with prefix length, like fd00:99::2/64; needed by IPv6 services',
    })),
    gateway6: Type.Optional(Type.String({
      description: 'IPv6 next hop of off-link IPv6 tunnel backends: inside address6\'s prefix, or link-local (fe80::/10)',
    })),
    mtu: Int(68, 9600, { default: 1500 }),
    rxDescriptors: Int(64, 16384, { default: 1024 }),
    txDescriptors: Int(64, 16384, { default: 1024 }),
    natPool: Type.Optional(NatPoolSchema),
    /** a TAP of this name carries the node's own traffic over the port (docs/configuration.md, "The kernel interface") */
    kernelInterface: Type.Optional(Type.String({
      pattern: '^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,14}$',
      description: 'a Linux interface name: 1 to 15 of A-Z a-z 0-9 _ . -, not starting with .',
    })),
    kernelPacketsPerSec: Type.Optional(Int(1, 10000000, {
      description: `frames a second the worker lcores together hand to the kernel interface; default ${KERNEL_PPS_DEFAULT}`,
    })),
  },
  strict,
);

export const WorkerSchema = Type.Object(
  {
    lcore: Int(0, 127),
    rx: Type.Array(Type.Object({ port: Type.String(), queue: Int(0, 63) }, strict)),
  },
  strict,
);

/**
 * New-flow admission per worker lcore (native/tables/admission.h): a token bucket over
 * the flows the table remembers, so a flood of new 5-tuples cannot evict the
 * established flows wholesale. Refused flows are still forwarded to their lookup
 * table's pick; they are only not protected across backend changes.
 */
export const AdmissionSchema = Type.Object(
  {
    newFlowsPerSec: Int(0, 1073741824, { default: 200000, description: 'per lcore; 0 = unlimited' }),
    burst: Int(1, 1073741824, { default: 50000 }),
  },
  { ...strict, default: {} },
);

export const FlowTableSchema = Type.Object(
  {
    entriesPerLcore: Int(1024, 67108864, { default: 1048576 }),
    tcpTimeoutSec: Int(1, 86400, { default: 300 }),
    tcpClosingTimeoutSec: Int(1, 86400, { default: 10 }),
    udpTimeoutSec: Int(1, 86400, { default: 30 }),
    admission: AdmissionSchema,
  },
  { ...strict, default: {} },
);

/**
 * IP fragments (docs/forwarding-modes.md, "IP fragments"): each worker lcore
 * remembers where a datagram's first fragment went, in a table of its own
 * apart from the flow table, and holds fragments that come before their
 * first. Per lcore; allocated at start.
 */
export const FragmentsSchema = Type.Object(
  {
    /** false: every fragment is dropped (ip_fragment), as before */
    enabled: Type.Boolean({ default: true }),
    entriesPerLcore: Int(8, 1048576, {
      default: 4096,
      description: 'datagrams remembered at once, rounded up to a power of two; a full table drops new ones',
    }),
    holdMs: Int(1, 10000, {
      default: 10,
      description: 'how long a datagram is remembered past its latest fragment, and the longest a fragment waits for its first',
    }),
    heldBytesPerLcore: Int(0, 1073741824, {
      default: 1048576,
      description: 'bytes of fragments waiting for their first at once; 0: none waits, they are dropped',
    }),
  },
  { ...strict, default: {} },
);

export const DataplaneSchema = Type.Object(
  {
    idleSleepMaxUs: Int(0, 100000, { default: 100 }),
    mbufsPerSocket: Int(0, 4294967295, { default: 0 }),
    neighborRefreshSec: Int(1, 3600, { default: 30 }),
  },
  { ...strict, default: {} },
);

/**
 * The memory budget (src/config/memory.ts): what the data plane may allocate of
 * each kind, checked against the config before anything is allocated. The
 * defaults hold what the defaults need at the schema's maxima: 1,024 services
 * of 65,537 slots (256 MiB, and room to rebuild one), and 64 worker lcores of
 * 1,048,576 flows each, or of as many nat sessions from a full pool.
 */
export const LIMIT_DEFAULTS = {
  lookupTablesMb: 512,
  flowTablesMb: 4096,
  natSessionsMb: 5120,
} as const;

export const LimitsSchema = Type.Object(
  {
    lookupTablesMb: Int(1, 1048576, {
      default: LIMIT_DEFAULTS.lookupTablesMb,
      description: 'MiB for the services\' lookup tables (4 bytes a slot) and room to rebuild the largest during a change',
    }),
    flowTablesMb: Int(1, 1048576, {
      default: LIMIT_DEFAULTS.flowTablesMb,
      description: 'MiB for the flow tables of all worker lcores, IPv4 and IPv6',
    }),
    natSessionsMb: Int(1, 1048576, {
      default: LIMIT_DEFAULTS.natSessionsMb,
      description: 'MiB for the nat session tables of all worker lcores, IPv4 and IPv6',
    }),
  },
  { ...strict, default: {} },
);

const HealthCheckFields = {
  type: Type.Union([Type.Literal('tcp'), Type.Literal('http'), Type.Literal('none')], {
    description: 'tcp: connect; http: GET path and expect a status; none: always healthy',
  }),
  intervalMs: Int(100, 3600000, { description: 'time between probes' }),
  timeoutMs: Int(10, 600000, { description: 'a probe slower than this fails' }),
  rise: Int(1, 100, { description: 'successes in a row that bring a down backend up' }),
  fall: Int(1, 100, { description: 'failures in a row that take an up backend down' }),
  // A request line carries printable ASCII only: Node refuses a path beyond
  // Latin-1 and a control character would split or corrupt the request.
  path: Type.String({
    pattern: '^/[\\x21-\\x7E]*$',
    maxLength: 1024,
    description: 'an absolute path of printable ASCII without spaces (percent-encode the rest), http only',
  }),
  expectStatus: Type.String({
    pattern: '^[1-5][0-9][0-9](-[1-5][0-9][0-9])?$',
    description: 'a status or an ascending range like 200-399, http only',
  }),
  port: Type.Optional(L4Port),
  initialState: Type.Union([Type.Literal('down'), Type.Literal('up')], {
    description: 'a backend added while Sluice runs (API, reload) with a check: down takes no new flows until its ' +
      'first probe passes (status unknown until then), up takes them at once. Backends there at start take traffic at once',
  }),
};

/** HAProxy-like defaults: probe every 2 s, 2 successes to rise, 3 failures to fall. */
export const HEALTH_CHECK_DEFAULTS = {
  type: 'none' as const,
  intervalMs: 2000,
  timeoutMs: 1000,
  rise: 2,
  fall: 3,
  path: '/',
  expectStatus: '200-399',
  initialState: 'down' as const,
};

export const HealthCheckSchema = Type.Object(
  {
    type: Type.Union(HealthCheckFields.type.anyOf, { ...HealthCheckFields.type, default: HEALTH_CHECK_DEFAULTS.type }),
    intervalMs: Int(100, 3600000, { default: HEALTH_CHECK_DEFAULTS.intervalMs }),
    timeoutMs: Int(10, 600000, { default: HEALTH_CHECK_DEFAULTS.timeoutMs }),
    rise: Int(1, 100, { default: HEALTH_CHECK_DEFAULTS.rise }),
    fall: Int(1, 100, { default: HEALTH_CHECK_DEFAULTS.fall }),
    path: Type.String({ ...HealthCheckFields.path, default: HEALTH_CHECK_DEFAULTS.path }),
    expectStatus: Type.String({ ...HealthCheckFields.expectStatus, default: HEALTH_CHECK_DEFAULTS.expectStatus }),
    port: HealthCheckFields.port,
    initialState: Type.Union(HealthCheckFields.initialState.anyOf,
      { ...HealthCheckFields.initialState, default: HEALTH_CHECK_DEFAULTS.initialState }),
  },
  { ...strict, default: {} },
);

/** A backend may override any field of its service's check. */
export const HealthCheckOverrideSchema = Type.Partial(Type.Object(HealthCheckFields, strict), strict);

export const AdminStateSchema = Type.Union(
  [Type.Literal('active'), Type.Literal('drain'), Type.Literal('disabled')],
  { default: 'active' },
);

export const BackendSchema = Type.Object(
  {
    address: Type.String(),
    port: L4Port,
    weight: Int(0, 65535, { default: 100 }),
    mac: Type.Optional(Type.String({ description: 'static next-hop MAC like 02:00:00:00:00:11' })),
    state: AdminStateSchema,
    healthCheck: Type.Optional(HealthCheckOverrideSchema),
    serverId: Type.Optional(Type.String({
      description: "QUIC-LB: this backend's server ID in hex, quicLb.serverIdLength octets, unique within the service",
    })),
  },
  strict,
);

/**
 * QUIC-LB (draft-ietf-quic-load-balancers-21): a UDP service's servers write
 * their server ID into the connection IDs they choose, and the data plane
 * routes a packet by its destination connection ID's server ID, so a
 * connection keeps its backend when the client's address or port changes.
 */
export const QuicLbSchema = Type.Object(
  {
    configId: Int(0, 6, { description: "the connection ID's first 3 bits that mark this config (7 marks unroutable IDs)" }),
    serverIdLength: Int(1, 15, { description: 'octets' }),
    nonceLength: Int(4, 18, { description: 'octets; serverIdLength + nonceLength is at most 19' }),
    algorithm: Type.Union([Type.Literal('plaintext'), Type.Literal('single-pass'), Type.Literal('four-pass')], {
      description: 'single-pass when serverIdLength + nonceLength is 16, four-pass otherwise; plaintext hides nothing',
    }),
    key: Type.Optional(Type.String({ description: 'AES-128 key, 32 hex digits; required unless plaintext' })),
  },
  strict,
);

/** Katran's GUE port. */
export const GUE_DEFAULT_PORT = 6080;
/** Per-flow ipip outer sources, as Katran's: a private range a backend never routes back to. */
export const TUNNEL_SOURCE_NETWORK_DEFAULT = '172.16.0.0/16';
/** The same for IPv6 services: a unique-local /96, 2^32 sources. */
export const TUNNEL_SOURCE_NETWORK6_DEFAULT = 'fd00:5c::/96';

export const TunnelSchema = Type.Object(
  {
    encapsulation: Type.Union([Type.Literal('ipip'), Type.Literal('gue')], {
      default: 'ipip',
      description: 'ipip: IP-in-IP (IPv4-in-IPv4, protocol 4; IPv6-in-IPv6, next header 41); gue: IP in UDP (GUE variant 1, no GUE header)',
    }),
    guePort: Type.Optional(Int(1, 65535, { description: `gue only: UDP destination port, default ${GUE_DEFAULT_PORT}` })),
    source: Type.Optional(Type.String({
      description: 'fixed outer source address, of the VIP\'s family; default: per flow from sourceNetwork (ipip), the egress port address (gue)',
    })),
    sourceNetwork: Type.Optional(Type.String({
      description: 'ipip only: prefix per-flow outer sources are drawn from, of the VIP\'s family: IPv4 /8 to /24, ' +
        `default ${TUNNEL_SOURCE_NETWORK_DEFAULT}; IPv6 /96 to /120, default ${TUNNEL_SOURCE_NETWORK6_DEFAULT}`,
    })),
  },
  strict,
);

export const ServiceSchema = Type.Object(
  {
    name: Name,
    vip: Type.String(),
    port: L4Port,
    protocol: Type.Union([Type.Literal('tcp'), Type.Literal('udp')], { default: 'tcp' }),
    // nat needs a natPool on the port its backends are reached by (semantics.ts).
    forwarding: Type.Union([Type.Literal('dsr'), Type.Literal('tunnel'), Type.Literal('nat')], {
      default: 'dsr',
    }),
    tunnel: Type.Optional(TunnelSchema),
    quicLb: Type.Optional(QuicLbSchema),
    lookupTableSize: Int(251, 16777259, {
      default: 65537,
      description: 'a prime: the slots of the table that picks each new flow\'s backend (formerly maglevTableSize)',
    }),
    healthCheck: HealthCheckSchema,
    backends: Type.Array(BackendSchema, { maxItems: 4096, default: [] }),
  },
  strict,
);

/**
 * The API's connection limits: every connection and every request is bounded,
 * so idle or slow clients cannot hold the process's file descriptors or its
 * event loop (src/api/app.ts applies them to the HTTP server).
 */
export const API_LIMIT_DEFAULTS = {
  maxConnections: 1024,
  idleTimeoutMs: 10000,
  keepAliveTimeoutMs: 5000,
  headersTimeoutMs: 10000,
  requestTimeoutMs: 30000,
} as const;

export const ApiSchema = Type.Object(
  {
    listen: Type.String({ default: '127.0.0.1:9090', description: 'host:port, IPv6 host in brackets' }),
    tokenFile: Type.Optional(Type.String({ description: 'file holding the bearer token' })),
    tokenEnv: Type.Optional(Type.String({ description: 'environment variable holding the bearer token' })),
    allowUnauthenticated: Type.Boolean({
      default: false,
      description: 'true lets the API listen beyond loopback without a token (a warning at every start)',
    }),
    bodyLimitBytes: Int(1024, 16777216, { default: 1048576 }),
    maxConnections: Int(1, 65536, {
      default: API_LIMIT_DEFAULTS.maxConnections,
      description: 'connections the API holds open at once; a connection beyond them is closed as soon as it is '
        + 'accepted, and the ones within keep being answered (/healthz included). Keep it well below the '
        + 'process\'s file-descriptor limit (ulimit -n).',
    }),
    idleTimeoutMs: Int(100, 3600000, {
      default: API_LIMIT_DEFAULTS.idleTimeoutMs,
      description: 'a connection on which nothing is sent or received for this long is closed, whatever state '
        + 'its request is in (the socket\'s inactivity timeout)',
    }),
    keepAliveTimeoutMs: Int(100, 3600000, {
      default: API_LIMIT_DEFAULTS.keepAliveTimeoutMs,
      description: 'a kept-alive connection waiting for its next request is closed after this long',
    }),
    headersTimeoutMs: Int(100, 3600000, {
      default: API_LIMIT_DEFAULTS.headersTimeoutMs,
      description: 'a request\'s headers must arrive within this long of its first byte (and within '
        + 'requestTimeoutMs), else 408 and the connection is closed',
    }),
    requestTimeoutMs: Int(100, 3600000, {
      default: API_LIMIT_DEFAULTS.requestTimeoutMs,
      description: 'a whole request, body included, must arrive within this long, else 408 and the connection '
        + 'is closed',
    }),
  },
  { ...strict, default: {} },
);

/** BGP's port, and a neighbor's when the config names none. */
export const BGP_PORT_DEFAULT = 179;
/** A neighbor's hold time when the config names none (s); keepalives every third of it. */
export const BGP_HOLD_TIME_DEFAULT = 9;

export const BgpNeighborSchema = Type.Object(
  {
    address: Type.String({ description: 'the peer\'s IPv4 or IPv6 address' }),
    asn: Int(1, 4294967295, { description: 'the peer\'s AS number' }),
    holdTimeSec: Int(3, 65535, {
      default: BGP_HOLD_TIME_DEFAULT,
      description: 'seconds without a message from the peer before the session is dropped; keepalives every third of it',
    }),
    passive: Type.Boolean({ default: false, description: 'wait for the peer to connect; never connect out' }),
    password: Type.Optional(Type.String({ minLength: 1, maxLength: 80, description: 'TCP MD5 signature (RFC 2385) password' })),
    port: Int(1, 65535, { default: BGP_PORT_DEFAULT, description: 'the peer\'s BGP port' }),
  },
  strict,
);

/**
 * The node's BGP speaker (docs/bgp.md): sluice run starts gobgpd with it and
 * announces each service VIP (/32 or /128) to the neighbors, as `announce` says.
 */
export const BgpSchema = Type.Object(
  {
    asn: Int(1, 4294967295, { description: 'this node\'s AS number' }),
    routerId: Type.String({ description: 'this node\'s BGP identifier, an IPv4 address' }),
    listenPort: Int(1, 65535, { default: BGP_PORT_DEFAULT, description: 'the port gobgpd takes connections from peers on' }),
    neighbors: Type.Array(BgpNeighborSchema, { minItems: 1, maxItems: 64 }),
    announce: Type.Union([Type.Literal('healthy'), Type.Literal('always')], {
      default: 'healthy',
      description: 'healthy: a VIP while the worker lcores move and one of its services has a backend that takes traffic; '
        + 'always: every VIP, whatever its backends or lcores',
    }),
    communities: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9]{1,5}:[0-9]{1,5}$', description: 'ASN:VALUE, each 0-65535' }),
      { maxItems: 32, description: 'standard communities on every announced VIP' })),
    med: Type.Optional(Int(0, 4294967295, { description: 'MULTI_EXIT_DISC on every announced VIP' })),
    nextHop: Type.Optional(Type.String({ description: 'IPv4 next hop of IPv4 VIPs; default the first port\'s address' })),
    nextHop6: Type.Optional(Type.String({ description: 'IPv6 next hop of IPv6 VIPs; default the first port\'s address6 that is set' })),
  },
  strict,
);

/** drain.onStopSec when the config names none: with BGP, long enough for the routers to move new flows away. */
export const DRAIN_ON_STOP_SEC_BGP = 5;

/**
 * What a stop signal does before `sluice run` stops (docs/operations.md,
 * "Draining a node"): the node drains (every VIP withdrawn over BGP), then the
 * stop waits until the worker lcores hold no flows, at most onStopSec.
 */
/** drain.quietSec when the config gives none. */
export const DRAIN_QUIET_SEC_DEFAULT = 1;

export const DrainSchema = Type.Object(
  {
    onStopSec: Type.Optional(Int(0, 3600, {
      description: `seconds a stop signal waits, once the node drains, for the worker lcores' flows to end; 0 stops at once. `
        + `Default ${DRAIN_ON_STOP_SEC_BGP} with a bgp section, 0 without`,
    })),
    quietSec: Type.Optional(Int(0, 3600, {
      description: `seconds without a forwarded packet that also end the wait (the routers send nothing more); 0: only `
        + `the flows' end or onStopSec do. Default ${DRAIN_QUIET_SEC_DEFAULT}`,
    })),
  },
  strict,
);

export const ConfigSchema = Type.Object(
  {
    eal: EalSchema,
    ports: Type.Array(PortSchema, { minItems: 1, maxItems: 16 }),
    workers: Type.Optional(Type.Array(WorkerSchema, { maxItems: 127 })),
    flowTable: FlowTableSchema,
    fragments: FragmentsSchema,
    dataplane: DataplaneSchema,
    services: Type.Array(ServiceSchema, { maxItems: 1024, default: [] }),
    limits: LimitsSchema,
    api: ApiSchema,
    /** where accepted changes are kept; a restart restores services from it when present */
    stateFile: Type.Optional(Type.String({ minLength: 1 })),
    /** announce the VIPs over BGP (docs/bgp.md); absent: no BGP */
    bgp: Type.Optional(BgpSchema),
    /** the drain a stop signal makes first; absent: drain.onStopSec's default */
    drain: Type.Optional(DrainSchema),
  },
  strict,
);

export type SluiceConfig = Static<typeof ConfigSchema>;
export type EalConfig = SluiceConfig['eal'];
export type PortConfig = Static<typeof PortSchema>;
export type WorkerConfig = Static<typeof WorkerSchema>;
export type ServiceConfig = Static<typeof ServiceSchema>;
export type BackendConfig = Static<typeof BackendSchema>;
export type TunnelConfig = Static<typeof TunnelSchema>;
export type QuicLbConfig = Static<typeof QuicLbSchema>;
export type NatPoolConfig = Static<typeof NatPoolSchema>;
export type HealthCheckConfig = Static<typeof HealthCheckSchema>;
export type HealthCheckOverride = Static<typeof HealthCheckOverrideSchema>;
export type ApiConfig = Static<typeof ApiSchema>;
export type LimitsConfig = Static<typeof LimitsSchema>;
export type BgpConfig = Static<typeof BgpSchema>;
export type BgpNeighborConfig = Static<typeof BgpNeighborSchema>;
export type DrainConfig = Static<typeof DrainSchema>;

/** The seconds a stop signal waits for flows to end (drain.onStopSec, or its default). */
export function drainOnStopSec(cfg: Pick<SluiceConfig, 'drain' | 'bgp'>): number {
  return cfg.drain?.onStopSec ?? (cfg.bgp === undefined ? 0 : DRAIN_ON_STOP_SEC_BGP);
}
