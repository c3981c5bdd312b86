#!/usr/bin/env node
// The `sluice` command: `run` is the daemon; everything else talks to a running
// daemon over its REST API.
import { parseArgs } from 'node:util';
import { ApiClient, CliError } from './cli/api-client';
import * as commands from './cli/commands';
import { checkFile, printCheck } from './cli/check';
import { runDaemon } from './cli/run';
import { backendKey, parseBackendKey } from './control/backend-key';

const USAGE = `usage: sluice <command> [options]

  run --config FILE [--check]             run the balancer (data plane, health checks, REST API);
                                          --check: check as \`check\` does and exit, starting nothing
  check --config FILE                     every problem of a config file and of the state file run would
                                          restore; exit 0 valid, 1 not
  reload                                  re-read the daemon's config file, apply its services (as SIGHUP)
  config export                           the running configuration as a YAML config file, on stdout
  status                                  readiness, ports and services
  services ls
  services show NAME
  services add NAME --vip IP --port N [--protocol tcp|udp] [--lookup-table-size PRIME] [--health tcp|http|none]
  services rm NAME
  backends add SERVICE ADDRESS:PORT [--weight N] [--mac MAC]
  backends rm SERVICE ADDRESS:PORT
  backends set SERVICE ADDRESS:PORT [--weight N] [--drain | --disable | --enable]
  stats [--watch] [--interval SECONDS]
  node                                    memory by kind against the config's limits

  --api URL     the daemon's API (default $SLUICE_API or http://127.0.0.1:9090)
  --json        JSON output for scripts
  The API token, when the daemon needs one, comes from $SLUICE_TOKEN.`;

const EXIT_USAGE = 2;

function usage(message: string): never {
  throw new CliError(`${message}\n\n${USAGE}`, EXIT_USAGE);
}

function int(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) usage(`--${name} takes a whole number, not "${text}"`);
  return Number(text);
}

async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' }, api: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
      vip: { type: 'string' }, port: { type: 'string' }, protocol: { type: 'string' },
      'lookup-table-size': { type: 'string' }, 'maglev-size': { type: 'string' },
      health: { type: 'string' }, weight: { type: 'string' }, mac: { type: 'string' },
      drain: { type: 'boolean' }, disable: { type: 'boolean' }, enable: { type: 'boolean' },
      watch: { type: 'boolean' }, interval: { type: 'string' }, check: { type: 'boolean' },
    },
  });
  const [command, sub, ...rest] = positionals;
  if (values.help || command === undefined) {
    console.log(USAGE);
    return;
  }
  if (command === 'run' || command === 'check') {
    if (values.config === undefined) usage(`${command} needs --config FILE`);
    if (command === 'check' || values.check) {
      const code = printCheck(checkFile(values.config), values.json ?? false, (t) => console.log(t));
      if (code !== 0) process.exitCode = code;
      return;
    }
    await runDaemon(values.config);
    return;
  }

  const api = new ApiClient(values.api);
  const out: commands.Output = { json: values.json ?? false, print: (t) => console.log(t) };
  const need = (n: number, what: string) => {
    if (rest.length < n) usage(`missing ${what}`);
  };
  switch (`${command} ${sub ?? ''}`.trim()) {
    case 'status':
      return commands.status(api, out);
    case 'services ls':
    case 'services':
      return commands.servicesLs(api, out);
    case 'services show':
      need(1, 'NAME');
      return commands.servicesShow(api, out, rest[0]);
    case 'services add': {
      need(1, 'NAME');
      if (values.vip === undefined || values.port === undefined) usage('services add needs --vip and --port');
      const body: Record<string, unknown> = { name: rest[0], vip: values.vip, port: int('port', values.port) };
      if (values.protocol !== undefined) body.protocol = values.protocol;
      if (values['maglev-size'] !== undefined) usage('--maglev-size was renamed --lookup-table-size');
      if (values['lookup-table-size'] !== undefined) {
        body.lookupTableSize = int('lookup-table-size', values['lookup-table-size']);
      }
      if (values.health !== undefined) body.healthCheck = { type: values.health };
      return commands.servicesAdd(api, out, body);
    }
    case 'services rm':
      need(1, 'NAME');
      return commands.servicesRm(api, out, rest[0]);
    case 'backends add': {
      need(2, 'SERVICE ADDRESS:PORT');
      const body: Record<string, unknown> = { ...backendTarget(rest[1]) };
      if (values.weight !== undefined) body.weight = int('weight', values.weight);
      if (values.mac !== undefined) body.mac = values.mac;
      return commands.backendsAdd(api, out, rest[0], body);
    }
    case 'backends rm':
      need(2, 'SERVICE ADDRESS:PORT');
      return commands.backendsRm(api, out, rest[0], keyOf(rest[1]));
    case 'backends set': {
      need(2, 'SERVICE ADDRESS:PORT');
      const states = (['drain', 'disable', 'enable'] as const).filter((s) => values[s]);
      if (states.length > 1) usage('give at most one of --drain, --disable, --enable');
      const patch: Record<string, unknown> = {};
      if (values.weight !== undefined) patch.weight = int('weight', values.weight);
      if (states[0] !== undefined) patch.state = { drain: 'drain', disable: 'disabled', enable: 'active' }[states[0]];
      if (Object.keys(patch).length === 0) usage('backends set needs --weight N, --drain, --disable or --enable');
      return commands.backendsSet(api, out, rest[0], keyOf(rest[1]), patch);
    }
    case 'node':
      return commands.node(api, out);
    case 'reload':
      return commands.reload(api, out);
    case 'config export':
      return commands.configExport(api, out);
    case 'stats': {
      const interval = values.interval === undefined ? 1 : Number(values.interval);
      if (!(interval >= 0.1 && interval <= 3600)) usage('--interval takes seconds between 0.1 and 3600');
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      return commands.stats(api, out, values.watch ?? false, interval * 1000, stop.signal);
    }
    default:
      usage(`unknown command "${positionals.join(' ')}"`);
  }
}

function backendTarget(text: string): { address: string; port: number } {
  try {
    return parseBackendKey(text);
  } catch (err) {
    return usage((err as Error).message);
  }
}

function keyOf(text: string): string {
  return backendKey(backendTarget(text));
}

run(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`sluice: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  if ((err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`sluice: ${(err as Error).message}\n\n${USAGE}\n`);
    process.exit(EXIT_USAGE);
  }
  process.stderr.write(`sluice: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
