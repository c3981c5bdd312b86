// The command line against the table of spec.ts: which command, its arguments,
// its options with their values' shapes checked (a whole number, one of the
// schema's choices). Anything else wrong is a usage error: exit 2, with the
// usage of the command (or group) at fault on stderr.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { CliError } from './api-client';
import {
  COMMANDS, commandUsage, GLOBAL_OPTIONS, groupUsage, id, lookup, mainUsage, optionsOf,
  type CommandSpec, type OptionSpec,
} from './spec';

export const EXIT_USAGE = 2;

export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

export type Parsed =
  | { kind: 'help'; text: string }
  | { kind: 'version' }
  | { kind: 'command'; command: CommandSpec; args: string[]; values: OptionValues };

/** A usage error: the message, then the usage that applies. */
export function usageError(message: string, usage: string): CliError {
  return new CliError(`${message}\n\n${usage}`, EXIT_USAGE);
}

const VERSION: OptionSpec = { name: 'version', short: 'V', kind: 'flag', help: '' };

function parseConfig(options: OptionSpec[]): NonNullable<ParseArgsConfig['options']> {
  const out: NonNullable<ParseArgsConfig['options']> = {};
  for (const o of options) {
    out[o.name] = {
      type: o.kind === 'flag' ? 'boolean' : 'string',
      ...(o.short ? { short: o.short } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  }
  return out;
}

/** Every option of every command: to find the command words before the command's own options are known. */
const ALL_OPTIONS = parseConfig([...GLOBAL_OPTIONS, VERSION, ...COMMANDS.flatMap(optionsOf)]);

function listed(items: readonly string[], last = 'or'): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} ${last} ${items[items.length - 1]}`;
}

/** node:util's messages, about one option, shortened to what a person needs. */
function parseArgsMessage(err: Error & { code?: string }, c: CommandSpec): string {
  const option = /'(-[^' ]+)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option} for sluice ${id(c)}`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    return /argument missing|ambiguous/.test(err.message) ? `${option} needs a value` : `${option} takes no value`;
  }
  return err.message;
}

function checkValue(o: OptionSpec, value: string, usage: string): void {
  const k = o.kind;
  if (k === 'int' && !/^\d+$/.test(value)) throw usageError(`--${o.name} takes a whole number, not "${value}"`, usage);
  if (k === 'seconds' && !(Number(value) >= 0.1 && Number(value) <= 3600)) {
    throw usageError(`--${o.name} takes seconds between 0.1 and 3600, not "${value}"`, usage);
  }
  if (typeof k === 'object' && !k.choices.includes(value)) {
    throw usageError(`--${o.name} takes ${listed(k.choices.map((c) => `"${c}"`))}, not "${value}"`, usage);
  }
}

export function parse(argv: string[]): Parsed {
  const loose = parseArgs({ args: argv, allowPositionals: true, strict: false, options: ALL_OPTIONS });
  const words = loose.positionals;
  const wantsHelp = loose.values.help === true;
  if (words[0] === 'help') {
    const topic = words.slice(1);
    if (topic.length === 0) return { kind: 'help', text: wantsHelp ? commandUsage(lookup(['help']).command!) : mainUsage() };
    const { command, group, rest } = lookup(topic);
    if (group !== undefined && topic.length === 1) return { kind: 'help', text: groupUsage(group) };
    if (command !== undefined && rest.length === 0) return { kind: 'help', text: commandUsage(command) };
    throw usageError(`no command "${topic.join(' ')}"`, group ? groupUsage(group) : mainUsage());
  }
  if (words.length === 0) {
    if (wantsHelp) return { kind: 'help', text: mainUsage() };
    if (loose.values.version === true && argv.length === 1) return { kind: 'version' };
    throw usageError(argv.length === 0 ? 'no command given' : `no command given (${argv.join(' ')})`, mainUsage());
  }
  const { command, group, rest } = lookup(words);
  if (group !== undefined && words.length === 1 && wantsHelp) return { kind: 'help', text: groupUsage(group) };
  if (command === undefined) {
    if (group === undefined) throw usageError(`unknown command "${words[0]}"`, mainUsage());
    throw usageError(words.length === 1 ? `sluice ${group.name} needs a command` : `unknown command "${group.name} ${words[1]}"`,
      groupUsage(group));
  }
  const usage = commandUsage(command);
  if (wantsHelp) return { kind: 'help', text: usage };

  const options = optionsOf(command);
  let values: OptionValues;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: parseConfig(options) }));
  } catch (err) {
    const e = err as Error & { code?: string };
    if (e.code?.startsWith('ERR_PARSE_ARGS')) throw usageError(parseArgsMessage(e, command), usage);
    throw err;
  }
  const args = positionals.slice(words.length - rest.length);
  const needed = command.args.filter((a) => !a.optional);
  if (args.length < needed.length) throw usageError(`missing ${needed.slice(args.length).map((a) => a.name).join(' ')}`, usage);
  if (args.length > command.args.length) throw usageError(`unexpected argument "${args[command.args.length]}"`, usage);
  command.args.forEach((a, i) => {
    const c = a.complete;
    if (typeof c === 'object' && args[i] !== undefined && !c.choices.includes(args[i])) {
      throw usageError(`${a.name} is ${listed(c.choices.map((x) => `"${x}"`))}, not "${args[i]}"`, usage);
    }
  });
  for (const o of options) {
    const v = values[o.name];
    if (v === undefined) continue;
    if (o.renamed) throw usageError(`--${o.name} was renamed --${o.renamed}`, usage);
    for (const one of Array.isArray(v) ? v : [v]) if (typeof one === 'string') checkValue(o, one, usage);
  }
  const missing = (command.required ?? []).filter((n) => values[n] === undefined);
  if (missing.length > 0) throw usageError(`sluice ${id(command)} needs ${listed(missing.map((n) => `--${n}`), 'and')}`, usage);
  return { kind: 'command', command, args, values };
}
