// `sluice run` as a process: start the daemon, stop it on SIGINT/SIGTERM,
// reload its config file on SIGHUP, exit. Shared by the CLI and the `npm start`
// demo (which tears its test bed down after the stop).
import { startDaemon, type Daemon } from '../daemon';
import { createLogger, type Logger } from '../logger';
import { CliError } from './api-client';

export interface RunOptions {
  log?: Logger;
  /** runs after the daemon stopped on a signal, before the process exits */
  afterStop?: () => void;
}

/**
 * A stop signal this soon after the first is the same request again (GNU
 * `timeout` signals the child and then its process group), not an operator
 * insisting: it is ignored and the orderly stop goes on. One after it ends the
 * process at once.
 */
export const DUPLICATE_SIGNAL_MS = 1000;

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export async function runDaemon(config: string, o: RunOptions = {}): Promise<Daemon> {
  const log = o.log ?? createLogger();
  // Listening from the start: a signal that comes while the daemon starts is
  // acted on once it has started (an orderly stop), instead of the default
  // action killing the process half-way.
  let daemon: Daemon | undefined;
  let early: NodeJS.Signals | undefined;
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (daemon === undefined) {
      early ??= signal;
      return;
    }
    stop(daemon, signal);
  };
  // SIGHUP's default action would end the process without a stop, leaving its
  // runtime directory: it reloads the config file instead, and a failed reload
  // is logged, never fatal.
  const onHangup = () => {
    if (daemon === undefined || stopping) {
      log.warn({ signal: 'SIGHUP' }, `reload ignored: the daemon is ${stopping ? 'stopping' : 'starting'}`);
      return;
    }
    log.info({ signal: 'SIGHUP', config }, 'reloading the config file');
    daemon.reload().catch((err: unknown) => {
      const e = err as { code?: unknown; message?: string; details?: unknown };
      log.error({ signal: 'SIGHUP', config, code: e.code, details: e.details },
        `reload refused; nothing changed: ${e.message ?? String(err)}`);
    });
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  process.on('SIGHUP', onHangup);
  try {
    daemon = await startDaemon(config, log);
  } catch (err) {
    for (const s of STOP_SIGNALS) process.removeListener(s, onSignal);
    process.removeListener('SIGHUP', onHangup);
    const code = (err as { code?: unknown }).code;
    log.flush?.();
    // Read errors name their own file (the config's or the state file's); the
    // rest are about the config file's fields and settings.
    const where = code === 'SLUICE_CONFIG_READ' || code === 'SLUICE_STATE_READ' ? '' : `${config}: `;
    throw new CliError(`${where}${(err as Error).message}${code ? ` [${String(code)}]` : ''}`, 1);
  }
  function stop(running: Daemon, signal: NodeJS.Signals): void {
    stopping = true;
    log.info({ signal }, 'stopping');
    for (const s of STOP_SIGNALS) process.removeListener(s, onSignal);
    // For DUPLICATE_SIGNAL_MS a stop signal is the same request again and is
    // ignored. Then the listeners go: Node restores the default action, and a
    // second SIGINT or SIGTERM ends the process at once. The data plane's stop
    // blocks this thread (no JS handler could run during it), so it waits for
    // the window to close: a signal during it always finds the default action.
    const duplicate = (again: NodeJS.Signals) => log.info({ signal: again }, 'stopping already: a repeated signal within 1 s is ignored');
    for (const s of STOP_SIGNALS) process.on(s, duplicate);
    // The drain first (config drain.onStopSec). A stop signal after the window
    // and during its wait is the operator insisting: the wait ends and the
    // stop goes on at once; one more after that finds the default action.
    const cut = new AbortController();
    let waiting = true;
    const cutShort = (again: NodeJS.Signals) => {
      for (const s of STOP_SIGNALS) process.removeListener(s, cutShort);
      log.info({ signal: again }, 'stopping now: a second stop signal ends the drain\'s wait');
      cut.abort();
    };
    const windowClosed = new Promise<void>((resolve) => setTimeout(() => {
      for (const s of STOP_SIGNALS) process.removeListener(s, duplicate);
      if (waiting) for (const s of STOP_SIGNALS) process.on(s, cutShort);
      resolve();
    }, DUPLICATE_SIGNAL_MS));
    const stopStarted = Date.now();
    running.drainForStop(cut.signal).then(() => {
      waiting = false;
      // Before the data plane's stop blocks the thread: a signal then must find the default action.
      for (const s of STOP_SIGNALS) process.removeListener(s, cutShort);
      return running.stop(() => windowClosed);
    }).then(
      () => {
        o.afterStop?.();
        // The operator's proof that the stop was orderly: ports closed, the EAL cleaned up.
        log.info({ ms: Date.now() - stopStarted }, 'stopped');
        log.flush?.();
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
