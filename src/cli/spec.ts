// Every `sluice` command, its arguments and options, in one table: the parser
// (parse.ts), the help texts and the bash completion (completion.ts) are all
// made from it, so none of them can name a command or option the others lack.
// Option values the config schema enumerates take their choices from the
// schema itself; every other rule about values is the API's to check.
import type { TSchema } from '@sinclair/typebox';
import { AdminStateSchema, HealthCheckSchema, ServiceSchema, TunnelSchema } from '../config/schema';

/** int: digits only (the range is the API's to check); text: anything; file: a path; choices: one of them */
export type OptionKind = 'flag' | 'int' | 'text' | 'file' | 'seconds' | { choices: readonly string[] };

export interface OptionSpec {
  name: string;
  kind: OptionKind;
  /** the value's placeholder in help: N, URL, ... */
  value?: string;
  help: string;
  multiple?: boolean;
  short?: string;
  /** accepted only to say what replaced it */
  renamed?: string;
}

/** service: an existing service's name; backend: a backend of the service named before it */
export interface ArgSpec {
  name: string;
  complete?: 'service' | 'backend' | { choices: readonly string[] };
  optional?: boolean;
}

export interface CommandSpec {
  /** the words that name it: ['backends', 'add'] */
  path: string[];
  /** other spellings of the last word */
  aliases?: string[];
  args: ArgSpec[];
  options: OptionSpec[];
  /** options that must be given */
  required?: string[];
  summary: string;
  /** more lines for --help */
  details?: string;
  /** reads nothing from a daemon: no --api */
  local?: boolean;
}

/** A word of the command line that has commands under it. */
export interface GroupSpec {
  name: string;
  summary: string;
  /** the command a bare `sluice GROUP` runs, if any */
  defaultCommand?: string;
}

/** The literals of a config schema's union: the choices the API accepts, as the schema states them. */
export function choicesOf(schema: TSchema): string[] {
  return ((schema.anyOf ?? []) as { const?: unknown }[]).map((s) => String(s.const));
}

const api: OptionSpec = { name: 'api', kind: 'text', value: 'URL', help: 'the daemon\'s API (default $SLUICE_API or http://127.0.0.1:9090)' };
const json: OptionSpec = { name: 'json', kind: 'flag', help: 'JSON output for scripts' };
const help: OptionSpec = { name: 'help', short: 'h', kind: 'flag', help: 'this help' };

/** Every command takes these. */
export const GLOBAL_OPTIONS: OptionSpec[] = [help, json];
/** Every command that talks to a daemon takes these too. */
export const API_OPTIONS: OptionSpec[] = [api];

const config: OptionSpec = { name: 'config', kind: 'file', value: 'FILE', help: 'the config file' };

const int = (name: string, value: string, text: string): OptionSpec => ({ name, kind: 'int', value, help: text });
const text = (name: string, value: string, t: string): OptionSpec => ({ name, kind: 'text', value, help: t });
const oneOf = (name: string, schema: TSchema, t: string): OptionSpec => {
  const choices = choicesOf(schema);
  return { name, kind: { choices }, value: choices.join('|'), help: t };
};

/** The health check's fields (healthCheck in the config); for a backend, an override of its service's. */
const HEALTH: OptionSpec[] = [
  oneOf('health', HealthCheckSchema.properties.type, 'health check type (healthCheck.type)'),
  text('health-path', 'PATH', 'http: the path to GET (healthCheck.path)'),
  text('health-expect-status', 'CODE[-CODE]', 'http: the status or range that passes, like 200-399 (healthCheck.expectStatus)'),
  int('health-port', 'N', 'probe this port instead of the backend\'s (healthCheck.port)'),
  int('health-interval-ms', 'MS', 'time between probes (healthCheck.intervalMs)'),
  int('health-timeout-ms', 'MS', 'a probe slower than this fails (healthCheck.timeoutMs)'),
  int('health-rise', 'N', 'successes in a row that bring a down backend up (healthCheck.rise)'),
  int('health-fall', 'N', 'failures in a row that take an up backend down (healthCheck.fall)'),
  oneOf('health-initial-state', HealthCheckSchema.properties.initialState,
    'a backend added while running: down waits for its first probe, up takes flows at once (healthCheck.initialState)'),
];

