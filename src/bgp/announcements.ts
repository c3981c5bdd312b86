// Which VIPs the node announces over BGP, and why each is or is not: a pure
// function of the services, their backends' health and the worker lcores'
// liveness (docs/bgp.md, "What is announced").
//
// announce: healthy (the default): a VIP is announced while (a) no worker lcore
// is stuck (its loop counter stood still past STUCK_AFTER_MS) and (b) at least
// one service on that VIP has a backend that takes new flows: state active,
// weight > 0, health up or unchecked (a backend waiting for its first probe,
// `unknown`, takes none). Several services on one VIP: announced while any
// qualifies.
// announce: always: every VIP, whatever its backends, but still not while a
// worker lcore is stuck: a node whose data plane forwards nothing would
// black-hole what the routers send it, and no operator asks for that.
// A draining node (POST /api/v1/node/drain, a stop signal) announces nothing,
// in either mode: the operator asked the routers to send it no more.
import type { HealthView } from '../control/health-view';
import type { LivenessView } from '../control/liveness';
import { cachedBackendKey } from '../control/service-keys';
import type { BackendConfig, ServiceConfig } from '../config/schema';
import { normalizeIp } from '../net/addr';

export type AnnounceMode = 'healthy' | 'always';

export interface VipDecision {
  /** the VIP, normalized */
  vip: string;
  family: 4 | 6;
  /** "192.0.2.1/32", "2001:db8::1/128" */
  prefix: string;
  /** the services on this VIP, by name */
  services: string[];
  announce: boolean;
  /** why it is announced or not, for logs and GET /api/v1/bgp */
  reason: string;
}

export interface PolicyInputs {
  services: readonly ServiceConfig[];
  health: HealthView;
  liveness: LivenessView;
  mode: AnnounceMode;
  /** the node drains (src/control/node-drain.ts): every VIP withdrawn */
  nodeDraining?: boolean;
}

/** The reason every VIP of a draining node gives. */
export const NODE_DRAINING_REASON = 'node draining';

/** Why `b` takes no new flows, or undefined when it does. */
function notTakingFlows(svc: ServiceConfig, b: BackendConfig, health: HealthView): string | undefined {
  if (b.state !== 'active') return b.state === 'drain' ? 'drained' : 'disabled';
  if (b.weight === 0) return 'weight 0';
  // Decided every tick: the key is made once per backend object, not parsed again each time.
  const status = health.backend(svc.name, cachedBackendKey(b)).status;
  if (status === 'down') return 'down';
  if (status === 'unknown') return 'awaiting its first probe';
  return undefined;
}

/** "web: 2 of 3 backends take traffic" or "web: none of 2 backends takes traffic (1 down, 1 drained)". */
function serviceVerdict(svc: ServiceConfig, health: HealthView): { ok: boolean; text: string } {
  if (svc.backends.length === 0) return { ok: false, text: `${svc.name}: no backends` };
  const why = new Map<string, number>();
  let ok = 0;
  for (const b of svc.backends) {
    const r = notTakingFlows(svc, b, health);
    if (r === undefined) ok++;
    else why.set(r, (why.get(r) ?? 0) + 1);
  }
  const n = svc.backends.length;
  if (ok > 0) return { ok: true, text: `${svc.name}: ${ok} of ${n} backend${n === 1 ? '' : 's'} take${ok === 1 ? 's' : ''} traffic` };
  const parts = [...why].map(([r, k]) => `${k} ${r}`).join(', ');
  return { ok: false, text: `${svc.name}: none of ${n} backend${n === 1 ? '' : 's'} takes traffic (${parts})` };
}

/** One decision per VIP, in the order the VIPs first appear in `services`. */
export function announcements(inputs: PolicyInputs): VipDecision[] {
  const byVip = new Map<string, ServiceConfig[]>();
  for (const s of inputs.services) {
    const vip = normalizeIp(s.vip) ?? s.vip;
    const list = byVip.get(vip);
    if (list === undefined) byVip.set(vip, [s]);
    else list.push(s);
  }
  const stuck = inputs.liveness.lcores().stuck;
  const stuckWhy = stuck.length === 0 ? undefined
    : `worker lcore${stuck.length === 1 ? '' : 's'} ${stuck.map((l) => l.lcore).join(', ')} stuck (the data plane does not forward)`;
  const out: VipDecision[] = [];
  for (const [vip, services] of byVip) {
    const family = vip.includes(':') ? 6 : 4;
    const base = { vip, family, prefix: `${vip}/${family === 4 ? 32 : 128}`, services: services.map((s) => s.name) } as const;
    if (inputs.nodeDraining === true) {
      out.push({ ...base, announce: false, reason: NODE_DRAINING_REASON });
    } else if (stuckWhy !== undefined) {
      out.push({ ...base, announce: false, reason: stuckWhy });
    } else if (inputs.mode === 'always') {
      out.push({ ...base, announce: true, reason: 'announce: always' });
    } else {
      const verdicts = services.map((s) => serviceVerdict(s, inputs.health));
      const good = verdicts.filter((v) => v.ok);
      out.push(good.length > 0
        ? { ...base, announce: true, reason: good.map((v) => v.text).join('; ') }
        : { ...base, announce: false, reason: verdicts.map((v) => v.text).join('; ') });
    }
  }
  return out;
}
