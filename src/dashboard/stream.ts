// The live snapshots: GET /api/v1/dashboard/stream read with fetch() and a
// streaming body, since EventSource cannot send the Authorization header.
// Parses server-sent events' data lines; reconnects after a drop.
import type { Snapshot } from './snapshot';
import { ApiError, errorOf, headers } from './api';

export interface StreamHandlers {
  snapshot(s: Snapshot): void;
  connected(): void;
  /** the stream could not open or dropped; `retryMs` is when it tries again, absent when it will not */
  failed(err: Error, retryMs?: number): void;
}

const RETRY_MS = 2000;

export class SnapshotStream {
  private abort: AbortController | undefined;
  private retry: number | undefined;

  constructor(private readonly on: StreamHandlers) {}

  start(): void {
    this.stop();
    const abort = new AbortController();
    this.abort = abort;
    void this.run(abort.signal);
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
    clearTimeout(this.retry);
  }

  private async run(signal: AbortSignal): Promise<void> {
    try {
      const res = await fetch('/api/v1/dashboard/stream', { headers: headers({ accept: 'text/event-stream' }), signal, cache: 'no-store' });
      if (!res.ok || res.body === null) throw await errorOf(res);
      this.on.connected();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const event = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
          if (data !== '') this.on.snapshot(JSON.parse(data) as Snapshot);
        }
      }
      throw new Error('the daemon closed the stream');
    } catch (err) {
      if (signal.aborted) return;
      const e = err instanceof Error ? err : new Error(String(err));
      // A refused token will be refused again: wait for a new one instead of retrying.
      if (e instanceof ApiError && e.status === 401) {
        this.on.failed(e);
        return;
      }
      this.on.failed(e, RETRY_MS);
      this.retry = window.setTimeout(() => { if (!signal.aborted) void this.run(signal); }, RETRY_MS);
    }
  }
}
