// The operator commands: each one request (or a few) to the REST API, printed as
// a table, or as JSON with --json.
import { stringify } from 'yaml';
import { describeDiff, type ServicesDiff } from '../config/diff';
import { backendKey } from '../control/backend-key';
import { ApiClient, CliError, EXIT_REFUSED, EXIT_UNREACHABLE } from './api-client';
import { configOf, merged } from './bodies';
import { human, table } from './table';

export interface Output {
  json: boolean;
  print(text: string): void;
}

interface Health { status: string; lastProbeAt?: string; lastError?: string; streak: number; transitions: number }
interface HealthCheck { type: string; path: string; expectStatus: string; port?: number; intervalMs: number; timeoutMs: number; rise: number; fall: number; initialState: string }
interface Backend {
  key: string; address: string; port: number; weight: number; state: string; mac?: string; serverId?: string; health: Health;
  healthCheck?: Partial<HealthCheck>; stats?: { packets: number; bytes: number; newFlows: number; activeFlows: number }; emptySince?: string;
}
interface QuicLb { configId: number; serverIdLength: number; nonceLength: number; algorithm: string; key?: string }
interface Service {
  name: string; vip: string; port: number; protocol: string; forwarding: string; lookupTableSize: number; quicLb?: QuicLb;
  tunnel?: { encapsulation: string; guePort?: number; source?: string; sourceNetwork?: string };
  healthCheck: HealthCheck; backends: Backend[]; stats?: { packets: number; bytes: number; newFlows: number; activeFlows: number };
}
interface Port {
  name: string; portId: number; driver: string; mac: string; mtu: number; rxQueues: number; txQueues: number;
  link: { up: boolean; speedMbps: number }; warnings: string[];
  stats: { rxPackets: number; txPackets: number; rxMissed: number; rxErrors: number; txErrors: number; rxNoMbuf: number };
}
interface Lcore {
  lcore: number; rx?: { port: string; queue: number }[]; rxPackets: number; txPackets: number; busyRatio: number;
  nsPerPacket: { receive: number; process: number }; flows: { active: number; capacity: number }; generation: number;
}
interface Flow {
  lcore: number; protocol: string; client: string; vip: string; service?: string; backend?: string; pool?: string;
  state: string; ageSec: number; idleSec: number;
}
interface Neighbor { address: string; port: string; resolved: boolean; wanted: boolean; mac?: string; ageSec: number; requestsSent: number }
interface Stats {
  services: { name: string; packets: number; bytes: number; newFlows: number; activeFlows: number; backends: { address: string; port: number; weight: number; state: string; health: string; packets: number; bytes: number; newFlows: number; activeFlows: number }[] }[];
  lcores: { lcore: number; rxPackets: number; txPackets: number; drops: Record<string, number>;
    nat?: { sessionsActive: number; handoffsSent: number } }[];
}

const enc = encodeURIComponent;

function emit(out: Output, data: unknown, text: () => string): void {
  out.print(out.json ? JSON.stringify(data, null, 2) : text());
}

export async function status(api: ApiClient, out: Output): Promise<void> {
  const ready = await api.request<unknown>('GET', '/readyz').then(() => true, (e: unknown) => {
    if (e instanceof CliError && e.exitCode !== 1) throw e;
    return false;
  });
  const [ports, services] = await Promise.all([
    api.request<Port[]>('GET', '/api/v1/ports'),
    api.request<Service[]>('GET', '/api/v1/services'),
  ]);
  emit(out, { ready, ports, services }, () => [
    `sluice at ${api.base}: ${ready ? 'ready' : 'NOT READY'}`,
    '',
    table(['PORT', 'DRIVER', 'MAC', 'LINK', 'QUEUES'], ports.map((p) => [p.name, p.driver, p.mac, p.link.up ? 'up' : 'down', p.rxQueues])),
    '',
    servicesTable(services),
  ].join('\n'));
}

