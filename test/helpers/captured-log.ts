// A pino logger that keeps what it writes, for tests of what the code logs:
// each line as written (`raw`) and parsed (`lines`).
import { Writable } from 'node:stream';
import pino from 'pino';

export type LogLine = { level: number; msg: string; [k: string]: unknown };

export function captureLog(level = 'debug'): { logger: pino.Logger; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) {
        if (l.trim() === '') continue;
        raw.push(l);
        lines.push(JSON.parse(l) as LogLine);
      }
      done();
    },
  });
  return { logger: pino({ level }, sink), lines, raw };
}
