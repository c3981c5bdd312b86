#!/usr/bin/env node
// `sluice run --config FILE`: start the data plane from a config file and run
// until SIGINT/SIGTERM. The REST API and the other subcommands come with the
// control-plane issue.
import { loadConfigFile } from './config';
import { Dataplane } from './dataplane';
import { isSluiceError } from './errors';

const USAGE = 'usage: sluice run --config FILE';

function fail(message: string, code = 1): never {
  process.stderr.write(`sluice: ${message}\n`);
  process.exit(code);
}

function configPath(args: string[]): string {
  const i = args.indexOf('--config');
  const path = i >= 0 ? args[i + 1] : undefined;
  if (path === undefined || path.startsWith('--')) fail(`--config FILE is required\n${USAGE}`, 2);
  return path;
}

function run(args: string[]): void {
  const file = configPath(args);
  let dataplane: Dataplane;
  try {
    const cfg = loadConfigFile(file);
    dataplane = new Dataplane();
    dataplane.start(cfg);
  } catch (err) {
    if (isSluiceError(err) || (err instanceof Error && 'code' in err)) {
      fail(`${file}: ${(err as Error).message} [${String((err as { code: unknown }).code)}]`);
    }
    throw err;
  }
  for (const p of dataplane.ports()) {
    console.log(`port ${p.name}: ${p.driver} ${p.mac}, ${p.rxQueues} rx / ${p.txQueues} tx queues, mtu ${p.mtu}, link ${p.link.up ? 'up' : 'down'}`);
    for (const w of p.warnings) console.log(`port ${p.name}: warning: ${w}`);
  }
  for (const s of dataplane.stats().services) {
    console.log(`service ${s.name}: ${s.backends.length} backends`);
  }
  console.log('running; Ctrl-C stops');

  const onSignal = (signal: NodeJS.Signals) => {
    console.log(`${signal}: stopping`);
    // stop() blocks this thread until the lcores and ports are done, so a JS
    // handler could never see a second signal. Without listeners Node restores
    // the default action: a second SIGINT or SIGTERM ends the process at once.
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    dataplane.stop();
    process.exit(0);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // The addon's lcores are not Node handles: keep the event loop alive ourselves.
  setInterval(() => {}, 1 << 30);
}

function main(argv: string[]): void {
  const [command, ...args] = argv;
  if (command === 'run') return run(args);
  if (command === undefined || command === '--help' || command === '-h') {
    console.log(USAGE);
    return;
  }
  fail(`unknown command "${command}"\n${USAGE}`, 2);
}

main(process.argv.slice(2));
