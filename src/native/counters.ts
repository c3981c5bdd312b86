// The counter lists of native/common/lcore_counters.h, for the rest of src/: the
// addon's types, the totals over lcores, the REST schemas and the Prometheus
// metrics all take their counters from here, so a counter added to the header
// reaches each of them (test/unit/counters-catalogue.test.ts checks it does).
// The lists come from the header through scripts/gen-counters.js
// (counters.generated.ts); the addon compiles the same lists and exports them as
// `counters`, which addon() compares with these when it loads the addon.
import {
  BACKEND_COUNTERS,
  LCORE_COUNTERS,
  LCORE_DERIVED,
  SERVICE_COUNTERS,
  type BackendCounterValues,
  type LcoreCounterValues,
  type ServiceCounterValues,
} from './counters.generated';

export { BACKEND_COUNTERS, LCORE_COUNTERS, LCORE_DERIVED, SERVICE_COUNTERS };
export type { BackendCounterValues, LcoreCounterValues, ServiceCounterValues };

type LcoreListed = (typeof LCORE_COUNTERS)[number];

/**
 * A number the addon reports per lcore: a counter of SLUICE_LCORE_COUNTERS
 * (internal ones and the drops array aside) or a value of SLUICE_LCORE_DERIVED.
 */
export type LcoreValue = Exclude<LcoreListed, { kind: 'internal' | 'drops' }> | (typeof LCORE_DERIVED)[number];
export type LcoreGroup = LcoreValue['group'];
export type ServiceCounter = (typeof SERVICE_COUNTERS)[number];
export type BackendCounter = (typeof BACKEND_COUNTERS)[number];

/** Every number per lcore, in the header's order, derived values last. */
export const LCORE_VALUES: readonly LcoreValue[] = [
  ...LCORE_COUNTERS.filter((e): e is Extract<LcoreListed, LcoreValue> => e.kind !== 'internal' && e.kind !== 'drops'),
  ...LCORE_DERIVED,
];

/** The drops array: an object keyed by drop reason in the addon, a reason label in Prometheus. */
export const LCORE_DROPS = LCORE_COUNTERS.find((e): e is Extract<LcoreListed, { kind: 'drops' }> =>
  e.kind === 'drops')!;

/** The flows and nat groups sit in objects of those names; top, icmp and loop in the lcore object itself. */
export function lcoreValue(l: LcoreCounterValues, e: LcoreValue): number {
  const where: object = e.group === 'flows' ? l.flows : e.group === 'nat' ? l.nat : l;
  return (where as Record<string, number>)[e.name];
}

/** The lcore values of these groups that GET /api/v1/stats shows (api: stats). */
export function statsValues<G extends LcoreGroup>(...groups: G[]): readonly StatsValue<G>[] {
  return LCORE_VALUES.filter((e): e is StatsValue<G> => e.api === 'stats' && (groups as LcoreGroup[]).includes(e.group));
}
type StatsValue<G extends LcoreGroup> = Extract<LcoreValue, { group: G; api: 'stats' }>;

/**
 * The numbers these entries name, taken out of `from` (each name must be a
 * number of it), or 0 for each when there is no `from`.
 */
export function countsOf<K extends string, T extends Record<K, number>>(from: T | undefined,
  entries: readonly { readonly name: K }[]): Record<K, number> {
  // A loop, not Object.fromEntries: views call this once per backend, thousands of times a request.
  const out = {} as Record<K, number>;
  for (const e of entries) out[e.name] = from === undefined ? 0 : from[e.name];
  return out;
}

/** The Prometheus type of a kind; gauge_i64 is a gauge too. */
export const promType = (kind: string): 'counter' | 'gauge' =>
  (kind === 'counter' || kind === 'drops' ? 'counter' : 'gauge');

/** Entries with a Prometheus metric (metric '' has none). */
export function withMetric<E extends { readonly metric: string }>(entries: readonly E[]):
  readonly Exclude<E, { metric: '' }>[] {
  return entries.filter((e): e is Exclude<E, { metric: '' }> => e.metric !== '');
}

/** The lists as the addon exports them (its `counters`), to compare with these. */
export const CATALOGUE = {
  lcore: LCORE_COUNTERS,
  lcoreDerived: LCORE_DERIVED,
  service: SERVICE_COUNTERS,
  backend: BACKEND_COUNTERS,
} as const;

export type CounterCatalogue = Record<keyof typeof CATALOGUE, readonly Readonly<Record<string, string>>[]>;

/** An entry as one string, its columns in a fixed order. */
const entryText = (e: Readonly<Record<string, string>>) =>
  JSON.stringify(Object.entries(e).sort(([a], [b]) => a.localeCompare(b)));

/**
 * Where the addon's catalogue and ours differ (the addon was built from another
 * lcore_counters.h, or counters.generated.ts is stale), one line each; [] when
 * they agree, order included.
 */
export function catalogueDifferences(native: CounterCatalogue | undefined): string[] {
  if (native === undefined) return ['the addon exports no counter catalogue'];
  const out: string[] = [];
  for (const list of Object.keys(CATALOGUE) as (keyof typeof CATALOGUE)[]) {
    const ours = CATALOGUE[list].map(entryText);
    const theirs = (native[list] ?? []).map(entryText);
    for (const e of theirs) if (!ours.includes(e)) out.push(`${list}: the addon has ${e}`);
    for (const e of ours) if (!theirs.includes(e)) out.push(`${list}: the addon lacks ${e}`);
    if (ours.length === theirs.length && ours.join() !== theirs.join() && ours.every((e) => theirs.includes(e))) {
      out.push(`${list}: the addon lists them in another order`);
    }
  }
  return out;
}

// Compile-time: the generated interfaces hold exactly the listed names.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Names<G extends LcoreGroup> = Extract<LcoreValue, { group: G }>['name'];
const typesMatchLists: [
  Same<Exclude<keyof LcoreCounterValues, 'flows' | 'nat' | 'drops'>, Names<'top' | 'icmp' | 'loop'>>,
  Same<keyof LcoreCounterValues['flows'], Names<'flows'>>,
  Same<keyof LcoreCounterValues['nat'], Names<'nat'>>,
  Same<keyof ServiceCounterValues, ServiceCounter['name']>,
  Same<keyof BackendCounterValues, BackendCounter['name']>,
] = [true, true, true, true, true];
void typesMatchLists;
