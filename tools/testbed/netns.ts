// Network namespaces and veth pairs for tests and the demo test bed, which put
// real frames on a kernel interface. Everything is driven through `ip` and
// `sysctl` as root. Every create removes what a crashed earlier run may have left under the same name,
// and every remove is a no-op when there is nothing to remove, so a test calls
// the same teardown at its start and in its `after` hook.
//
// Only names starting with NAME_PREFIX are accepted: a typo must not be able to
// delete the machine's own interfaces or namespaces.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';

export const NAME_PREFIX = 'sluice-';
/** IFNAMSIZ - 1 */
const MAX_IFNAME = 15;
const COMMAND_TIMEOUT_MS = 15000;

export function checkName(kind: string, name: string): void {
  if (!name.startsWith(NAME_PREFIX) || !/^[A-Za-z0-9_.-]+$/.test(name)) {
    throw new Error(`${kind} "${name}" must start with "${NAME_PREFIX}" and hold only A-Z a-z 0-9 _ . -`);
  }
  if (kind === 'interface' && name.length > MAX_IFNAME) {
    throw new Error(`interface "${name}" is longer than ${MAX_IFNAME} characters`);
  }
}

/** argv prefix that runs a command inside `netns`, or nothing for the root namespace. */
function inNetns(netns: string | undefined): string[] {
  return netns === undefined ? [] : ['ip', 'netns', 'exec', netns];
}

export interface ExecOptions {
  timeoutMs?: number;
  input?: string | Buffer;
}

/** Runs a command (in `netns` when given) and returns its stdout; throws with its stderr. */
export function execIn(netns: string | undefined, cmd: string, args: readonly string[], o: ExecOptions = {}): string {
  const argv = [...inNetns(netns), cmd, ...args];
  try {
    return execFileSync(argv[0], argv.slice(1), {
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: o.timeoutMs ?? COMMAND_TIMEOUT_MS,
      input: o.input,
    });
  } catch (err) {
    const e = err as { stderr?: string; status?: number | null; signal?: string | null };
    const why = e.signal ? `killed by ${e.signal}` : `exit ${e.status}`;
    throw new Error(`\`${argv.join(' ')}\` failed (${why}): ${(e.stderr ?? '').trim()}`);
  }
}

/**
 * Starts a long-running command (in `netns` when given). The caller owns it: it
 * must read stdout and stderr (a full pipe stalls the child) and end it.
 */
export function spawnIn(netns: string | undefined, cmd: string, args: readonly string[]): ChildProcess {
  const argv = [...inNetns(netns), cmd, ...args];
  return spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
}

/**
 * spawnIn, resolved once the command prints `ready` on stdout; rejected (and the
 * command killed) if it exits first or takes longer than `timeoutMs`. Its pipes
 * are kept drained afterwards; the caller owns the process.
 */
export async function spawnReady(netns: string | undefined, cmd: string, args: readonly string[], ready: string,
  timeoutMs: number): Promise<ChildProcess> {
  const child = spawnIn(netns, cmd, args);
  let out = '';
  child.stderr!.on('data', (d) => (out += d));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`\`${cmd} ${args.join(' ')}\` in ${netns ?? 'the root namespace'} not ready within ${timeoutMs} ms: ${out}`));
    }, timeoutMs);
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`\`${cmd} ${args.join(' ')}\` in ${netns ?? 'the root namespace'} exited (${code}) before it was ready: ${out}`));
    });
  });
  child.stdout!.resume();
  child.stderr!.resume();
  return child;
}

const ipArgs = (netns: string | undefined, args: string[]) => (netns === undefined ? args : ['-n', netns, ...args]);

/** Runs `ip` (with `-n netns` when given) and returns its stdout. */
export function ip(netns: string | undefined, ...args: string[]): string {
  return execIn(undefined, 'ip', ipArgs(netns, args));
}

export function netnsExists(netns: string): boolean {
  return existsSync(`/run/netns/${netns}`);
}

/** Creates `netns` with loopback up; an existing one is kept as it is. */
export function ensureNetns(netns: string): void {
  checkName('namespace', netns);
  if (!netnsExists(netns)) ip(undefined, 'netns', 'add', netns);
  ip(netns, 'link', 'set', 'lo', 'up');
}

