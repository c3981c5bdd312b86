// The services' and backends' counters as the rest of src/ reads them
// (ServiceStats, BackendStats), made from the arrays the addon packs them in
// (PackedServiceStats). The property names and their order come from the counter
// lists, as the addon's own objects once did: addon() has checked the addon
// packs the same lists in the same order.
import type { BackendStats, PackedServiceStats, ServiceStats } from './addon';
import { SluiceError } from '../errors';
import { BACKEND_COUNTERS, SERVICE_COUNTERS } from './counters';

const SERVICE_NAMES: readonly string[] = SERVICE_COUNTERS.map((e) => e.name);
const BACKEND_NAMES: readonly string[] = BACKEND_COUNTERS.map((e) => e.name);

// Every field in its place from the start, inside the object: a copy of one of
// these has one shape and no separate store for fields, where counters added one
// by one gave every object one. Made by JSON.parse: an object literal with the
// counters spread into it keeps them in a separate store, and so would each copy.
const SERVICE_SHAPE = shapeOf({ id: 0, name: '', ...zeros(SERVICE_NAMES), backends: null });
const BACKEND_SHAPE = shapeOf({ id: 0, address: '', port: 0, ...zeros(BACKEND_NAMES) });

function zeros(names: readonly string[]): Record<string, number> {
  return Object.fromEntries(names.map((n) => [n, 0]));
}

function shapeOf(fields: Record<string, unknown>): Readonly<Record<string, unknown>> {
  return JSON.parse(JSON.stringify(fields)) as Record<string, unknown>;
}

/** Every packed service with its backends, in the addon's order. */
export function unpackServices(p: PackedServiceStats): ServiceStats[] {
  const addresses = p.backendIds.length === 0 ? [] : p.addresses.split(',');
  checkShape(p, addresses);
  const out: ServiceStats[] = [];
  let b = 0;
  for (let i = 0; i < p.ids.length; i++) {
    const s = { ...SERVICE_SHAPE };
    s.id = p.ids[i];
    s.name = p.names[i];
    putCounters(s, SERVICE_NAMES, p.counters, i);
    const backends: BackendStats[] = [];
    for (const end = b + p.backendCounts[i]; b < end; b++) {
      const o = { ...BACKEND_SHAPE };
      o.id = p.backendIds[b];
      o.address = addresses[b];
      o.port = p.ports[b];
      putCounters(o, BACKEND_NAMES, p.backendCounters, b);
      backends.push(o as unknown as BackendStats);
    }
    s.backends = backends;
    out.push(s as unknown as ServiceStats);
  }
  return out;
}

/** The one service serviceStats() packed, undefined when it found none. */
export function unpackService(p: PackedServiceStats | undefined): ServiceStats | undefined {
  return p === undefined ? undefined : unpackServices(p)[0];
}

/** Entry `at`'s numbers of `from`, one per name, onto `o` in the names' order. */
function putCounters(o: Record<string, unknown>, names: readonly string[], from: Float64Array, at: number): void {
  const first = at * names.length;
  for (let k = 0; k < names.length; k++) o[names[k]] = from[first + k];
}

/**
 * Arrays that disagree in length would leave counters undefined or give a
 * backend its neighbour's numbers, with nothing to show it.
 */
function checkShape(p: PackedServiceStats, addresses: readonly string[]): void {
  const services = p.ids.length;
  const backends = p.backendIds.length;
  let counted = 0;
  for (let i = 0; i < p.backendCounts.length; i++) counted += p.backendCounts[i];
  if (p.names.length !== services || p.backendCounts.length !== services
    || p.counters.length !== services * SERVICE_NAMES.length || counted !== backends
    || addresses.length !== backends || p.ports.length !== backends
    || p.backendCounters.length !== backends * BACKEND_NAMES.length) {
    throw new SluiceError('SLUICE_INTERNAL', `the addon packed ${services} services and ${backends} backends in arrays that disagree: `
      + `${p.names.length} names, ${p.backendCounts.length} backend counts adding up to ${counted}, `
      + `${p.counters.length} service counters, ${addresses.length} addresses, ${p.ports.length} ports, `
      + `${p.backendCounters.length} backend counters`);
  }
}
