// The TCP sockets a process listens on, from /proc (Linux): how the supervisor
// knows that the API answering on its port is its own gobgpd's, not another
// program's that took the port first (gobgpd only logs a failed API listen and
// keeps running).
import fs from 'node:fs';

export interface Listener {
  address: string;
  port: number;
}

const LISTEN = '0A';

/** "0100007F:C351" (IPv4, host-order words) or 32 hex digits (IPv6) -> address and port. */
export function decodeProcAddress(field: string): Listener {
  const [hex, portHex] = field.split(':');
  const port = parseInt(portHex, 16);
  const words = hex.match(/.{8}/g) ?? [];
  // Each 32-bit word is in the kernel's (little-endian) byte order.
  const bytes = words.flatMap((w) => [6, 4, 2, 0].map((i) => parseInt(w.slice(i, i + 2), 16)));
  if (bytes.length === 4) return { address: bytes.join('.'), port };
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  // WHATWG URL parsing gives IPv6 its canonical (RFC 5952) text.
  return { address: new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1), port };
}

function listenersByInode(): Map<string, Listener> {
  const byInode = new Map<string, Listener>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== LISTEN) continue;
      byInode.set(f[9], decodeProcAddress(f[1]));
    }
  }
  return byInode;
}

/** The TCP addresses `pid` listens on (empty if it is gone or unreadable). */
export function tcpListenersOf(pid: number): Listener[] {
  let fds: string[];
  try {
    fds = fs.readdirSync(`/proc/${pid}/fd`);
  } catch {
    return [];
  }
  const byInode = listenersByInode();
  const out: Listener[] = [];
  for (const fd of fds) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    const l = m ? byInode.get(m[1]) : undefined;
    if (l) out.push(l);
  }
  return out;
}
