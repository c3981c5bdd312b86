// What the control plane derives from a validated service again and again (its
// backends' normalized keys, where each key sits, the VIP normalized), computed
// once per object and kept as long as the object lives. A validated service is
// never changed in place: every change builds new objects for what it changes
// (src/control/store.ts) and keeps the others, so a change costs work for the
// services it touches, not for every backend of every service. Only for objects
// that validateConfig or validateServices returned: a key is computed once.
import { normalizeIp } from '../net/addr';
import { backendKey } from './backend-key';

type Backend = { readonly address: string; readonly port: number };
type Service = { readonly vip: string; readonly backends: readonly Backend[] };

export interface ServiceKeys {
  /** backendKey of each backend, in order */
  readonly keys: readonly string[];
  /** backendKey -> index in backends */
  readonly index: ReadonlyMap<string, number>;
  /** the VIP normalized (as written when it does not parse) */
  readonly vip: string;
}

const backendKeys = new WeakMap<Backend, string>();
const serviceKeyCache = new WeakMap<Service, ServiceKeys>();

/** backendKey(b), computed once per backend object. */
export function cachedBackendKey(b: Backend): string {
  let key = backendKeys.get(b);
  if (key === undefined) backendKeys.set(b, (key = backendKey(b)));
  return key;
}

export function serviceKeys(svc: Service): ServiceKeys {
  let k = serviceKeyCache.get(svc);
  if (k === undefined) {
    const keys = svc.backends.map(cachedBackendKey);
    k = { keys, index: new Map(keys.map((key, i) => [key, i])), vip: normalizeIp(svc.vip) ?? svc.vip };
    serviceKeyCache.set(svc, k);
  }
  return k;
}

/**
 * Gives `next` the keys of `prev`: for a service made from `prev` by changing
 * backends without changing any address, port or place, or the VIP.
 */
export function sameKeysAs(next: Service, prev: Service): void {
  serviceKeyCache.set(next, serviceKeys(prev));
}