function servicesTable(services: Service[]): string {
  return table(['SERVICE', 'VIP', 'PORT', 'PROTO', 'MODE', 'BACKENDS', 'UP', 'ACTIVE FLOWS'], services.map((s) => [
    s.name, s.vip, s.port, s.protocol, s.forwarding, s.backends.length,
    s.backends.filter((b) => b.health.status !== 'down').length, s.stats?.activeFlows ?? '-',
  ]));
}

export async function servicesLs(api: ApiClient, out: Output): Promise<void> {
  const services = await api.request<Service[]>('GET', '/api/v1/services');
  emit(out, services, () => (services.length === 0 ? 'no services' : servicesTable(services)));
}

/** Why a backend takes no traffic, or how far its drain is: the last probe's error, flows left, emptySince. */
export function backendDetail(b: Backend): string {
  const parts: string[] = [];
  if (b.health.status === 'down') parts.push(b.health.lastError ? `last probe failed: ${b.health.lastError}` : 'down');
  if (b.health.status === 'unknown') parts.push('waiting for its first probe');
  if (b.state !== 'active' || b.weight === 0) {
    if (b.emptySince !== undefined) parts.push(`empty since ${b.emptySince}`);
    else if (b.stats !== undefined) parts.push(`${b.stats.activeFlows} active flow${b.stats.activeFlows === 1 ? '' : 's'} left`);
  }
  return parts.join('; ');
}

export function backendsTable(backends: Backend[]): string {
  if (backends.length === 0) return 'no backends';
  return table(['BACKEND', 'WEIGHT', 'STATE', 'HEALTH', 'ACTIVE FLOWS', 'PACKETS', 'NEW FLOWS', 'DETAIL'], backends.map((b) => [
    b.key, b.weight, b.state, b.health.status, b.stats?.activeFlows ?? '-', human(b.stats?.packets ?? 0), human(b.stats?.newFlows ?? 0),
    backendDetail(b),
  ]));
}

function healthCheckText(h: Partial<HealthCheck>): string {
  if (h.type === 'none') return 'none';
  return [
    h.type,
    h.type === 'http' ? `GET ${h.path ?? '/'} expecting ${h.expectStatus ?? '?'}` : undefined,
    h.port === undefined ? undefined : `port ${h.port}`,
    h.intervalMs === undefined ? undefined : `every ${h.intervalMs} ms`,
    h.timeoutMs === undefined ? undefined : `timeout ${h.timeoutMs} ms`,
    h.rise === undefined ? undefined : `rise ${h.rise}`,
    h.fall === undefined ? undefined : `fall ${h.fall}`,
    h.initialState === undefined ? undefined : `added backends start ${h.initialState}`,
  ].filter((x) => x !== undefined).join(', ');
}

/** A backend's override as given: field and value. */
const overrideText = (h: Partial<HealthCheck>) => Object.entries(h).map(([k, v]) => `${k} ${String(v)}`).join(', ');

export function serviceText(s: Service): string {
  const t = s.tunnel;
  return [
    `${s.name}: ${s.vip}:${s.port}/${s.protocol} ${s.forwarding}, lookup table ${s.lookupTableSize} slots` +
      (s.stats ? `, ${human(s.stats.packets)} packets, ${s.stats.activeFlows} active flows` : ''),
    ...(s.forwarding === 'tunnel' || t !== undefined
      ? [`tunnel: ${t?.encapsulation ?? 'ipip'}${t?.guePort !== undefined ? ` port ${t.guePort}` : ''}` +
        `${t?.source !== undefined ? `, source ${t.source}` : ''}${t?.sourceNetwork !== undefined ? `, sources from ${t.sourceNetwork}` : ''}`]
      : []),
    `health check: ${healthCheckText(s.healthCheck)}`,
    ...s.backends.filter((b) => b.healthCheck !== undefined).map((b) => `  ${b.key}: health check override: ${overrideText(b.healthCheck!)}`),
    '',
    backendsTable(s.backends),
  ].join('\n');
}

export async function servicesShow(api: ApiClient, out: Output, name: string): Promise<void> {
  const s = await api.request<Service>('GET', `/api/v1/services/${enc(name)}`);
  emit(out, s, () => serviceText(s));
}

