// What the control plane derives from a validated service again and again (its
// backends' normalized keys, where each key sits, the VIP normalized), computed
// once per object and kept as long as the object lives. A validated service is
// never changed in place: every change builds new objects for what it changes
// (src/control/store.ts) and keeps the others, so a change costs work for the
// services it touches, not for every backend of every service. Only for objects
// that validateConfig or validateServices returned: a key is computed once.
import { normalizeIp } from '../net/addr';
import { writtenBackendKey } from './backend-key';
import { flattened } from './flat-text';

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

/**
 * A backend's address normalized (as written when it does not parse), its
 * port and its backendKey: one shape for every backend, whatever optional
 * fields its config object has.
 */
export interface BackendNames {
  readonly address: string;
  readonly port: number;
  readonly key: string;
}

const backendNames = new WeakMap<Backend, BackendNames>();
const serviceKeyCache = new WeakMap<Service, ServiceKeys>();

/** The backend's BackendNames, computed once per backend object. */
export function cachedBackendNames(b: Backend): BackendNames {
  let names = backendNames.get(b);
  if (names === undefined) {
    const address = normalizeIp(b.address) ?? b.address;
    names = { address, port: b.port, key: flattened(writtenBackendKey({ address, port: b.port })) };
    backendNames.set(b, names);
  }
  return names;
}

/** backendKey(b), computed once per backend object. */
export function cachedBackendKey(b: Backend): string {
  return cachedBackendNames(b).key;
}

/** The backend's address normalized (as written when it does not parse), once per backend object, with its key. */
export function cachedBackendAddress(b: Backend): string {
  return cachedBackendNames(b).address;
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
