// The rules of a service's quicLb and its backends' serverId (docs/quic-lb.md)
// that the schema cannot say: the lengths the draft allows for each algorithm,
// a key for the ciphers, and server IDs of the configured length, unique
// within the service.
import type { AddProblem } from './semantics-ipv6';
import type { ServiceConfig } from './schema';

/** QUIC v1's 20-octet connection ID less its first octet (draft-ietf-quic-load-balancers-21, 5.3). */
export const QUIC_LB_MAX_PLAINTEXT = 19;
/** single-pass encrypts server ID and nonce as one AES block. */
export const QUIC_LB_SINGLE_PASS_LENGTH = 16;

const HEX = /^[0-9a-f]+$/i;

/** A server ID as the data plane takes it: lower-case hex, or undefined when it is not hex of whole octets. */
export function normalizeServerId(text: string): string | undefined {
  return text.length % 2 === 0 && HEX.test(text) ? text.toLowerCase() : undefined;
}

export function checkQuicLb(add: AddProblem, svc: ServiceConfig, path: string): void {
  const q = svc.quicLb;
  if (q === undefined) {
    svc.backends.forEach((b, i) => {
      if (b.serverId !== undefined) add(`${path}.backends[${i}].serverId`, 'applies only to a service with quicLb');
    });
    return;
  }
  const at = `${path}.quicLb`;
  if (svc.protocol !== 'udp') add(at, `QUIC runs over UDP; this service is ${svc.protocol}`);
  const length = q.serverIdLength + q.nonceLength;
  if (length > QUIC_LB_MAX_PLAINTEXT) {
    add(at, `serverIdLength + nonceLength is ${length}; a connection ID holds at most ${QUIC_LB_MAX_PLAINTEXT} after its first octet`);
  } else if (q.algorithm === 'single-pass' && length !== QUIC_LB_SINGLE_PASS_LENGTH) {
    add(`${at}.algorithm`, `single-pass needs serverIdLength + nonceLength = 16 (one AES block); here ${length}: use four-pass`);
  } else if (q.algorithm === 'four-pass' && length === QUIC_LB_SINGLE_PASS_LENGTH) {
    add(`${at}.algorithm`, 'serverIdLength + nonceLength is 16: use single-pass (the draft makes the length choose)');
  }
  if (q.algorithm === 'plaintext') {
    if (q.key !== undefined) add(`${at}.key`, 'plaintext uses no key; remove it or choose single-pass or four-pass');
  } else if (q.key === undefined) {
    add(`${at}.key`, `${q.algorithm} needs a key: 32 hex digits (AES-128)`);
  } else if (q.key.length !== 32 || !HEX.test(q.key)) {
    add(`${at}.key`, 'must be 32 hex digits (an AES-128 key of 16 octets)');
  }
  const seen = new Map<string, number>();
  svc.backends.forEach((b, i) => {
    if (b.serverId === undefined) return;
    const where = `${path}.backends[${i}].serverId`;
    const id = normalizeServerId(b.serverId);
    if (id === undefined || id.length !== 2 * q.serverIdLength) {
      add(where, `"${b.serverId}" must be ${q.serverIdLength} octets in hex (${2 * q.serverIdLength} digits)`);
      return;
    }
    const first = seen.get(id);
    if (first !== undefined) add(where, `server ID ${id} is also backends[${first}]'s; each must name one backend`);
    else seen.set(id, i);
  });
}