/** GET the service, change it, PUT it back whole: what PATCH cannot change. */
export async function editService(api: ApiClient, name: string, change: (config: Record<string, unknown>) => Record<string, unknown>): Promise<Service> {
  const view = await api.request<Record<string, unknown>>('GET', `/api/v1/services/${enc(name)}`);
  return api.request<Service>('PUT', `/api/v1/services/${enc(name)}`, change(configOf(view)));
}

export async function servicesSet(api: ApiClient, out: Output, name: string, fields: Record<string, unknown>): Promise<void> {
  const s = await editService(api, name, (cfg) => merged(cfg, fields));
  emit(out, s, () => `changed service ${s.name}: ${Object.keys(fields).join(', ')}`);
}

export async function servicesAdd(api: ApiClient, out: Output, body: Record<string, unknown>): Promise<void> {
  const s = await api.request<Service>('POST', '/api/v1/services', body);
  emit(out, s, () => `added service ${s.name} (${s.vip}:${s.port}/${s.protocol})`);
}

export async function servicesRm(api: ApiClient, out: Output, name: string): Promise<void> {
  await api.request('DELETE', `/api/v1/services/${enc(name)}`);
  emit(out, { removed: name }, () => `removed service ${name}`);
}

export async function backendsAdd(api: ApiClient, out: Output, service: string, body: Record<string, unknown>): Promise<void> {
  const b = await api.request<Backend>('POST', `/api/v1/services/${enc(service)}/backends`, body);
  emit(out, b, () => `added backend ${b.key} to ${service} (weight ${b.weight}, ${b.state})`);
}

export async function backendsRm(api: ApiClient, out: Output, service: string, key: string): Promise<void> {
  await api.request('DELETE', `/api/v1/services/${enc(service)}/backends/${enc(key)}`);
  emit(out, { removed: key, service }, () => `removed backend ${key} from ${service}`);
}

export async function backendsSet(api: ApiClient, out: Output, service: string, key: string, patch: Record<string, unknown>): Promise<void> {
  const b = await api.request<Backend>('PATCH', `/api/v1/services/${enc(service)}/backends/${enc(key)}`, patch);
  emit(out, b, () => `backend ${b.key} of ${service}: weight ${b.weight}, ${b.state}`);
}

/** A backend change PATCH does not take (mac, health check override): the service replaced with it. */
export async function backendsEdit(api: ApiClient, out: Output, service: string, key: string, fields: Record<string, unknown>): Promise<void> {
  const s = await editService(api, service, (cfg) => {
    const backends = cfg.backends as Record<string, unknown>[];
    const i = backends.findIndex((b) => backendKey(b as { address: string; port: number }) === key);
    if (i < 0) throw new CliError(`service ${service} has no backend ${key} [SLUICE_NOT_FOUND]`, 1, 'SLUICE_NOT_FOUND');
    backends[i] = merged(backends[i], fields);
    return cfg;
  });
  const b = s.backends.find((x) => x.key === key)!;
  emit(out, b, () => `backend ${b.key} of ${service}: weight ${b.weight}, ${b.state}` +
    `${b.mac ? `, mac ${b.mac}` : ''}${b.healthCheck ? `, health check override: ${overrideText(b.healthCheck)}` : ''}`);
}

export async function backendsLs(api: ApiClient, out: Output, service: string): Promise<void> {
  const list = await api.request<Backend[]>('GET', `/api/v1/services/${enc(service)}/backends`);
  emit(out, list, () => backendsTable(list));
}

