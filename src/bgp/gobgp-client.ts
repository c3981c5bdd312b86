// A small typed wrapper over gobgpd's gRPC API (service apipb.GobgpApi, the
// .proto files in src/bgp/proto): the calls Sluice needs to announce its VIPs
// and nothing more. Every call has a deadline; every failure is a SluiceError
// (SLUICE_BGP_SPEAKER when gobgpd does not answer, SLUICE_BGP_REFUSED when it
// or Sluice's own checks refuse the request). The API is only ever reached on
// 127.0.0.1 or a unix socket: gobgpd's API has no authentication.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { SluiceError } from '../errors';

/**
 * Where the .proto files are: in the source tree, resolved from the package
 * root (dist/src/bgp/ is three levels below it), so `tsc` needs to copy
 * nothing and `sluice` installed from a checkout (scripts/install.sh) finds
 * them too.
 */
export const PROTO_DIR = path.resolve(__dirname, '..', '..', '..', 'src', 'bgp', 'proto');
const PROTO_FILES = ['gobgp.proto', 'attribute.proto', 'capability.proto'];

export const DEFAULT_DEADLINE_MS = 5000;
const ANY_PREFIX = 'type.googleapis.com/apipb.';

// --- What the wrapper takes and gives -------------------------------------------------

export interface GlobalConfig {
  asn: number;
  routerId: string;
  /** BGP's TCP port; 179 if not given. -1: gobgpd does not listen (it only connects out). */
  listenPort?: number;
  /** Addresses gobgpd's BGP listener binds; all of the host's if not given. */
  listenAddresses?: string[];
}

export interface PeerConfig {
  address: string;
  asn: number;
  /** Hold time, seconds (≥ 3); keepalives go every third of it. Default 9. */
  holdTimeSec?: number;
  /** Wait for the peer to connect; never connect out. */
  passive?: boolean;
  /** TCP MD5 signature (RFC 2385) password. */
  password?: string;
  /** The peer's BGP port when it is not 179 (tests run several speakers on one host). */
  remotePort?: number;
  /** The source address of the session's TCP connection. */
  localAddress?: string;
  /**
   * Seconds between connection attempts; default 5. gobgpd waits at least 5 s
   * (a random 5–9 s) before its first attempt and between attempts.
   */
  connectRetrySec?: number;
}

export type SessionState = 'unknown' | 'idle' | 'connect' | 'active' | 'opensent' | 'openconfirm' | 'established';

export interface PeerStatus {
  address: string;
  asn: number;
  state: SessionState;
  /** Whether the peer is administratively up (`up`), shut down, or over its prefix limit. */
  adminState: string;
  /** Seconds since the session was established; undefined while it is not. */
  uptimeSec?: number;
  routerId?: string;
  /** The hold time the two sides agreed on, while established. */
  negotiatedHoldTimeSec?: number;
  /** Over IPv4 and IPv6 unicast: paths received, accepted (after policy), advertised. */
  received: number;
  accepted: number;
  advertised: number;
}

export interface PathSpec {
  /** A host address: announced as a /32 (IPv4) or /128 (IPv6). */
  address: string;
  nextHop: string;
  /** Standard communities, "ASN:VALUE" (each 0–65535). */
  communities?: string[];
  med?: number;
}

export type Family = 'ipv4' | 'ipv6';
export type TableName = 'global' | 'adj-in' | 'adj-out' | 'local';

export interface PathEntry {
  /** "192.0.2.1/32", "2001:db8::1/128". */
  prefix: string;
  nextHop?: string;
  communities: string[];
  med?: number;
  best: boolean;
  /** The peer it came from; empty or undefined for paths this speaker originated. */
  neighbor?: string;
  ageSec?: number;
}

// --- The raw messages, as proto-loader gives them (camelCase, enums and longs as strings)