/**
 * Kills what still runs inside `netns` (a sniffer or sender from a run that
 * crashed), then deletes it, which also deletes its interfaces and their veth
 * peers. Nothing happens when it does not exist.
 */
export function removeNetns(netns: string): void {
  checkName('namespace', netns);
  if (!netnsExists(netns)) return;
  const pids = execIn(undefined, 'ip', ['netns', 'pids', netns]).split(/\s+/).filter(Boolean).map(Number);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // It exited between the listing and the kill.
    }
  }
  ip(undefined, 'netns', 'del', netns);
}

export function linkExists(name: string, netns?: string): boolean {
  if (netns !== undefined && !netnsExists(netns)) return false;
  const links = JSON.parse(ip(netns, '-j', 'link', 'show')) as { ifname: string }[];
  return links.some((l) => l.ifname === name);
}

/** Deletes `name` (for a veth, both ends); nothing happens when it does not exist. */
export function removeLink(name: string, netns?: string): void {
  checkName('interface', name);
  if (!linkExists(name, netns)) return;
  try {
    ip(netns, 'link', 'del', 'dev', name);
  } catch (err) {
    // A namespace being dismantled takes its veth peers along, possibly this one.
    if (linkExists(name, netns)) throw err;
  }
}

export function linkMac(name: string, netns?: string): string {
  const [link] = JSON.parse(ip(netns, '-j', 'link', 'show', 'dev', name)) as { address: string }[];
  return link.address;
}

/** Sets /proc/sys/`key` (slash-separated, so interface names may hold dots) inside `netns`. */
export function setSysctl(key: string, value: string | number, netns?: string): void {
  execIn(netns, 'sysctl', ['-q', '-w', `${key}=${value}`]);
}

/**
 * Keeps the kernel quiet on `name`: no IPv6 (router and neighbor solicitations,
 * MLD reports), no IPv4 forwarding of frames that arrive on it.
 */
export function silenceLink(name: string, netns?: string): void {
  // A kernel built without IPv6 has nothing to silence.
  if (existsSync('/proc/sys/net/ipv6')) setSysctl(`net/ipv6/conf/${name}/disable_ipv6`, 1, netns);
  setSysctl(`net/ipv4/conf/${name}/forwarding`, 0, netns);
}

export interface VethPair {
  /** the end that stays in the root namespace */
  name: string;
  /** the other end, moved into `peerNetns` */
  peer: string;
  peerNetns: string;
  /** address/prefix for the peer, like 10.99.0.1/24; none when absent */
  peerAddress?: string;
  /** address/prefix for the root end; none when absent (a DPDK port needs none) */
  address?: string;
}

export interface VethInfo {
  mac: string;
  peerMac: string;
}

/**
 * Builds the pair from nothing: removes leftovers under the same names, creates
 * the namespace and the veth, silences both ends before they come up (so the
 * kernel sends nothing on them), adds the addresses and brings both ends up.
 */
export function createVethPair(v: VethPair): VethInfo {
  checkName('interface', v.name);
  checkName('interface', v.peer);
  removeVethPair(v);
  ensureNetns(v.peerNetns);
  ip(undefined, 'link', 'add', v.name, 'type', 'veth', 'peer', 'name', v.peer, 'netns', v.peerNetns);
  silenceLink(v.name);
  silenceLink(v.peer, v.peerNetns);
  if (v.address !== undefined) ip(undefined, 'addr', 'replace', v.address, 'dev', v.name);
  if (v.peerAddress !== undefined) ip(v.peerNetns, 'addr', 'replace', v.peerAddress, 'dev', v.peer);
  ip(undefined, 'link', 'set', v.name, 'up');
  ip(v.peerNetns, 'link', 'set', v.peer, 'up');
  return { mac: linkMac(v.name), peerMac: linkMac(v.peer, v.peerNetns) };
}

/** Removes the namespace (with what runs in it) and both veth ends; safe to call when none exist. */
export function removeVethPair(v: VethPair): void {
  // Deleting the root end first takes the peer with it at once; a deleted
  // namespace frees its interfaces later, in the background, which could race
  // with the next run creating the same names.
  removeLink(v.name);
  removeNetns(v.peerNetns);
}