export async function backendsShow(api: ApiClient, out: Output, service: string, key: string): Promise<void> {
  const b = await api.request<Backend>('GET', `/api/v1/services/${enc(service)}/backends/${enc(key)}`);
  const h = b.health;
  emit(out, b, () => [
    `${b.key} of ${service}: weight ${b.weight}, ${b.state}${b.mac ? `, mac ${b.mac}` : ''}`,
    `health: ${h.status}${h.lastProbeAt ? `, last probe ${h.lastProbeAt}` : ''}${h.lastError ? ` failed: ${h.lastError}` : ''}` +
      `, streak ${h.streak}, ${h.transitions} transitions`,
    ...(b.healthCheck ? [`health check override: ${overrideText(b.healthCheck)}`] : []),
    ...(b.stats ? [`flows: ${b.stats.activeFlows} active, ${human(b.stats.newFlows)} new; ${human(b.stats.packets)} packets, ${human(b.stats.bytes)} bytes`] : []),
    ...(b.emptySince ? [`empty since ${b.emptySince}: no active flow, safe to take out of service`] : []),
  ].join('\n'));
}

/** Every backend's health, across services or of one. */
export async function health(api: ApiClient, out: Output, service?: string): Promise<void> {
  const services = service === undefined
    ? await api.request<Service[]>('GET', '/api/v1/services')
    : [await api.request<Service>('GET', `/api/v1/services/${enc(service)}`)];
  const rows = services.flatMap((s) => s.backends.map((b) => ({ service: s.name, backend: b.key, check: (b.healthCheck?.type ?? s.healthCheck.type), ...b.health })));
  emit(out, rows, () => (rows.length === 0 ? 'no backends' : table(
    ['SERVICE', 'BACKEND', 'CHECK', 'HEALTH', 'STREAK', 'TRANSITIONS', 'LAST PROBE', 'LAST ERROR'],
    rows.map((r) => [r.service, r.backend, r.check, r.status, r.streak, r.transitions, r.lastProbeAt ?? '-', r.lastError ?? '']),
  )));
}

/** A QUIC-LB service's config as each backend's server needs it (docs/quic-lb.md). */
export async function quicLbConfig(api: ApiClient, out: Output, service: string): Promise<void> {
  const s = await api.request<Service>('GET', `/api/v1/services/${enc(service)}`);
  if (s.quicLb === undefined) {
    throw new CliError(`service "${s.name}" has no quicLb: its datagrams are balanced by 5-tuple [SLUICE_NOT_FOUND]`,
      EXIT_REFUSED, 'SLUICE_NOT_FOUND');
  }
  const q = s.quicLb;
  const config = { service: s.name, ...q, connectionIdLength: 1 + q.serverIdLength + q.nonceLength,
    servers: s.backends.map((b) => ({ backend: b.key, ...(b.serverId === undefined ? {} : { serverId: b.serverId }) })) };
  emit(out, config, () => [
    `service ${s.name}: config ID ${q.configId}, ${q.algorithm}, server ID ${q.serverIdLength} octets, nonce ${q.nonceLength}, ` +
      `connection IDs ${config.connectionIdLength} octets${q.key === undefined ? '' : `, key ${q.key}`}`,
    table(['BACKEND', 'SERVER ID'], config.servers.map((b) => [b.backend, b.serverId ?? '- (routed by 5-tuple only)'])),
  ].join('\n'));
}

export async function lcores(api: ApiClient, out: Output): Promise<void> {
  const list = await api.request<Lcore[]>('GET', '/api/v1/lcores');
  emit(out, list, () => (list.length === 0 ? 'no worker lcores' : table(
    ['LCORE', 'RX QUEUES', 'RX', 'TX', 'BUSY', 'NS/PKT RECEIVE', 'NS/PKT PROCESS', 'FLOWS', 'CAPACITY', 'GENERATION'],
    list.map((l) => [l.lcore, (l.rx ?? []).map((r) => `${r.port}:${r.queue}`).join(',') || '-', human(l.rxPackets), human(l.txPackets),
      `${(l.busyRatio * 100).toFixed(1)}%`, l.nsPerPacket.receive.toFixed(0), l.nsPerPacket.process.toFixed(0),
      human(l.flows.active), human(l.flows.capacity), l.generation]),
  )));
}

