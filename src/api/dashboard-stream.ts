// One sampler for every open dashboard: while at least one stream is open it
// builds a snapshot once a second, serialises it once and writes the same
// bytes to every stream, so ten tabs read the data plane as often as one.
// With no stream open it stops: a daemon nobody watches builds nothing.
import { SluiceError } from '../errors';

export const DASHBOARD_INTERVAL_MS = 1000;
export const DASHBOARD_MAX_STREAMS = 32;

export type Frame = (data: string) => void;

export class SnapshotHub {
  private readonly streams = new Set<Frame>();
  private timer: NodeJS.Timeout | undefined;
  /** the last frame sent, given at once to a stream that opens between two builds */
  private lastFrame: string | undefined;

  constructor(private readonly build: () => unknown, private readonly onError: (err: unknown) => void,
              private readonly intervalMs = DASHBOARD_INTERVAL_MS, readonly maxStreams = DASHBOARD_MAX_STREAMS) {}

  get size(): number {
    return this.streams.size;
  }

  /** Adds a stream and returns its removal; refuses one beyond maxStreams. */
  open(send: Frame): () => void {
    if (this.streams.size >= this.maxStreams) {
      throw new SluiceError('SLUICE_RESOURCE_EXHAUSTED',
        `${this.maxStreams} dashboard streams are open, the most there may be; close a dashboard tab and try again`);
    }
    this.streams.add(send);
    if (this.timer === undefined) {
      this.tick();
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    } else if (this.lastFrame !== undefined) {
      send(this.lastFrame);
    }
    return () => this.close(send);
  }

  /** Ends every stream's sampling, as at shutdown. */
  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.lastFrame = undefined;
    this.streams.clear();
  }

  private close(send: Frame): void {
    this.streams.delete(send);
    if (this.streams.size === 0) this.stop();
  }

  private tick(): void {
    let frame: string;
    try {
      frame = `data: ${JSON.stringify(this.build())}\n\n`;
    } catch (err) {
      // A failed build skips one update; a comment keeps the streams from
      // going idle (api.idleTimeoutMs) until the next.
      this.onError(err);
      for (const send of this.streams) send(': snapshot failed; the server log has the details\n\n');
      return;
    }
    this.lastFrame = frame;
    for (const send of this.streams) send(frame);
  }
}
