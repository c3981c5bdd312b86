// The node's BGP speaker as `sluice run` uses it: one supervised gobgpd
// (gobgpd-process.ts), configured from the config's `bgp` section on every
// (re)start, and the announced paths kept equal to the policy's set
// (announcements.ts): re-evaluated on every store change, every drain and
// undrain of the node, and on a periodic tick (health transitions, stuck
// lcores), adding and withdrawing only the difference. Peers are polled every
// second, their state changes logged. On stop, every path is withdrawn before
// gobgpd stops.
import type { EventEmitter } from 'node:events';
import type { BgpConfig, PortConfig, ServiceConfig } from '../config/schema';
import { defaultNextHops } from '../config/semantics-bgp';
import type { HealthView } from '../control/health-view';
import type { LivenessView } from '../control/liveness';
import type { NodeDrainView } from '../control/node-drain';
import type { Logger } from '../logger';
import { normalizeIp } from '../net/addr';
import { announcements, type VipDecision } from './announcements';
import type { GobgpClient, PathSpec } from './gobgp-client';
import { GobgpdProcess, type GobgpdProcessOptions } from './gobgpd-process';
import type { BgpPeerView, BgpStatus, BgpView } from './view';

/** How often the policy is evaluated besides store changes: a stuck lcore (1 s) is withdrawn within about 1.2 s more. */
export const BGP_TICK_MS = 250;
export const BGP_PEER_POLL_MS = 1000;
/** How long stop() waits for the peers to have nothing advertised before it stops gobgpd. */
const WITHDRAW_WAIT_MS = 1000;

export interface BgpSpeakerSources {
  services(): readonly ServiceConfig[];
  /** emits 'change' when the services change (the ServiceStore) */
  changes?: Pick<EventEmitter, 'on' | 'off'>;
  health: HealthView;
  liveness: LivenessView;
  /** the node's drain state; its 'change' is evaluated at once, not at the next tick */
  node?: NodeDrainView;
}

export interface BgpSpeakerOptions {
  tickMs?: number;
  peerPollMs?: number;
  /** passed to GobgpdProcess (binary, timeouts, apiPort) */
  process?: Omit<GobgpdProcessOptions, 'logger' | 'onStart'>;
}

