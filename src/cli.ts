#!/usr/bin/env node
// The `sluice` command: `run` is the daemon; everything else talks to a running
// daemon over its REST API. The commands, their arguments and options are the
// table of src/cli/spec.ts; parse.ts reads the command line against it.
import { parseArgs } from 'node:util';
import { ApiClient, CliError } from './cli/api-client';
import { backendFields, serviceFields } from './cli/bodies';
import * as commands from './cli/commands';
import { bashCompletion, completeNames } from './cli/completion';
import { parse, usageError, type OptionValues } from './cli/parse';
import { commandUsage, id, STATE_OF, type CommandSpec } from './cli/spec';
import { cliVersion, version } from './cli/version';
import { backendKey, parseBackendKey } from './control/backend-key';

interface Context {
  command: CommandSpec;
  args: string[];
  values: OptionValues;
  api: ApiClient;
  out: commands.Output;
}

const str = (v: OptionValues[string]) => (typeof v === 'string' ? v : undefined);

function backendTarget(c: Context, text: string): { address: string; port: number } {
  try {
    return parseBackendKey(text);
  } catch (err) {
    throw usageError((err as Error).message, commandUsage(c.command));
  }
}

const keyOf = (c: Context, text: string) => backendKey(backendTarget(c, text));

/** --drain, --disable or --enable as an admin state; at most one. */
function stateOf(c: Context): string | undefined {
  const given = (['drain', 'disable', 'enable'] as const).filter((s) => c.values[s] === true);
  if (given.length > 1) throw usageError('give at most one of --drain, --disable, --enable', commandUsage(c.command));
  return given[0] === undefined ? undefined : STATE_OF[given[0]];
}

function backendsSet(c: Context): Promise<void> {
  const [service, target] = c.args;
  const key = keyOf(c, target);
  const state = stateOf(c);
  const fields = backendFields(c.values, state);
  if (Object.keys(fields).length === 0) {
    throw usageError('backends set needs --weight N, --drain, --disable, --enable, --mac or a --health option', commandUsage(c.command));
  }
  // PATCH takes weight and state; anything else needs the service replaced.
  if (fields.mac !== undefined || fields.healthCheck !== undefined) return commands.backendsEdit(c.api, c.out, service, key, fields);
  return commands.backendsSet(c.api, c.out, service, key, fields);
}

const HANDLERS: Record<string, (c: Context) => Promise<void>> = {
  run: async (c) => {
    const file = str(c.values.config)!;
    if (c.values.check === true) {
      const { checkFile, printCheck } = await import('./cli/check');
      process.exitCode = printCheck(checkFile(file), c.out.json, c.out.print) || undefined;
      return;
    }
    // Loaded only here: the data plane's modules are not needed by any other command.
    const { runDaemon } = await import('./cli/run');
    await runDaemon(file);
  },
  check: async (c) => {
    const { checkFile, printCheck } = await import('./cli/check');
    process.exitCode = printCheck(checkFile(str(c.values.config)!), c.out.json, c.out.print) || undefined;
  },
  reload: (c) => commands.reload(c.api, c.out),
  'config export': (c) => commands.configExport(c.api, c.out),
  status: (c) => commands.status(c.api, c.out),
  version: (c) => version(c.api, c.out),
  'services ls': (c) => commands.servicesLs(c.api, c.out),
  'services show': (c) => commands.servicesShow(c.api, c.out, c.args[0]),
  'services add': (c) => {
    const backends = ((c.values.backend ?? []) as string[]).map((b) => backendTarget(c, b));
    return commands.servicesAdd(c.api, c.out, {
      name: c.args[0], ...serviceFields(c.values), ...(backends.length > 0 ? { backends } : {}),
    });
  },
  'services set': (c) => {
    const fields = serviceFields(c.values);
    if (Object.keys(fields).length === 0) throw usageError('services set needs an option to change', commandUsage(c.command));
    return commands.servicesSet(c.api, c.out, c.args[0], fields);
  },
  'services rm': (c) => commands.servicesRm(c.api, c.out, c.args[0]),
  'backends ls': (c) => commands.backendsLs(c.api, c.out, c.args[0]),
  'backends show': (c) => commands.backendsShow(c.api, c.out, c.args[0], keyOf(c, c.args[1])),
  'backends add': (c) => commands.backendsAdd(c.api, c.out, c.args[0], {
    ...backendTarget(c, c.args[1]), ...backendFields(c.values, stateOf(c)),
  }),
  'backends rm': (c) => commands.backendsRm(c.api, c.out, c.args[0], keyOf(c, c.args[1])),
  'backends set': backendsSet,
  'backends drain': (c) => commands.backendsSet(c.api, c.out, c.args[0], keyOf(c, c.args[1]), { state: STATE_OF.drain }),
  'backends disable': (c) => commands.backendsSet(c.api, c.out, c.args[0], keyOf(c, c.args[1]), { state: STATE_OF.disable }),
  'backends enable': (c) => commands.backendsSet(c.api, c.out, c.args[0], keyOf(c, c.args[1]), { state: STATE_OF.enable }),
  stats: (c) => {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    return commands.stats(c.api, c.out, {
      watch: c.values.watch === true,
      intervalMs: Number(str(c.values.interval) ?? '1') * 1000,
      service: c.args[0],
      signal: stop.signal,
      note: (t) => process.stderr.write(`sluice: ${t}\n`),
    });
  },
  health: (c) => commands.health(c.api, c.out, c.args[0]),
  'quic-lb config': (c) => commands.quicLbConfig(c.api, c.out, c.args[0]),
  'node show': (c) => commands.node(c.api, c.out),
  'node drain': (c) => commands.nodeDrain(c.api, c.out, 'drain'),
  'node undrain': (c) => commands.nodeDrain(c.api, c.out, 'undrain'),
  lcores: (c) => commands.lcores(c.api, c.out),
  ports: (c) => commands.ports(c.api, c.out),
  bgp: (c) => commands.bgp(c.api, c.out),
  neighbors: (c) => commands.neighbors(c.api, c.out),
  flows: (c) => commands.flows(c.api, c.out, {
    service: c.args[0],
    backend: c.args[1] === undefined ? undefined : keyOf(c, c.args[1]),
    client: str(c.values.client),
    limit: str(c.values.limit),
  }),
  metrics: (c) => commands.metrics(c.api, c.out),
  completion: async (c) => c.out.print(bashCompletion().trimEnd()),
};

/** `sluice __complete services|backends SERVICE [--api URL]`, for the completion script: names, or nothing. */
async function complete(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: false, options: { api: { type: 'string' } } });
  const names = await completeNames(new ApiClient(str(values.api)), positionals[0] ?? '', positionals[1]);
  if (names.length > 0) console.log(names.join('\n'));
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === '__complete') return complete(argv.slice(1));
  const parsed = parse(argv);
  if (parsed.kind === 'help') return console.log(parsed.text);
  if (parsed.kind === 'version') return console.log(cliVersion());
  const { command, args, values } = parsed;
  const handler = HANDLERS[id(command)];
  if (handler === undefined) throw new Error(`no handler for sluice ${id(command)}`);
  await handler({
    command,
    args,
    values,
    api: new ApiClient(str(values.api)),
    out: { json: values.json === true, print: (t) => console.log(t) },
  });
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof CliError) {
    process.stderr.write(`sluice: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`sluice: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
