// One logger for the process: JSON lines, or readable lines when a person is
// watching a terminal.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level = process.env.SLUICE_LOG_LEVEL ?? 'info'): Logger {
  if (process.stdout.isTTY) {
    return pino({ level, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino({ level });
}