const SERVICE: OptionSpec[] = [
  text('vip', 'IP', 'the virtual IP, IPv4 or IPv6'),
  int('port', 'N', 'the virtual port'),
  oneOf('protocol', ServiceSchema.properties.protocol, 'default tcp'),
  oneOf('forwarding', ServiceSchema.properties.forwarding, 'how packets reach backends; default dsr (docs/forwarding-modes.md)'),
  int('lookup-table-size', 'PRIME', 'slots of the table that picks each new flow\'s backend (lookupTableSize)'),
  { name: 'maglev-size', kind: 'int', value: 'PRIME', help: '', renamed: 'lookup-table-size' },
  oneOf('encapsulation', TunnelSchema.properties.encapsulation, 'forwarding tunnel: the encapsulation (tunnel.encapsulation)'),
  int('gue-port', 'N', 'gue: the outer UDP destination port (tunnel.guePort)'),
  text('tunnel-source', 'IP', 'a fixed outer source address (tunnel.source)'),
  text('source-network', 'PREFIX', 'ipip: the prefix per-flow outer sources come from (tunnel.sourceNetwork)'),
  ...HEALTH,
];

const STATES: OptionSpec[] = [
  { name: 'drain', kind: 'flag', help: 'no new flows; existing flows stay (state drain)' },
  { name: 'disable', kind: 'flag', help: 'no new flows, existing flows move to other backends (state disabled)' },
  { name: 'enable', kind: 'flag', help: 'takes new flows again (state active)' },
];

const BACKEND: OptionSpec[] = [
  int('weight', 'N', 'share of new flows against the other backends; 0 takes none (default 100)'),
  text('mac', 'MAC', 'a static next-hop MAC; without it the data plane resolves the address'),
  ...HEALTH.map((o) => ({ ...o, help: `${o.help}; this backend only` })),
];

const watch: OptionSpec = { name: 'watch', kind: 'flag', help: 'refresh until Ctrl-C, with rates; waits through a daemon restart' };
const interval: OptionSpec = { name: 'interval', kind: 'seconds', value: 'SECONDS', help: 'between refreshes, 0.1 to 3600 (default 1)' };

const SERVICE_ARG: ArgSpec = { name: 'SERVICE', complete: 'service' };
const NAME_ARG: ArgSpec = { name: 'NAME', complete: 'service' };
const BACKEND_ARG: ArgSpec = { name: 'ADDRESS:PORT', complete: 'backend' };

export const ALIASES = { ls: ['list'], rm: ['remove', 'delete'], show: ['get'] } as const;

export const GROUPS: GroupSpec[] = [
  { name: 'services', summary: 'virtual services: list, show, add, change, remove', defaultCommand: 'ls' },
  { name: 'backends', summary: 'a service\'s backends: list, show, add, change, drain, remove' },
  { name: 'config', summary: 'the running configuration' },
  { name: 'node', summary: 'the node: show it, drain it (withdraw every VIP), undrain it', defaultCommand: 'show' },
  { name: 'quic-lb', summary: 'QUIC-LB: what servers need to issue connection IDs this node routes' },
];

