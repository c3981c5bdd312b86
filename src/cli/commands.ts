// The operator commands: each one request (or a few) to the REST API, printed as
// a table, or as JSON with --json.
import { stringify } from 'yaml';
import { describeDiff, type ServicesDiff } from '../config/diff';
import { backendKey } from '../control/backend-key';
import { ApiClient, CliError } from './api-client';
import { human, table } from './table';

export interface Output {
  json: boolean;
  print(text: string): void;
}

interface Health { status: string }
interface Backend { key: string; address: string; port: number; weight: number; state: string; health: Health; stats?: { packets: number; bytes: number; newFlows: number } }
interface Service { name: string; vip: string; port: number; protocol: string; forwarding: string; lookupTableSize: number; backends: Backend[]; stats?: { packets: number; bytes: number; newFlows: number; activeFlows: number } }
interface Port { name: string; driver: string; mac: string; link: { up: boolean }; rxQueues: number }
interface Stats {
  services: { name: string; packets: number; bytes: number; newFlows: number; activeFlows: number; backends: { address: string; port: number; weight: number; state: string; health: string; packets: number; bytes: number; newFlows: number }[] }[];
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

export async function servicesShow(api: ApiClient, out: Output, name: string): Promise<void> {
  const s = await api.request<Service>('GET', `/api/v1/services/${enc(name)}`);
  emit(out, s, () => [
    `${s.name}: ${s.vip}:${s.port}/${s.protocol} ${s.forwarding}, lookup table ${s.lookupTableSize} slots` +
      (s.stats ? `, ${human(s.stats.packets)} packets, ${s.stats.activeFlows} active flows` : ''),
    '',
    s.backends.length === 0 ? 'no backends' : table(['BACKEND', 'WEIGHT', 'STATE', 'HEALTH', 'PACKETS', 'NEW FLOWS'], s.backends.map((b) => [
      b.key, b.weight, b.state, b.health.status, human(b.stats?.packets ?? 0), human(b.stats?.newFlows ?? 0),
    ])),
  ].join('\n'));
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

interface PerLcoreBytes { lcore: number; ipv4Bytes: number; ipv6Bytes: number }
interface NodeInfo {
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

/** Memory by kind against the config's limits, then per worker lcore. */
export function nodeText(n: NodeInfo): string {
  const { lookupTables: lt, flowTables: ft, natSessions: ns, mbufPools: mp, residentBytes, hugepagesBytes } = n.memory;
  return [
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

interface Sample { at: number; stats: Stats }

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
      rows.push([`  ${backendKey(b)}`, b.weight, b.state, b.health, human(b.packets), rate(b.packets, ob?.packets), rate(b.newFlows, ob?.newFlows), '']);
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

export async function stats(api: ApiClient, out: Output, watch: boolean, intervalMs: number,
  signal?: AbortSignal): Promise<void> {
  const take = async (): Promise<Sample> => ({ at: Date.now(), stats: await api.request<Stats>('GET', '/api/v1/stats') });
  let prev = await take();
  if (!watch) return emit(out, prev.stats, () => statsText(prev));
  emit(out, prev.stats, () => `\x1b[2J\x1b[H${statsText(prev)}`);
  while (!signal?.aborted) {
    await new Promise((r) => setTimeout(r, intervalMs));
    if (signal?.aborted) break;
    const cur = await take();
    emit(out, cur.stats, () => `\x1b[2J\x1b[H${new Date().toISOString()}  every ${intervalMs / 1000}s, Ctrl-C stops\n\n${statsText(cur, prev)}`);
    prev = cur;
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