interface RawAny { '@type': string; [field: string]: unknown }
interface RawTimestamp { seconds?: string | number; nanos?: number }
interface RawFamily { afi: string; safi: string }
interface RawAfiSafi { config?: { family?: RawFamily; enabled?: boolean }; state?: { family?: RawFamily; received?: string; accepted?: string; advertised?: string } }
interface RawPeer {
  conf?: { neighborAddress?: string; peerAsn?: number };
  state?: { neighborAddress?: string; peerAsn?: number; sessionState?: string; adminState?: string; routerId?: string };
  timers?: { state?: { uptime?: RawTimestamp; negotiatedHoldTime?: string } };
  afiSafis?: RawAfiSafi[];
}
interface RawPath { nlri?: RawAny; pattrs?: RawAny[]; age?: RawTimestamp; best?: boolean; neighborIp?: string }
interface RawDestination { prefix?: string; paths?: RawPath[] }

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
type Unary = (req: unknown, meta: grpc.Metadata, opts: grpc.CallOptions, cb: Callback<unknown>) => grpc.ClientUnaryCall;
type Streaming = (req: unknown, opts: grpc.CallOptions) => grpc.ClientReadableStream<unknown>;

let serviceCtor: grpc.ServiceClientConstructor | undefined;

function loadService(): grpc.ServiceClientConstructor {
  if (serviceCtor) return serviceCtor;
  for (const f of PROTO_FILES) {
    if (!fs.existsSync(path.join(PROTO_DIR, f))) {
      throw new SluiceError('SLUICE_INTERNAL', `GoBGP's ${f} is missing from ${PROTO_DIR}`);
    }
  }
  const definition = protoLoader.loadSync(PROTO_FILES, {
    includeDirs: [PROTO_DIR], // google/protobuf/* are protobufjs's own copies
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
    json: true, // google.protobuf.Any as {'@type', ...fields}, both ways
  });
  const pkg = grpc.loadPackageDefinition(definition) as unknown as { apipb: { GobgpApi: grpc.ServiceClientConstructor } };
  serviceCtor = pkg.apipb.GobgpApi;
  return serviceCtor;
}

/**
 * The API address must be local: "127.0.0.1:PORT" or "unix:/absolute/path".
 * Anything else is refused, since gobgpd's API is unauthenticated.
 */
export function checkApiAddress(address: string): string {
  const tcp = /^127\.0\.0\.1:(\d{1,5})$/.exec(address);
  if (tcp && Number(tcp[1]) >= 1 && Number(tcp[1]) <= 65535) return address;
  if (/^unix:\/[^\0]+$/.test(address)) return address;
  throw new SluiceError('SLUICE_BGP_REFUSED',
    `gobgpd's API address ${JSON.stringify(address)} is not 127.0.0.1:PORT or unix:/PATH; its API has no authentication`);
}

// --- Conversions -------------------------------------------------------------------------

function refused(message: string): SluiceError {
  return new SluiceError('SLUICE_BGP_REFUSED', message);
}