export const COMMANDS: CommandSpec[] = [
  {
    path: ['run'], args: [], options: [config, { name: 'check', kind: 'flag', help: 'check as `check` does and exit, starting nothing' }],
    required: ['config'], local: true,
    summary: 'run the balancer: data plane, health checks, REST API',
  },
  {
    path: ['check'], args: [], options: [config], required: ['config'], local: true,
    summary: 'every problem of a config file and of the state file run would restore; exit 0 valid, 1 not',
  },
  { path: ['reload'], args: [], options: [], summary: 're-read the daemon\'s config file and apply its services (as SIGHUP)' },
  { path: ['config', 'export'], args: [], options: [], summary: 'the running configuration as a YAML config file, on stdout' },
  { path: ['status'], args: [], options: [], summary: 'readiness, ports and services' },
  {
    path: ['version'], args: [], options: [],
    summary: 'this CLI\'s version, and the daemon\'s when one answers',
  },
  { path: ['services', 'ls'], aliases: [...ALIASES.ls], args: [], options: [], summary: 'every service, with its backends up and active flows' },
  {
    path: ['services', 'show'], aliases: [...ALIASES.show], args: [NAME_ARG], options: [],
    summary: 'one service, its health check and backends: health, the last probe\'s error, flows, drain progress',
  },
  {
    path: ['services', 'add'], args: [{ name: 'NAME' }], required: ['vip', 'port'],
    options: [...SERVICE, { name: 'backend', kind: 'text', value: 'ADDRESS:PORT', multiple: true, help: 'a backend, weight 100' }],
    summary: 'add a service',
    details: 'Fields left out take the config file\'s defaults; the API checks every value and names the field at fault.',
  },
  {
    path: ['services', 'set'], args: [NAME_ARG], options: SERVICE.filter((o) => o.name !== 'maglev-size'),
    summary: 'change a running service\'s fields; what is not given stays',
    details: 'Reads the service, changes the fields given and replaces it in one step (PUT); its backends stay as they are.',
  },
  { path: ['services', 'rm'], aliases: [...ALIASES.rm], args: [NAME_ARG], options: [], summary: 'remove a service' },
  { path: ['backends', 'ls'], aliases: [...ALIASES.ls], args: [SERVICE_ARG], options: [], summary: 'a service\'s backends' },
  {
    path: ['backends', 'show'], aliases: [...ALIASES.show], args: [SERVICE_ARG, BACKEND_ARG], options: [],
    summary: 'one backend: state, health and the last probe\'s error, flows, emptySince',
  },
  {
    path: ['backends', 'add'], args: [SERVICE_ARG, { name: 'ADDRESS:PORT' }], options: [...BACKEND, ...STATES.slice(0, 2)],
    summary: 'add a backend (IPv6 in brackets: [2001:db8::1]:80)',
  },
  { path: ['backends', 'rm'], aliases: [...ALIASES.rm], args: [SERVICE_ARG, BACKEND_ARG], options: [], summary: 'remove a backend; its flows move to the others' },
  {
    path: ['backends', 'set'], args: [SERVICE_ARG, BACKEND_ARG], options: [...BACKEND, ...STATES],
    summary: 'change a backend\'s weight or state (and its MAC or health check override)',
    details: 'Weight and state change alone (PATCH); --mac or a --health option replaces the service in one step (PUT).',
  },
  { path: ['backends', 'drain'], args: [SERVICE_ARG, BACKEND_ARG], options: [], summary: 'no new flows, existing ones stay: `backends set --drain`' },
  { path: ['backends', 'disable'], args: [SERVICE_ARG, BACKEND_ARG], options: [], summary: 'no new flows, existing ones move: `backends set --disable`' },
  { path: ['backends', 'enable'], args: [SERVICE_ARG, BACKEND_ARG], options: [], summary: 'take new flows again: `backends set --enable`' },
  {
    path: ['stats'], args: [{ ...SERVICE_ARG, optional: true }], options: [watch, interval],
    summary: 'packets, rates, active flows per service and backend; lcores and drops (one service: its rows only)',
  },
  {
    path: ['flows'], args: [{ ...SERVICE_ARG, optional: true }, { ...BACKEND_ARG, optional: true }],
    options: [text('client', 'ADDRESS', 'only this client\'s connections'), int('limit', 'N', 'at most N rows (default 100, at most 10000)')],
    summary: 'connections in the lcores\' tables: client, VIP, backend, state, age, idle (of a service, or of one of its backends)',
  },
  {
    path: ['quic-lb', 'config'], args: [SERVICE_ARG], options: [],
    summary: 'what each backend\'s QUIC server needs to issue routable connection IDs: its server ID, the config ID, lengths, algorithm and key',
    details: 'The key is secret: it lets whoever holds it read server IDs from connection IDs. --json gives the same for a deployment tool.',
  },
  { path: ['health'], args: [{ ...SERVICE_ARG, optional: true }], options: [], summary: 'every backend\'s health: status, streak, last probe and its error' },
  {
    path: ['node', 'show'], aliases: [...ALIASES.show], args: [], options: [],
    summary: 'the node: host, version, uptime, active or draining with the flows left, worker lcores alive or stuck; memory by kind',
  },
  {
    path: ['node', 'drain'], args: [], options: [],
    summary: 'withdraw every VIP over BGP; the data plane keeps forwarding what still arrives',
    details: 'Idempotent. Prints the flows left per lcore; `sluice node` shows them going down. Not kept across a restart.',
  },
  {
    path: ['node', 'undrain'], args: [], options: [],
    summary: 'announce the VIPs again, as bgp.announce says',
    details: 'Idempotent. Refused (SLUICE_SHUTTING_DOWN) while a stop signal drains the node.',
  },
  { path: ['lcores'], args: [], options: [], summary: 'worker lcores: queues polled, packets, busy ratio, ns per packet, flows, generation' },
  { path: ['bgp'], args: [], options: [], summary: 'BGP: the speaker\'s peers (state, uptime, paths) and each VIP, announced or not and why' },
  { path: ['ports'], args: [], options: [], summary: 'ports: driver, MAC, link, queues, MTU, counters, warnings' },
  { path: ['neighbors'], args: [], options: [], summary: 'next hops: ARP (IPv4) and neighbor discovery (IPv6), resolved or not' },
  { path: ['metrics'], args: [], options: [], summary: 'the Prometheus text of GET /metrics' },
  {
    path: ['completion'], args: [{ name: 'SHELL', complete: { choices: ['bash'] } }], options: [], local: true,
    summary: 'the shell completion script, on stdout (docs/api.md: installing it)',
  },
  { path: ['help'], args: [{ name: 'COMMAND', optional: true }], options: [], local: true, summary: 'help for a command: sluice help backends add' },
];