export async function ports(api: ApiClient, out: Output): Promise<void> {
  const list = await api.request<Port[]>('GET', '/api/v1/ports');
  emit(out, list, () => (list.length === 0 ? 'no ports' : [
    table(['PORT', 'ID', 'DRIVER', 'MAC', 'LINK', 'QUEUES', 'MTU', 'RX', 'TX', 'MISSED', 'NO MBUF', 'ERRORS'], list.map((p) => [
      p.name, p.portId, p.driver, p.mac, p.link.up ? `up ${p.link.speedMbps} Mb/s` : 'down', `${p.rxQueues}/${p.txQueues}`, p.mtu,
      human(p.stats.rxPackets), human(p.stats.txPackets), human(p.stats.rxMissed), human(p.stats.rxNoMbuf),
      human(p.stats.rxErrors + p.stats.txErrors),
    ])),
    ...list.flatMap((p) => p.warnings.map((w) => `${p.name}: ${w}`)),
  ].join('\n')));
}

/** Connections, as GET /api/v1/flows lists them; a truncated listing says so. */
export async function flows(api: ApiClient, out: Output, filter: { service?: string; backend?: string; client?: string; limit?: string }): Promise<void> {
  const query = new URLSearchParams(Object.entries(filter).filter((e): e is [string, string] => e[1] !== undefined));
  const q = query.toString();
  const list = await api.request<{ flows: Flow[]; truncated: boolean }>('GET', `/api/v1/flows${q === '' ? '' : `?${q}`}`);
  const seconds = (s: number) => `${s.toFixed(1)}s`;
  emit(out, list, () => [
    list.flows.length === 0 ? 'no connections' : table(
      ['PROTO', 'CLIENT', 'VIP', 'SERVICE', 'BACKEND', 'POOL', 'STATE', 'AGE', 'IDLE', 'LCORE'],
      list.flows.map((f) => [f.protocol, f.client, f.vip, f.service ?? '(removed)', f.backend ?? '(removed)', f.pool ?? '-',
        f.state, seconds(f.ageSec), seconds(f.idleSec), f.lcore]),
    ),
    ...(list.truncated ? [`more connections match: showing the first ${list.flows.length} (--limit)`] : []),
  ].join('\n'));
}

export async function neighbors(api: ApiClient, out: Output): Promise<void> {
  const list = await api.request<Neighbor[]>('GET', '/api/v1/neighbors');
  emit(out, list, () => (list.length === 0 ? 'no neighbors' : table(
    ['ADDRESS', 'PORT', 'RESOLVED', 'WANTED', 'MAC', 'AGE', 'REQUESTS'],
    list.map((n) => [n.address, n.port, n.resolved ? 'yes' : 'no', n.wanted ? 'yes' : 'no', n.mac ?? '-',
      n.ageSec < 0 ? 'never' : `${n.ageSec.toFixed(0)}s`, n.requestsSent]),
  )));
}

/** GET /metrics as it is: Prometheus text (--json has nothing to add). */
export async function metrics(api: ApiClient, out: Output): Promise<void> {
  out.print((await api.text('/metrics')).trimEnd());
}

