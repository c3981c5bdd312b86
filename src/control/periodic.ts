// A look taken now and then on a timer that never keeps the process alive: what
// the daemon's samplers (rates, lcore liveness, drained backends) share.
export abstract class PeriodicSampler {
  private timer: NodeJS.Timeout | undefined;

  constructor(protected readonly intervalMs: number) {}

  /** The first look now, then one every intervalMs; idempotent. */
  start(): void {
    if (this.timer !== undefined) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  abstract sample(): void;
}
