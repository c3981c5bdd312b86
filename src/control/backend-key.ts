// A backend's name in URLs, logs and metrics: "address:port", IPv6 in brackets.
import { SluiceError } from '../errors';
import { normalizeIp } from '../net/addr';

export function backendKey(b: { address: string; port: number }): string {
  return writtenBackendKey({ address: normalizeIp(b.address) ?? b.address, port: b.port });
}

/**
 * backendKey of an address already normalized, taken as written: what the
 * addon's counters give (it writes addresses normalized), keyed without a parse.
 */
export function writtenBackendKey(b: { address: string; port: number }): string {
  return b.address.includes(':') ? `[${b.address}]:${b.port}` : `${b.address}:${b.port}`;
}

/** Parses "10.0.0.1:80" or "[2001:db8::1]:80"; throws SLUICE_BAD_REQUEST naming the input. */
export function parseBackendKey(key: string): { address: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(key) ?? /^([^:[\]]+):(\d{1,5})$/.exec(key);
  const address = m ? normalizeIp(m[1]) : undefined;
  const port = m ? Number(m[2]) : NaN;
  if (address === undefined || !(port >= 1 && port <= 65535)) {
    throw new SluiceError('SLUICE_BAD_REQUEST', `backend "${key}" is not address:port (IPv6 in brackets)`);
  }
  return { address, port };
}