interface PerLcoreBytes { lcore: number; ipv4Bytes: number; ipv6Bytes: number }
export interface NodeDrainInfo {
  state: 'active' | 'draining'; drainingSince?: string; drainingForSec?: number; drainedBy?: 'api' | 'stop';
  flows?: { active: number; natSessions: number; lcores: { lcore: number; active: number; natSessions: number }[] };
}
interface NodeInfo extends NodeDrainInfo {
  name: string; pid: number; version: string; uptimeSec: number;
  lcores: { total: number; alive: number; stuck: { lcore: number; stillForSec: number }[] };
  memory: {
    residentBytes: number;
    hugepagesBytes: number;
    lookupTables: { tables: number; bytes: number; reserveBytes: number; retiredBytes: number; limitBytes: number };
    flowTables: { bytes: number; limitBytes: number; lcores: PerLcoreBytes[] };
    natSessions: { bytes: number; limitBytes: number; lcores: PerLcoreBytes[] };
    mbufPools: { bytes: number; pools: { name: string; socket: number; mbufs: number; bytes: number }[] };
  };
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;
const share = (used: number, limit: number) => `${((100 * used) / limit).toFixed(1)}%`;

/** "DRAINING since ... (12.3 s, by api): every VIP withdrawn; 42 flows left (lcore 1: 20, lcore 2: 22)", or "active; 3 flows". */
export function drainText(n: NodeDrainInfo): string {
  const f = n.flows;
  const nat = f !== undefined && f.natSessions > 0 ? ` and ${f.natSessions} nat sessions` : '';
  const per = f === undefined ? '' : ` (${f.lcores.map((l) => `lcore ${l.lcore}: ${l.active + l.natSessions}`).join(', ')})`;
  if (n.state === 'active') {
    return `active: VIPs announced as bgp.announce says${f === undefined ? '' : `; ${f.active} flows${nat}${per}`}`;
  }
  return `DRAINING since ${n.drainingSince} (${n.drainingForSec?.toFixed(1)} s, by ${n.drainedBy}): every VIP withdrawn, `
    + `the data plane forwards what still arrives${f === undefined ? '' : `; ${f.active} flows${nat} left${per}`}`;
}

/** The node and its lcores, memory by kind against the config's limits, then per worker lcore. */
export function nodeText(n: NodeInfo): string {
  const { lookupTables: lt, flowTables: ft, natSessions: ns, mbufPools: mp, residentBytes, hugepagesBytes } = n.memory;
  return [
    `${n.name}: pid ${n.pid}, Sluice ${n.version}, up ${n.uptimeSec.toFixed(0)} s; worker lcores ${n.lcores.alive} of ${n.lcores.total} alive`,
    drainText(n),
    ...n.lcores.stuck.map((s) => `lcore ${s.lcore} STUCK: its loop has not moved for ${s.stillForSec.toFixed(1)} s (it forwards nothing)`),
    '',
    table(['MEMORY', 'SIZE', 'LIMIT', 'OF LIMIT'], [
      [`lookup tables (${lt.tables})`, mib(lt.bytes), mib(lt.limitBytes),
        `${share(lt.bytes + lt.reserveBytes, lt.limitBytes)} with ${mib(lt.reserveBytes)} kept to rebuild the largest`],
      ...(lt.retiredBytes > 0 ? [['  retired, not yet freed', mib(lt.retiredBytes), '', '']] : []),
      ['flow tables', mib(ft.bytes), mib(ft.limitBytes), share(ft.bytes, ft.limitBytes)],
      ['nat sessions', mib(ns.bytes), mib(ns.limitBytes), share(ns.bytes, ns.limitBytes)],
      ['mbuf pools', mib(mp.bytes), '', ''],
      ['resident set', mib(residentBytes), '', ''],
      ['hugepages', mib(hugepagesBytes), '', ''],
    ]),
    '',
    table(['LCORE', 'FLOWS', 'FLOWS IPV6', 'NAT', 'NAT IPV6'], ft.lcores.map((l, i) => [
      l.lcore, mib(l.ipv4Bytes), mib(l.ipv6Bytes), mib(ns.lcores[i]?.ipv4Bytes ?? 0), mib(ns.lcores[i]?.ipv6Bytes ?? 0),
    ])),
  ].join('\n');
}

export async function node(api: ApiClient, out: Output): Promise<void> {
  const n = await api.request<NodeInfo>('GET', '/api/v1/node');
  emit(out, n, () => nodeText(n));
}

/** POST /api/v1/node/drain or /undrain; prints the state it answers with. */
export async function nodeDrain(api: ApiClient, out: Output, action: 'drain' | 'undrain'): Promise<void> {
  const n = await api.request<NodeDrainInfo>('POST', `/api/v1/node/${action}`);
  emit(out, n, () => drainText(n));
}

export interface BgpInfo {
  enabled: boolean; asn?: number; routerId?: string; speaker?: string;
  peers?: { address: string; asn: number; state: string; uptimeSec?: number; received: number; advertised: number }[];
  vips?: { vip: string; prefix: string; announced: boolean; reason: string }[];
}

/** The speaker, a row per peer, a row per VIP with why it is or is not announced. */
export function bgpText(b: BgpInfo): string {
  if (!b.enabled) return 'BGP is off: the config has no bgp section';
  const peers = b.peers ?? [];
  const vips = b.vips ?? [];
  return [
    `BGP: AS ${b.asn}, router id ${b.routerId}, gobgpd ${b.speaker}; ${vips.filter((v) => v.announced).length} of ${vips.length} VIPs announced`,
    '',
    table(['PEER', 'ASN', 'STATE', 'UP', 'RECEIVED', 'ADVERTISED'], peers.map((p) => [
      p.address, p.asn, p.state, p.uptimeSec === undefined ? '-' : `${p.uptimeSec} s`, p.received, p.advertised,
    ])),
    '',
    vips.length === 0 ? 'no VIPs' : table(['PREFIX', 'ANNOUNCED', 'WHY'], vips.map((v) => [v.prefix, v.announced ? 'yes' : 'no', v.reason])),
  ].join('\n');
}

export async function bgp(api: ApiClient, out: Output): Promise<void> {
  const b = await api.request<BgpInfo>('GET', '/api/v1/bgp');
  emit(out, b, () => bgpText(b));
}

export interface Sample { at: number; stats: Stats }

/** Rates between two samples; the first screen of --watch shows totals only. */
export function statsText(now: Sample, before?: Sample): string {
  const dt = before ? (now.at - before.at) / 1000 : 0;
  const rate = (cur: number, old: number | undefined) => (before && dt > 0 && old !== undefined ? `${human((cur - old) / dt)}/s` : '-');
  const rows: (string | number)[][] = [];
  for (const s of now.stats.services) {
    const o = before?.stats.services.find((x) => x.name === s.name);
    rows.push([s.name, '', '', '', human(s.packets), rate(s.packets, o?.packets), rate(s.newFlows, o?.newFlows), s.activeFlows]);
    for (const b of s.backends) {
      const ob = o?.backends.find((x) => x.address === b.address && x.port === b.port);
      rows.push([`  ${backendKey(b)}`, b.weight, b.state, b.health, human(b.packets), rate(b.packets, ob?.packets), rate(b.newFlows, ob?.newFlows), b.activeFlows ?? '']);
    }
  }
  const drops = new Map<string, number>();
  for (const l of now.stats.lcores) for (const [k, v] of Object.entries(l.drops)) drops.set(k, (drops.get(k) ?? 0) + v);
  const dropText = [...drops].filter(([, v]) => v > 0).map(([k, v]) => `${k}=${human(v)}`).join(' ') || 'none';
  return [
    table(['SERVICE / BACKEND', 'WEIGHT', 'STATE', 'HEALTH', 'PACKETS', 'PKT RATE', 'CONN RATE', 'ACTIVE'], rows),
    '',
    table(['LCORE', 'RX', 'TX', 'NAT SESSIONS', 'NAT HANDOFFS'], now.stats.lcores.map((l) =>
      [l.lcore, human(l.rxPackets), human(l.txPackets), human(l.nat?.sessionsActive ?? 0), human(l.nat?.handoffsSent ?? 0)])),
    `drops: ${dropText}`,
  ].join('\n');
}

/** One service's rows of statsText, without the lcores and drops of the whole node. */
export function serviceStatsText(now: Sample, before?: Sample): string {
  return statsText(now, before).split('\n\n')[0];
}

export interface StatsOptions {
  watch: boolean;
  intervalMs: number;
  /** one service's rows only */
  service?: string;
  /** ends a watch (Ctrl-C) */
  signal?: AbortSignal;
  /** a line about the watch itself, apart from its screens (stderr) */
  note?: (text: string) => void;
}

/** While a daemon restarts: not reachable, stopping, or its data plane not started yet. */
function restarting(err: unknown): err is CliError {
  return err instanceof CliError &&
    (err.exitCode === EXIT_UNREACHABLE || err.code === 'SLUICE_SHUTTING_DOWN' || err.code === 'SLUICE_NOT_RUNNING');
}

const sleep = (ms: number, signal?: AbortSignal) => new Promise<void>((resolve) => {
  const t = setTimeout(done, ms);
  function done() {
    clearTimeout(t);
    signal?.removeEventListener('abort', done);
    resolve();
  }
  signal?.addEventListener('abort', done);
});

/**
 * Once, or with watch a screen every interval until the signal. A watch waits
 * through a daemon restart: one line says so, it tries again every interval,
 * and the screens resume (totals first: the counters began again) once it answers.
 */
export async function stats(api: ApiClient, out: Output, o: StatsOptions): Promise<void> {
  let checked = o.service === undefined;
  const take = async (): Promise<Sample> => {
    // The API's own 404 for a service it does not have.
    if (!checked) await api.request('GET', `/api/v1/services/${enc(o.service!)}`, undefined, { signal: o.signal });
    checked = true;
    const at = Date.now();
    const all = await api.request<Stats>('GET', '/api/v1/stats', undefined, { signal: o.signal, timeoutMs: o.watch ? Math.max(2000, o.intervalMs) : undefined });
    return { at, stats: o.service === undefined ? all : { ...all, services: all.services.filter((s) => s.name === o.service) } };
  };
  const screen = (cur: Sample, prev?: Sample) => (o.service === undefined ? statsText(cur, prev) : serviceStatsText(cur, prev));
  if (!o.watch) {
    const cur = await take();
    return emit(out, cur.stats, () => screen(cur));
  }
  let prev: Sample | undefined;
  let waiting = false;
  while (!o.signal?.aborted) {
    let cur: Sample | undefined;
    try {
      cur = await take();
    } catch (err) {
      if (o.signal?.aborted) break;
      if (!restarting(err)) throw err;
      if (!waiting) o.note?.(`${err.message.split(';')[0]}: waiting for it, trying every ${o.intervalMs / 1000}s (Ctrl-C stops)`);
      waiting = true;
      prev = undefined;
    }
    if (cur !== undefined) {
      if (waiting) o.note?.(`the Sluice API at ${api.base} answers again`);
      waiting = false;
      const c = cur;
      emit(out, c.stats, () => `\x1b[2J\x1b[H${new Date().toISOString()}  every ${o.intervalMs / 1000}s, Ctrl-C stops\n\n${screen(c, prev)}`);
      prev = cur;
    }
    await sleep(o.intervalMs, o.signal);
  }
}

/** POST /api/v1/config/reload: the daemon re-reads its config file; prints what changed. */
export async function reload(api: ApiClient, out: Output): Promise<void> {
  const r = await api.request<{ file: string; changed: boolean; diff: ServicesDiff }>('POST', '/api/v1/config/reload');
  emit(out, r, () => [
    `${r.file}: ${describeDiff(r.diff)}`,
    ...r.diff.changed.map((c) => {
      const b = c.backends;
      const parts = [
        ...(c.fields.length > 0 ? [`fields ${c.fields.join(', ')}`] : []),
        ...(b.added.length > 0 ? [`backends added ${b.added.join(', ')}`] : []),
        ...(b.removed.length > 0 ? [`backends removed ${b.removed.join(', ')}`] : []),
        ...(b.changed.length > 0 ? [`backends changed ${b.changed.join(', ')}`] : []),
      ];
      return `  ${c.name}: ${parts.join('; ')}`;
    }),
  ].join('\n'));
}

/** GET /api/v1/config as a YAML config file (JSON with --json): what runs, to save as the config. */
export async function configExport(api: ApiClient, out: Output): Promise<void> {
  const cfg = await api.request<Record<string, unknown>>('GET', '/api/v1/config');
  out.print(out.json ? JSON.stringify(cfg, null, 2)
    : `# The running configuration of the Sluice at ${api.base}, exported ${new Date().toISOString()}\n${stringify(cfg)}`);
}
