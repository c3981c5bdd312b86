// api.listen: where the REST API listens, and whether that is only this host.
import { configError } from '../errors';
import { parseIp } from '../net/addr';

/** "127.0.0.1:9090" or "[::1]:9090"; throws SLUICE_CONFIG_INVALID at api.listen otherwise. */
export function parseListen(listen: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(listen) ?? /^([^:]+):(\d+)$/.exec(listen);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw configError('api.listen', `"${listen}" is not host:port`);
  return { host: m[1], port };
}

/**
 * True when only this host can connect: 127.0.0.0/8, ::1 (or ::ffff:127.x),
 * or "localhost". Any other name, and 0.0.0.0 or ::, may be reachable from
 * elsewhere.
 */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  const ip = parseIp(host);
  if (ip === undefined) return false;
  if (ip.family === 4) return ip.bytes[0] === 127;
  const b = ip.bytes;
  const zeros = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  if (zeros(0, 15) && b[15] === 1) return true;
  return zeros(0, 10) && b[10] === 0xff && b[11] === 0xff && b[12] === 127;
}
