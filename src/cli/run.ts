// `sluice run` as a process: start the daemon, stop it on SIGINT/SIGTERM, exit.
// Shared by the CLI and the `npm start` demo (which tears its test bed down
// after the stop).
import { startDaemon, type Daemon } from '../daemon';
import { createLogger, type Logger } from '../logger';
import { CliError } from './api-client';

export interface RunOptions {
  log?: Logger;
  /** runs after the daemon stopped on a signal, before the process exits */
  afterStop?: () => void;
}

export async function runDaemon(config: string, o: RunOptions = {}): Promise<Daemon> {
  const log = o.log ?? createLogger();
  // Listening from the start: a signal that comes while the daemon starts is
  // acted on once it has started (an orderly stop), instead of the default
  // action killing the process half-way.
  let daemon: Daemon | undefined;
  let early: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (daemon === undefined) {
      early ??= signal;
      return;
    }
    stop(daemon, signal);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    daemon = await startDaemon(config, log);
  } catch (err) {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    const code = (err as { code?: unknown }).code;
    log.flush?.();
    // Read errors name their own file (the config's or the state file's); the
    // rest are about the config file's fields and settings.
    const where = code === 'SLUICE_CONFIG_READ' || code === 'SLUICE_STATE_READ' ? '' : `${config}: `;
    throw new CliError(`${where}${(err as Error).message}${code ? ` [${String(code)}]` : ''}`, 1);
  }
  function stop(running: Daemon, signal: NodeJS.Signals): void {
    log.info({ signal }, 'stopping');
    // The data plane's stop blocks this thread, so a JS handler could never see
    // a second signal. Without listeners Node restores the default action: a
    // second SIGINT or SIGTERM ends the process at once.
    process.removeAllListeners('SIGINT');
    process.removeAllListeners('SIGTERM');
    running.stop().then(
      () => {
        o.afterStop?.();
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, 'stop failed');
        o.afterStop?.();
        process.exit(1);
      },
    );
  }
  if (early !== undefined) stop(daemon, early);
  return daemon;
}