function familyOf(address: string, what: string): Family {
  const v = net.isIP(address);
  if (v === 4) return 'ipv4';
  if (v === 6) return 'ipv6';
  throw refused(`${what} ${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
}

function rawFamily(family: Family): RawFamily {
  return { afi: family === 'ipv4' ? 'AFI_IP' : 'AFI_IP6', safi: 'SAFI_UNICAST' };
}

function checkAsn(asn: number, what: string): void {
  if (!Number.isInteger(asn) || asn < 1 || asn > 4294967295) throw refused(`${what} ${asn} is not an ASN (1–4294967295)`);
}

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw refused(`${what} ${port} is not a TCP port (1–65535)`);
}

/** "65000:100" -> 65000 << 16 | 100. */
export function encodeCommunity(text: string): number {
  const m = /^(\d{1,5}):(\d{1,5})$/.exec(text);
  if (!m || Number(m[1]) > 65535 || Number(m[2]) > 65535) {
    throw refused(`community ${JSON.stringify(text)} is not ASN:VALUE with both 0–65535`);
  }
  return Number(m[1]) * 65536 + Number(m[2]);
}

export function decodeCommunity(value: number): string {
  return `${Math.floor(value / 65536)}:${value % 65536}`;
}

function any(type: string, fields: Record<string, unknown>): RawAny {
  return { '@type': ANY_PREFIX + type, ...fields };
}

/** The Path message for a /32 or /128 with its next hop, origin IGP, communities, MED. */
export function buildPath(spec: PathSpec): { family: Family; path: Record<string, unknown> } {
  const family = familyOf(spec.address, 'path address');
  if (familyOf(spec.nextHop, 'next hop') !== family) {
    throw refused(`next hop ${spec.nextHop} is not of the same family as ${spec.address}`);
  }
  const nlri = any('IPAddressPrefix', { prefix: spec.address, prefixLen: family === 'ipv4' ? 32 : 128 });
  const pattrs: RawAny[] = [any('OriginAttribute', { origin: 0 })];
  if (family === 'ipv4') {
    pattrs.push(any('NextHopAttribute', { nextHop: spec.nextHop }));
  } else {
    pattrs.push(any('MpReachNLRIAttribute', { family: rawFamily('ipv6'), nextHops: [spec.nextHop], nlris: [nlri] }));
  }
  if (spec.med !== undefined) {
    if (!Number.isInteger(spec.med) || spec.med < 0 || spec.med > 4294967295) throw refused(`med ${spec.med} is not 0–4294967295`);
    pattrs.push(any('MultiExitDiscAttribute', { med: spec.med }));
  }
  if (spec.communities && spec.communities.length > 0) {
    pattrs.push(any('CommunitiesAttribute', { communities: spec.communities.map(encodeCommunity) }));
  }
  return { family, path: { nlri, pattrs, family: rawFamily(family) } };
}

function typeOf(a: RawAny): string {
  return a['@type'].slice(a['@type'].lastIndexOf('.') + 1);
}

function secondsSince(ts: RawTimestamp | undefined, nowMs: number): number | undefined {
  const s = Number(ts?.seconds ?? 0);
  return s > 0 ? Math.max(0, Math.round(nowMs / 1000 - s)) : undefined;
}

export function toPathEntry(prefix: string, p: RawPath, nowMs = Date.now()): PathEntry {
  const entry: PathEntry = { prefix, communities: [], best: p.best === true };
  for (const a of p.pattrs ?? []) {
    switch (typeOf(a)) {
      case 'NextHopAttribute': entry.nextHop = a.nextHop as string; break;
      case 'MpReachNLRIAttribute': entry.nextHop = (a.nextHops as string[] | undefined)?.[0]; break;
      case 'MultiExitDiscAttribute': entry.med = Number(a.med ?? 0); break;
      case 'CommunitiesAttribute': entry.communities = ((a.communities as number[] | undefined) ?? []).map(decodeCommunity); break;
      default: break;
    }
  }
  if (p.neighborIp && p.neighborIp !== '<nil>') entry.neighbor = p.neighborIp;
  const age = secondsSince(p.age, nowMs);
  if (age !== undefined) entry.ageSec = age;
  return entry;
}

const STATES: Record<string, SessionState> = {
  IDLE: 'idle', CONNECT: 'connect', ACTIVE: 'active', OPENSENT: 'opensent', OPENCONFIRM: 'openconfirm', ESTABLISHED: 'established',
};

export function toPeerStatus(p: RawPeer, nowMs = Date.now()): PeerStatus {
  const state = STATES[p.state?.sessionState ?? ''] ?? 'unknown';
  const sum = (field: 'received' | 'accepted' | 'advertised'): number =>
    (p.afiSafis ?? []).reduce((n, a) => n + Number(a.state?.[field] ?? 0), 0);
  const status: PeerStatus = {
    address: p.state?.neighborAddress || p.conf?.neighborAddress || '',
    asn: p.state?.peerAsn || p.conf?.peerAsn || 0,
    state,
    adminState: (p.state?.adminState ?? 'UP').toLowerCase(),
    received: sum('received'),
    accepted: sum('accepted'),
    advertised: sum('advertised'),
  };
  if (state === 'established') {
    const up = secondsSince(p.timers?.state?.uptime, nowMs);
    if (up !== undefined) status.uptimeSec = up;
    const hold = Number(p.timers?.state?.negotiatedHoldTime ?? 0);
    if (hold > 0) status.negotiatedHoldTimeSec = hold;
  }
  if (p.state?.routerId) status.routerId = p.state.routerId;
  return status;
}

// --- gRPC errors to coded errors ----------------------------------------------------------

const UNAVAILABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.CANCELLED, grpc.status.INTERNAL]);

export function mapGrpcError(method: string, err: grpc.ServiceError): SluiceError {
  const details = { method, grpcCode: grpc.status[err.code] ?? err.code };
  if (UNAVAILABLE.has(err.code)) {
    return new SluiceError('SLUICE_BGP_SPEAKER', `gobgpd did not answer ${method}: ${err.details || err.message}`, details);
  }
  return new SluiceError('SLUICE_BGP_REFUSED', `gobgpd refused ${method}: ${err.details || err.message}`, details);
}

// --- The client ------------------------------------------------------------------------------

export interface GobgpClientOptions {
  /** "127.0.0.1:PORT" or "unix:/PATH". */
  address: string;
  /** Each call's deadline (ms). Default 5000. */
  deadlineMs?: number;
}

export class GobgpClient {
  readonly address: string;
  private readonly deadlineMs: number;
  private readonly client: grpc.Client;

  constructor(options: GobgpClientOptions) {
    this.address = checkApiAddress(options.address);
    this.deadlineMs = options.deadlineMs ?? DEFAULT_DEADLINE_MS;
    const Ctor = loadService();
    this.client = new Ctor(this.address, grpc.credentials.createInsecure(), {
      'grpc.enable_retries': 0,
      'grpc.initial_reconnect_backoff_ms': 100,
      'grpc.max_reconnect_backoff_ms': 1000,
    });
  }

  close(): void {
    this.client.close();
  }

  private unary<T>(method: string, request: unknown, deadlineMs = this.deadlineMs): Promise<T> {
    const fn = (this.client as unknown as Record<string, Unary>)[method];
    return new Promise<T>((resolve, reject) => {
      fn.call(this.client, request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, value) => {
        if (err) reject(mapGrpcError(method, err));
        else resolve(value as T);
      });
    });
  }

  private stream<T>(method: string, request: unknown, deadlineMs = this.deadlineMs): Promise<T[]> {
    const fn = (this.client as unknown as Record<string, Streaming>)[method];
    return new Promise<T[]>((resolve, reject) => {
      const out: T[] = [];
      const call = fn.call(this.client, request, { deadline: Date.now() + deadlineMs });
      call.on('data', (m: T) => out.push(m));
      call.on('error', (err: grpc.ServiceError) => reject(mapGrpcError(method, err)));
      call.on('end', () => resolve(out));
    });
  }

  /** Whether the API answers within `deadlineMs` (GetBgp). Never throws. */
  async ping(deadlineMs = 1000): Promise<boolean> {
    try {
      await this.unary('GetBgp', {}, deadlineMs);
      return true;
    } catch {
      return false;
    }
  }

  /** Starts the BGP instance (once per gobgpd). */
  async startBgp(global: GlobalConfig): Promise<void> {
    checkAsn(global.asn, 'asn');
    if (familyOf(global.routerId, 'routerId') !== 'ipv4') throw refused(`routerId ${global.routerId} is not an IPv4 address`);
    if (global.listenPort !== undefined && global.listenPort !== -1) checkPort(global.listenPort, 'listenPort');
    for (const a of global.listenAddresses ?? []) familyOf(a, 'listen address');
    await this.unary('StartBgp', {
      global: {
        asn: global.asn,
        routerId: global.routerId,
        listenPort: global.listenPort ?? 179,
        listenAddresses: global.listenAddresses ?? [],
      },
    });
  }

  async stopBgp(): Promise<void> {
    await this.unary('StopBgp', {});
  }

  /** The running instance's ASN and router id; asn 0 before startBgp. */
  async getBgp(): Promise<{ asn: number; routerId: string; listenPort: number }> {
    const r = await this.unary<{ global?: { asn?: number; routerId?: string; listenPort?: number } }>('GetBgp', {});
    return { asn: r.global?.asn ?? 0, routerId: r.global?.routerId ?? '', listenPort: r.global?.listenPort ?? 0 };
  }

  /** Adds a peer with IPv4 and IPv6 unicast enabled (so /128s travel over an IPv4 session too). */
  async addPeer(peer: PeerConfig): Promise<void> {
    familyOf(peer.address, 'peer address');
    checkAsn(peer.asn, 'peer asn');
    const hold = peer.holdTimeSec ?? 9;
    if (!Number.isInteger(hold) || hold < 3 || hold > 65535) throw refused(`holdTimeSec ${hold} is not 3–65535`);
    if (peer.remotePort !== undefined) checkPort(peer.remotePort, 'remotePort');
    if (peer.localAddress !== undefined) familyOf(peer.localAddress, 'localAddress');
    const retry = peer.connectRetrySec ?? 5;
    if (!Number.isInteger(retry) || retry < 1) throw refused(`connectRetrySec ${retry} is not a whole number of seconds ≥ 1`);
    await this.unary('AddPeer', {
      peer: {
        conf: { neighborAddress: peer.address, peerAsn: peer.asn, authPassword: peer.password ?? '' },
        timers: { config: { holdTime: String(hold), keepaliveInterval: String(Math.max(1, Math.floor(hold / 3))), connectRetry: String(retry) } },
        transport: {
          passiveMode: peer.passive === true,
          remotePort: peer.remotePort ?? 0,
          localAddress: peer.localAddress ?? '',
        },
        afiSafis: (['ipv4', 'ipv6'] as const).map((f) => ({ config: { family: rawFamily(f), enabled: true } })),
      },
    });
  }

  async deletePeer(address: string): Promise<void> {
    familyOf(address, 'peer address');
    await this.unary('DeletePeer', { address });
  }

  /** Every peer (or the one at `address`) with its session state and path counts. */
  async listPeers(address?: string): Promise<PeerStatus[]> {
    if (address !== undefined) familyOf(address, 'peer address');
    const replies = await this.stream<{ peer?: RawPeer }>('ListPeer', { address: address ?? '', enableAdvertised: true });
    const now = Date.now();
    return replies.filter((r) => r.peer).map((r) => toPeerStatus(r.peer as RawPeer, now));
  }

  /** Announces a /32 or /128 to every peer; gives gobgpd's id of the path (hex). */
  async addPath(spec: PathSpec): Promise<string> {
    const { path: p } = buildPath(spec);
    const r = await this.unary<{ uuid?: Buffer }>('AddPath', { tableType: 'GLOBAL', path: p });
    return r.uuid ? Buffer.from(r.uuid).toString('hex') : '';
  }

  /** Withdraws a /32 or /128 this speaker announced (the same spec as addPath's). */
  async deletePath(spec: PathSpec): Promise<void> {
    const { family, path: p } = buildPath(spec);
    await this.unary('DeletePath', { tableType: 'GLOBAL', family: rawFamily(family), path: p });
  }

  /**
   * The paths of one family in a table: `global` (the best and other paths of
   * this speaker's RIB, its own and its peers'), `adj-in` or `adj-out` of one
   * `neighbor`, `local`.
   */
  async listPaths(family: Family, table: TableName = 'global', neighbor?: string): Promise<PathEntry[]> {
    if ((table === 'adj-in' || table === 'adj-out') && neighbor === undefined) throw refused(`table ${table} needs a neighbor`);
    const tableType = { global: 'GLOBAL', 'adj-in': 'ADJ_IN', 'adj-out': 'ADJ_OUT', local: 'LOCAL' }[table];
    const replies = await this.stream<{ destination?: RawDestination }>('ListPath', {
      tableType, name: neighbor ?? '', family: rawFamily(family),
    });
    const now = Date.now();
    const out: PathEntry[] = [];
    for (const r of replies) {
      for (const p of r.destination?.paths ?? []) out.push(toPathEntry(r.destination?.prefix ?? '', p, now));
    }
    return out;
  }
}