const errText = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class BgpSpeaker implements BgpView {
  private readonly log: Logger;
  private readonly proc: GobgpdProcess;
  private readonly nextHops: { v4?: string; v6?: string };
  /** what gobgpd has announced, by VIP, with the spec it was given (a withdrawal needs the same) */
  private readonly announced = new Map<string, PathSpec>();
  /** the client whose gobgpd is configured; undefined between a death and the end of its successor's onStart */
  private configured: GobgpClient | undefined;
  private decisions: VipDecision[] = [];
  private failures = new Map<string, string>();
  private peers = new Map<string, BgpPeerView>();
  private queue: Promise<void> = Promise.resolve();
  private syncing = false;
  private dirty = false;
  private stopped = false;
  private tick: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;

  constructor(private readonly cfg: BgpConfig, ports: readonly PortConfig[], private readonly sources: BgpSpeakerSources,
              logger: Logger, private readonly options: BgpSpeakerOptions = {}) {
    this.log = logger.bindings().component === 'bgp' ? logger : logger.child({ component: 'bgp' });
    const defaults = defaultNextHops(ports);
    this.nextHops = { v4: cfg.nextHop ?? defaults.v4, v6: cfg.nextHop6 ?? defaults.v6 };
    this.proc = new GobgpdProcess({ ...options.process, logger: this.log, onStart: (c) => this.configure(c) });
  }

  /** gobgpd's pid while it runs. */
  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** Starts gobgpd (checking its version), configures it, announces what the policy says, and follows changes. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.proc.start();
    this.sources.changes?.on('change', this.onChange);
    this.sources.node?.on('change', this.onChange);
    this.tick = setInterval(this.onChange, this.options.tickMs ?? BGP_TICK_MS);
    this.tick.unref();
    this.poll = setInterval(() => void this.pollPeers(), this.options.peerPollMs ?? BGP_PEER_POLL_MS);
    this.poll.unref();
    this.log.info({ asn: this.cfg.asn, routerId: this.cfg.routerId, neighbors: this.cfg.neighbors.length, announce: this.cfg.announce },
      'BGP speaker started');
  }

  /** Withdraws every VIP, waits (at most a second) for the peers to be told, then stops gobgpd. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.tick);
    clearInterval(this.poll);
    this.sources.changes?.off('change', this.onChange);
    this.sources.node?.off('change', this.onChange);
    await this.serial(async () => {
      const client = this.configured;
      if (client === undefined) return;
      for (const [vip, spec] of this.announced) {
        try {
          await client.deletePath(spec);
          this.announced.delete(vip);
          this.log.info({ vip, reason: 'shutting down' }, 'VIP withdrawn');
        } catch (err) {
          this.log.warn({ vip, err: errText(err) }, 'VIP could not be withdrawn before gobgpd stops');
        }
      }
      // The UPDATEs go out asynchronously: wait until no established peer counts anything advertised.
      const t0 = Date.now();
      let told = false;
      while (!told && Date.now() - t0 < WITHDRAW_WAIT_MS) {
        const peers = await client.listPeers().catch(() => []);
        told = peers.every((p) => p.state !== 'established' || p.advertised === 0);
        if (!told) await new Promise((r) => setTimeout(r, 20));
      }
      this.log.info({ ms: Date.now() - t0, told }, told ? 'peers have no path of this node' : 'peers may still have paths of this node');
    });
    this.configured = undefined;
    await this.proc.stop();
    this.log.info('BGP speaker stopped');
  }

  /**
   * Resolves once the evaluations asked for so far have been applied (or
   * failed, to be tried at the next tick): a drain answers once its
   * withdrawals are out.
   */
  settled(): Promise<void> {
    return this.serial(async () => undefined);
  }

  status(): BgpStatus {
    const running = this.configured !== undefined && this.proc.pid !== undefined;
    const announced = running ? this.announced : new Map<string, PathSpec>();
    return {
      enabled: true,
      asn: this.cfg.asn,
      routerId: this.cfg.routerId,
      speaker: running ? 'running' : 'down',
      peers: this.cfg.neighbors.map((n) => this.peers.get(normalizeIp(n.address) ?? n.address)
        ?? { address: n.address, asn: n.asn, state: 'unknown', received: 0, advertised: 0 }),
      vips: this.decisions.map((d) => {
        const failed = this.failures.get(d.vip);
        const isAnnounced = announced.has(d.vip);
        let reason = d.reason;
        if (failed !== undefined) reason = `${d.announce ? 'to announce' : 'to withdraw'} (${d.reason}), but gobgpd: ${failed}`;
        else if (d.announce && !isAnnounced) reason = `to announce once gobgpd runs (${d.reason})`;
        return { vip: d.vip, prefix: d.prefix, announced: isAnnounced, reason };
      }),
    };
  }

  private readonly onChange = (): void => {
    if (this.stopped) return;
    if (this.syncing) {
      this.dirty = true;
      return;
    }
    this.syncing = true;
    void this.serial(async () => {
      do {
        this.dirty = false;
        await this.sync();
      } while (this.dirty && !this.stopped);
    }).finally(() => {
      this.syncing = false;
    });
  };

  /** Runs `fn` after everything queued before it; never rejects the queue. */
  private serial(fn: () => Promise<void>): Promise<void> {
    const next = this.queue.then(fn);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** onStart of every gobgpd: a new one knows nothing, so global, neighbors and paths are given again. */
  private configure(client: GobgpClient): Promise<void> {
    return this.serial(async () => {
      this.configured = undefined;
      this.announced.clear();
      await client.startBgp({ asn: this.cfg.asn, routerId: this.cfg.routerId, listenPort: this.cfg.listenPort });
      for (const n of this.cfg.neighbors) {
        await client.addPeer({ address: n.address, asn: n.asn, holdTimeSec: n.holdTimeSec, passive: n.passive, password: n.password, remotePort: n.port });
      }
      this.configured = client;
      await this.sync();
    });
  }

  private spec(d: VipDecision): PathSpec | undefined {
    const nextHop = d.family === 4 ? this.nextHops.v4 : this.nextHops.v6;
    if (nextHop === undefined) return undefined;
    return { address: d.vip, nextHop, communities: this.cfg.communities, med: this.cfg.med };
  }

  /** The policy's set against what gobgpd announces: the difference added and withdrawn. */
  private async sync(): Promise<void> {
    const decisions = announcements({
      services: this.sources.services(), health: this.sources.health, liveness: this.sources.liveness, mode: this.cfg.announce,
      nodeDraining: this.sources.node?.draining() ?? false,
    });
    const byVip = new Map(decisions.map((d) => [d.vip, d]));
    // A VIP no service has any more stays listed until it is withdrawn.
    for (const vip of this.announced.keys()) {
      if (!byVip.has(vip)) {
        const family = vip.includes(':') ? 6 : 4;
        const gone: VipDecision = { vip, family, prefix: `${vip}/${family === 4 ? 32 : 128}`, services: [], announce: false, reason: 'no service has this VIP' };
        decisions.push(gone);
        byVip.set(vip, gone);
      }
    }
    this.decisions = decisions.filter((d) => d.services.length > 0 || this.announced.has(d.vip));
    const client = this.configured;
    if (client === undefined || this.stopped) return;
    for (const d of decisions) {
      const have = this.announced.get(d.vip);
      let want = d.announce ? this.spec(d) : undefined;
      if (d.announce && want === undefined) {
        this.failures.set(d.vip, `no IPv${d.family} next hop (bgp.nextHop${d.family === 6 ? '6' : ''})`);
        continue;
      }
      if (have !== undefined && want !== undefined && have.nextHop === want.nextHop) want = have;
      if (have === want) {
        this.failures.delete(d.vip);
        continue;
      }
      try {
        if (have !== undefined) {
          await client.deletePath(have);
          this.announced.delete(d.vip);
          if (want === undefined) this.log.info({ vip: d.vip, prefix: d.prefix, reason: d.reason }, 'VIP withdrawn');
        }
        if (want !== undefined) {
          await client.addPath(want);
          this.announced.set(d.vip, want);
          this.log.info({ vip: d.vip, prefix: d.prefix, nextHop: want.nextHop, reason: d.reason }, 'VIP announced');
        }
        this.failures.delete(d.vip);
      } catch (err) {
        // Tried again at the next tick.
        if (this.failures.get(d.vip) !== errText(err)) {
          this.log.warn({ vip: d.vip, err: errText(err) }, `VIP could not be ${want === undefined ? 'withdrawn' : 'announced'}`);
        }
        this.failures.set(d.vip, errText(err));
        if (client !== this.configured) return;
      }
    }
    this.decisions = decisions.filter((d) => d.services.length > 0 || this.announced.has(d.vip));
  }

  private async pollPeers(): Promise<void> {
    const client = this.configured;
    if (client === undefined || this.stopped) return;
    let list;
    try {
      list = await client.listPeers();
    } catch {
      return; // gobgpd is gone or slow: the supervisor sees to it; the last known states stay
    }
    const next = new Map<string, BgpPeerView>();
    for (const p of list) {
      const before = this.peers.get(normalizeIp(p.address) ?? p.address);
      if (before?.state !== p.state) {
        this.log.info({ peer: p.address, asn: p.asn, from: before?.state ?? 'unknown', to: p.state }, `BGP peer ${p.state}`);
      }
      next.set(normalizeIp(p.address) ?? p.address, { address: p.address, asn: p.asn, state: p.state, uptimeSec: p.uptimeSec, received: p.received, advertised: p.advertised });
    }
    this.peers = next;
  }
}
