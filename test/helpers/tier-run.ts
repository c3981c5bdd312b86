// What the tier tests (test/system/tier.test.ts) share beyond testbed-run.ts:
// the keep-alive client (testbed-run's sticky()) through the router, which node carries which
// client port, per-node counters, the backends' health as each node sees it,
// and a stuck worker lcore made from outside the daemon.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { spawnIn } from '../../tools/testbed/netns';
import type { Tier, TierNode } from '../../tools/testbed/tier';
import { TIER_CLIENT_ADDRESS, TIER_VIP } from '../../tools/testbed/tier-topology';
import { sticky, waitFor, type StickyResult } from './testbed-run';

export const TIER_URL = `http://${TIER_VIP}/`;

/** sticky-client.ts's summary; each connection names its localPort. */
export type TierStickyResult = StickyResult;

export interface TierSticky {
  ports: number[];
  stop(): Promise<TierStickyResult>;
}

/** Processes stallThread() started, until they exit. */
const running = new Set<ChildProcess>();

/** Ends what stallThread() started (the sticky clients are testbed-run's: killClients()). */
export function killTierClients(): void {
  for (const c of running) c.kill('SIGKILL');
  running.clear();
}

/** `connections` kept-alive sockets through the router; resolves once each had an answer. */
export async function tierSticky(o: { connections: number; intervalMs?: number; timeoutMs?: number; maxMs?: number }): Promise<TierSticky> {
  const s = await sticky({ url: TIER_URL, connections: o.connections, intervalMs: o.intervalMs ?? 100, timeoutMs: o.timeoutMs ?? 15_000,
    maxMs: o.maxMs ?? 120_000 });
  return { ports: s.ports, stop: s.stop };
}

/** The client ports of the flows `node` remembers from the client (its own connections). */
export async function clientPortsOn(node: TierNode): Promise<Set<number>> {
  const r = await node.api('GET', `/api/v1/flows?client=${TIER_CLIENT_ADDRESS}&limit=10000`);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const rows = (r.json.flows ?? r.json) as { client: string }[];
  return new Set(rows.map((f) => Number(f.client.split(':').at(-1))));
}

/** Frames the node's worker lcores forwarded (to backends), summed. */
export async function forwarded(node: TierNode): Promise<number> {
  const r = await node.api('GET', '/api/v1/stats');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return (r.json.lcores as { forwarded: number }[]).reduce((a, l) => a + l.forwarded, 0);
}

/** Each backend's health as `node` sees it, by address. */
export async function healthOn(node: TierNode): Promise<Record<string, string>> {
  const r = await node.api('GET', '/api/v1/services/web');
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return Object.fromEntries((r.json.backends as { address: string; health: { status: string } }[]).map((b) => [b.address, b.health.status]));
}

/** Until every running node sees each backend of `want` (address → status) so; false after `ms`. */
export function waitHealth(tier: Tier, want: Record<string, string>, ms: number): Promise<boolean> {
  return waitFor(async () => {
    for (const n of tier.nodes.filter((x) => x.running)) {
      const h = await healthOn(n);
      if (Object.entries(want).some(([a, s]) => h[a] !== s)) return false;
    }
    return true;
  }, ms, 100);
}

/** The thread id of worker lcore `lcore` of process `pid` (DPDK 22.11 names it rte-worker-N). */
export function lcoreThread(pid: number, lcore: number): number {
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    if (fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === `rte-worker-${lcore}`) return Number(tid);
  }
  throw new Error(`process ${pid} has no thread rte-worker-${lcore}`);
}

// Stops one thread (not its process: PTRACE_SEIZE + PTRACE_INTERRUPT stop only
// the thread named) for a while, then lets it go. Its loop counter stands
// still meanwhile: to the daemon, a stuck lcore. The tracer ending for any
// reason detaches it.
const STALL_PY = `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
tid, ms = int(sys.argv[1]), int(sys.argv[2])
if libc.ptrace(0x4206, tid, None, None) != 0: sys.exit('PTRACE_SEIZE: ' + os.strerror(ctypes.get_errno()))
if libc.ptrace(0x4207, tid, None, None) != 0: sys.exit('PTRACE_INTERRUPT: ' + os.strerror(ctypes.get_errno()))
os.waitpid(tid, 0x40000000)
print('stopped', flush=True)
time.sleep(ms / 1000)
libc.ptrace(17, tid, None, None)
print('released', flush=True)
`;

/** Stalls thread `tid` for `ms`; resolves once it is stopped, with a promise of its release. */
export async function stallThread(tid: number, ms: number): Promise<{ released: Promise<void> }> {
  const child = spawnIn(undefined, 'python3', ['-c', STALL_PY, String(tid), String(ms)]);
  running.add(child);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const released = new Promise<void>((resolve) => child.on('exit', () => {
    running.delete(child);
    resolve();
  }));
  const ok = await waitFor(() => out.includes('stopped') || child.exitCode !== null, 5000, 10);
  assert.ok(ok && out.includes('stopped'), `could not stop thread ${tid}: ${out}`);
  return { released };
}
