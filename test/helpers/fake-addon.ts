// A stand-in for the native addon, for tests of the control plane alone (the
// store, the views, the REST API at scale) that need neither the EAL nor a
// port: setServices keeps the set it is given and hands out generations, stats
// and serviceStats report services and backends with their counters at 0 (or
// what `adjust` makes of them), packed as the addon packs them, and a connection
// listing finds none. `failNext` makes the next setServices throw
// as the addon would.
import { BACKEND_COUNTERS, countsOf, SERVICE_COUNTERS } from '../../src/native/counters';
import type { NativeStats, ServiceStats, SluiceAddon } from '../../src/native/addon';
import type { NativeService, NativeServiceChange } from '../../src/native/types';
import { packServices } from './packed-stats';

export interface FakeAddon extends SluiceAddon {
  /** the set the last successful setServices applied */
  applied: NativeService[];
  setServicesCalls: number;
  generation: number;
  failNext?: Error;
  /** refuses every set for which it gives an error, as the addon refuses a set it cannot run */
  refuse?: (services: readonly NativeService[]) => Error | undefined;
  /** what the last setServices was handed: numbers for services sent by id */
  sent: (NativeServiceChange | number)[];
  /** what each prebuildTables was handed */
  prebuilt: NativeServiceChange[][];
  /** while set, prebuildTables settles only once it does: tables still being built */
  prebuildGate?: Promise<void>;
  /** a service's counters as stats and serviceStats report them, before packing: a test's numbers instead of 0 */
  adjust?: (s: ServiceStats) => ServiceStats;
}

function zeroStatsOf(s: NativeService): ServiceStats {
  return {
    id: s.id,
    name: s.name,
    ...countsOf(undefined, SERVICE_COUNTERS),
    backends: s.backends.map((b) => ({ id: b.id, address: b.address, port: b.port, ...countsOf(undefined, BACKEND_COUNTERS) })),
  };
}

export function fakeAddon(): FakeAddon {
  const statsOf = (s: NativeService) => (fake.adjust ?? ((x: ServiceStats) => x))(zeroStatsOf(s));
  const fake: Partial<FakeAddon> = {
    applied: [],
    sent: [],
    prebuilt: [],
    setServicesCalls: 0,
    generation: 0,
    start(_config, services = []) {
      fake.applied = services;
    },
    stop() {},
    poll() {},
    prebuildTables(services) {
      fake.prebuilt!.push(services);
      return (fake.prebuildGate ?? Promise.resolve()).then(() => services.length);
    },
    setServices(services) {
      fake.setServicesCalls!++;
      if (fake.failNext !== undefined) {
        const err = fake.failNext;
        fake.failNext = undefined;
        throw err;
      }
      fake.sent = services;
      // A number is the running service (or backend) of that id, as the addon takes it.
      const running = new Map(fake.applied!.map((s) => [s.id, s]));
      const invalid = (what: string) => Object.assign(new Error(what), { code: 'SLUICE_INVALID_ARGUMENT' });
      const next = services.map((s): NativeService => {
        if (typeof s !== 'number') {
          if (s.backends.every((b) => typeof b === 'object' && !Array.isArray(b))) return s as NativeService;
          const running_backends = running.get(s.id)?.backends ?? [];
          const was = new Map(running_backends.map((b) => [b.id, b]));
          return { ...s, backends: s.backends.flatMap((b) => {
            if (Array.isArray(b)) {
              const [start, end] = b;
              if (!(start >= 0 && end > start && end <= running_backends.length)) {
                throw invalid(`services: [${start}, ${end}) is a run of no backends of the running service ${s.id}`);
              }
              return running_backends.slice(start, end);
            }
            if (typeof b !== 'number') return [b];
            const kept = was.get(b);
            if (kept === undefined) throw invalid(`services: ${b} is an id of no backend of the running service ${s.id}`);
            return [kept];
          }) };
        }
        const kept = running.get(s);
        if (kept === undefined) throw invalid(`services: ${s} is an id of no running service`);
        return kept;
      });
      const refused = fake.refuse?.(next);
      if (refused !== undefined) throw refused;
      fake.applied = next;
      return { generation: ++fake.generation!, tablesBuilt: 0 };
    },
    serviceStats(name, address, port) {
      const s = fake.applied!.find((x) => x.name === name);
      if (s === undefined) return undefined;
      const stats = statsOf(s);
      return packServices([address === undefined ? stats
        : { ...stats, backends: stats.backends.filter((b) => b.address === address && b.port === port) }]);
    },
    stats(): NativeStats {
      return {
        lcores: [],
        ports: [],
        mempools: [],
        generation: fake.generation!,
        retiredSnapshots: 0,
        services: packServices(fake.applied!.map(statsOf)),
      };
    },
    lcores: () => [],
    // Lcores that remember no connection and answer at once.
    askFlows() {},
    collectFlows: () => ({ flows: [], truncated: false }),
    ports: () => [],
    neighbors: () => [],
    captureLogs() {},
    drainLogs: () => ({ lines: [], dropped: 0 }),
  };
  return fake as FakeAddon;
}