export const STATE_OF = { drain: 'drain', disable: 'disabled', enable: 'active' } as const satisfies
  Record<string, (typeof AdminStateSchema.anyOf)[number]['const']>;

export const id = (c: CommandSpec) => c.path.join(' ');

/** The options a command takes, its own first. */
export function optionsOf(c: CommandSpec): OptionSpec[] {
  return [...c.options, ...(c.local ? [] : API_OPTIONS), ...GLOBAL_OPTIONS];
}

function argText(a: ArgSpec): string {
  return a.optional ? `[${a.name}]` : a.name;
}

function optionText(o: OptionSpec): string {
  return o.kind === 'flag' ? `--${o.name}` : `--${o.name} ${o.value ?? 'VALUE'}`;
}

/** `sluice backends add SERVICE ADDRESS:PORT [options]` */
export function synopsis(c: CommandSpec): string {
  const required = (c.required ?? []).map((n) => optionText(c.options.find((o) => o.name === n)!));
  const more = c.options.some((o) => !(c.required ?? []).includes(o.name) && !o.renamed) ? ['[options]'] : [];
  return ['sluice', ...c.path, ...c.args.map(argText), ...required, ...more].join(' ');
}

const pad = (rows: [string, string][], indent = '  ') => {
  const w = Math.min(38, Math.max(...rows.map(([a]) => a.length)));
  return rows.map(([a, b]) => (a.length > w ? `${indent}${a}\n${indent}${' '.repeat(w + 2)}${b}` : `${indent}${a.padEnd(w)}  ${b}`)).join('\n');
};

/** The short usage: every command on a line. */
export function mainUsage(): string {
  return [
    'usage: sluice <command> [arguments] [options]',
    '',
    pad(COMMANDS.map((c) => [synopsis(c).replace(/^sluice /, '').replace(/ \[options\]$/, ''), c.summary])),
    '',
    pad([['--api URL', api.help], ['--json', json.help], ['-h, --help', 'help for any command: sluice backends add --help'],
      ['-V, --version', 'the version of this CLI']]),
    '  The API token, when the daemon needs one, comes from $SLUICE_TOKEN.',
    '  Exit codes: 0 done, 1 refused (the API\'s message and code), 2 usage, 3 daemon not reachable.',
  ].join('\n');
}

/** `sluice services --help`: the group's commands. */
export function groupUsage(g: GroupSpec): string {
  const cmds = COMMANDS.filter((c) => c.path[0] === g.name);
  return [
    `usage: sluice ${g.name} <command> [arguments] [options]${g.defaultCommand ? ` (bare: ${g.name} ${g.defaultCommand})` : ''}`,
    '',
    `  ${g.summary}`,
    '',
    pad(cmds.map((c) => [[c.path[1], ...(c.aliases ?? [])].join('|') + ' ' + c.args.map(argText).join(' '), c.summary])),
    '',
    `  sluice ${g.name} <command> --help: its options`,
  ].join('\n');
}

/** `sluice backends add --help`. */
export function commandUsage(c: CommandSpec): string {
  const own = c.options.filter((o) => !o.renamed);
  const common = optionsOf(c).filter((o) => !c.options.includes(o));
  const row = (o: OptionSpec): [string, string] =>
    [`${o.short ? `-${o.short}, ` : ''}${optionText(o)}`, `${o.help}${o.multiple ? ' (repeatable)' : ''}`];
  return [
    `usage: ${synopsis(c)}`,
    ...(c.aliases ? [`       (${c.path[c.path.length - 1]} is also ${c.aliases.join(', ')})`] : []),
    '',
    `  ${c.summary}`,
    ...(c.details ? [`  ${c.details}`] : []),
    ...(own.length > 0 ? ['', 'options:', pad(own.map(row))] : []),
    '',
    'common options:',
    pad(common.map(row)),
  ].join('\n');
}

/** The command or group named by the leading words (aliases allowed); `rest` is what follows. */
export function lookup(words: readonly string[]):
  { command?: CommandSpec; group?: GroupSpec; rest: string[] } {
  const [first, second, ...more] = words;
  const group = GROUPS.find((g) => g.name === first);
  if (group === undefined) {
    const command = COMMANDS.find((c) => c.path.length === 1 && c.path[0] === first);
    return { command, rest: words.slice(command ? 1 : 0) };
  }
  if (second === undefined) {
    const dflt = group.defaultCommand && COMMANDS.find((c) => c.path[0] === group.name && c.path[1] === group.defaultCommand);
    return { group, command: dflt || undefined, rest: [] };
  }
  const command = COMMANDS.find((c) => c.path[0] === group.name && (c.path[1] === second || (c.aliases ?? []).includes(second)));
  return { group, command, rest: command ? more : words.slice(1) };
}
